// Every operation of the OpenAPI document (read from /docs/json, not a hand list) refuses a
// request without a key and one with a wrong key (401), a key without the scope the operation
// documents in x-required-scope (403), and lets a key with that scope through. Authentication runs
// before validation and before the handler, so the refusals need no valid parameters or body and
// touch nothing. (The fourth cell, a key of another workspace on every id route → 404,
// waits for workspaces.)
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, type TestDatabase } from './support/harness';
import type { App } from '../api/app';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** scope: what x-required-scope says (absent on routes open to all or checking credentials themselves, as sign-in). */
type Operation = { method: Method; path: string; url: string; scope: string | undefined; open: boolean };

let db: TestDatabase;
let temporal: Client;
let app: App;
let operations: Operation[];

// a value for each path parameter: the refusals come before validation, the let-through GETs may
// answer 404 or 400 (a well-formed id of nothing), never 401/403
const fill = (path: string) => path.replace(/\{[^}]+\}/g, '1');

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  // every refusal below counts as an auth failure of this address: lift that limit for the test
  app = await testApp({ pool: db.pool, temporal, config: { AUTH_FAILURES_PER_MINUTE: '100000' } });
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
  operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    (['get', 'post', 'put', 'patch', 'delete'] as const).filter((m) => item[m]).map((method) => ({
      method, path, url: fill(path),
      scope: item[method]['x-required-scope'] as string | undefined,
      open: Array.isArray(item[method].security) && item[method].security.length === 0,
    })));
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const call = (op: Operation, headers: Record<string, string> = {}) =>
  app.inject({ method: op.method.toUpperCase() as 'GET', url: op.url, headers });

describe('authentication and scopes on every documented operation', () => {
  it('answers 401 without a key or with a wrong one, 403 without the documented scope, and lets the scope through', async () => {
    const guarded = operations.filter((op) => op.scope !== undefined);
    // every operation is either guarded by the key plugin or documented as open or as checking its own credentials
    for (const op of operations.filter((o) => o.scope === undefined)) {
      expect(op.open || op.path === '/api/session', `${op.method} ${op.path} names no scope`).toBe(true);
    }
    // the document covers the API: every resource family is in it, and each guarded operation names its scope
    expect(guarded.length).toBeGreaterThan(60);
    for (const prefix of ['/api/contacts', '/api/campaigns', '/api/ingest', '/api/keys', '/api/audit', '/api/conversions', '/api/templates']) {
      expect(guarded.some((op) => op.path.startsWith(prefix)), prefix).toBe(true);
    }
    for (const op of guarded) {
      expect(['read', 'write', 'admin'], `${op.method} ${op.path}`).toContain(op.scope);
      expect(op.open, `${op.method} ${op.path} is guarded but documented as open`).toBe(false);
    }
    // PUT, PATCH and DELETE change state, so never take a read key (a POST may only compute, as the
    // template preview does); key administration and the audit log are admin-only
    for (const op of guarded.filter((o) => ['put', 'patch', 'delete'].includes(o.method))) {
      expect(op.scope, `${op.method} ${op.path}`).not.toBe('read');
    }
    for (const op of guarded.filter((o) => o.path.startsWith('/api/keys') || o.path.startsWith('/api/audit'))) {
      expect(op.scope, `${op.method} ${op.path}`).toBe('admin');
    }

    const keys = {
      read: await bearer(db.pool, ['read'], 100_000, 'every-op-read'),
      write: await bearer(db.pool, ['read', 'write'], 100_000, 'every-op-write'),
      admin: await bearer(db.pool, ['admin'], 100_000, 'every-op-admin'),
    };
    const wrong = { authorization: `Bearer bo_${randomBytes(6).toString('hex')}_${randomBytes(24).toString('base64url')}` };
    const weaker: Record<string, (keyof typeof keys)[]> = { read: [], write: ['read'], admin: ['read', 'write'] };
    const failures: string[] = [];
    let cells = 0;
    const check = (op: Operation, label: string, status: number, expected: (s: number) => boolean) => {
      cells++;
      if (!expected(status)) failures.push(`${op.method.toUpperCase()} ${op.path} ${label}: ${status}`);
    };

    for (const op of guarded) {
      check(op, 'no key', (await call(op)).statusCode, (s) => s === 401);
      check(op, 'wrong key', (await call(op, wrong)).statusCode, (s) => s === 401);
      for (const k of weaker[op.scope!]) check(op, `${k} key`, (await call(op, keys[k])).statusCode, (s) => s === 403);
      // a GET with the documented scope gets past authentication (reads only: a write's handler would act)
      if (op.method === 'get' && !op.path.includes('/stream') && !op.path.startsWith('/mcp')) {
        check(op, `${op.scope} key`, (await call(op, keys[op.scope as keyof typeof keys])).statusCode, (s) => s !== 401 && s !== 403);
      }
    }
    // the open operations stay open: no 401 without a key
    for (const op of operations.filter((o) => o.open && o.scope === undefined && o.method === 'get' && !o.path.startsWith('/docs'))) {
      check(op, 'open, no key', (await call(op)).statusCode, (s) => s !== 401 && s !== 403);
    }
    console.log(`auth on every operation: ${guarded.length} guarded and ${operations.length - guarded.length} open operations, ${cells} cells checked`);
    expect(failures).toEqual([]);
  }, 120_000);
});
