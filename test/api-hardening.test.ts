// Issue 13 item 6: revocation at the next request, 401s limited per address, /ready without
// error text, CORS only for configured origins, open routes open in the OpenAPI document, and
// consent states that a PATCH cannot undo.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, type TestDatabase } from './support/harness';
import { revokeApiKey } from '../db/api-keys';
import type { App } from '../api/app';

const root = fileURLToPath(new URL('..', import.meta.url));

let db: TestDatabase;
let temporal: Client;
let app: App;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal, config: { CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' } });
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const prefixOf = (headers: { authorization: string }) => headers.authorization.split('_')[1];

describe('key revocation', () => {
  it('holds from the very next request of the same process', async () => {
    const headers = await bearer(db.pool, ['read'], 100, 'revoked-live');
    const get = () => app.inject({ method: 'GET', url: '/api/suppressions', headers });
    expect((await get()).statusCode).toBe(200);
    expect(await revokeApiKey(db.pool, prefixOf(headers))).toBe('revoked-live');
    const res = await get();
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toContain('revoked');
    expect(await revokeApiKey(db.pool, prefixOf(headers))).toBeNull(); // already revoked
  });

  it('npm run apikey:revoke -- --prefix P revokes a key', async () => {
    const headers = await bearer(db.pool, ['read'], 100, 'revoked-by-script');
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/apikey-revoke.ts', ...args], {
        cwd: root, env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8', timeout: 30_000,
      });
    const ok = run(['--prefix', prefixOf(headers)]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('revoked key "revoked-by-script"');
    expect((await app.inject({ method: 'GET', url: '/api/suppressions', headers })).statusCode).toBe(401);
    expect(run(['--prefix', prefixOf(headers)]).status).toBe(1); // no active key has it now
    expect(run(['--prefix', 'nothex']).status).toBe(2);
  });
});

describe('requests without a valid key', () => {
  it('are limited per client address: the 31st in a minute gets 429 with Retry-After; valid keys still work', async () => {
    const wrong = { authorization: `Bearer bo_${'0'.repeat(12)}_${'A'.repeat(32)}` }; // well-formed, so looked up
    const from = (remoteAddress: string, headers: Record<string, string> = wrong) =>
      app.inject({ method: 'GET', url: '/api/suppressions', headers, remoteAddress });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await from('203.0.113.7', i % 2 ? wrong : {})).statusCode);
    expect(statuses).toEqual(Array(30).fill(401)); // missing and wrong keys alike
    const limited = await from('203.0.113.7');
    expect(limited.statusCode).toBe(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60).toBe(true);
    expect(limited.json()).toMatchObject({ error: 'Too Many Requests', requestId: expect.any(String) });

    // a valid key from the same address keeps its own per-key limit
    expect((await from('203.0.113.7', await bearer(db.pool, ['read']))).statusCode).toBe(200);
    // another address is unaffected
    expect((await from('198.51.100.1')).statusCode).toBe(401);
  });
});

describe('/ready', () => {
  it('shows only ok or not per check to the public and to non-admin keys', async () => {
    await db.pool.query(`delete from public.schema_migrations where name = '0002_master_data.sql'`);
    try {
      for (const headers of [{}, await bearer(db.pool, ['read', 'write'])]) {
        const res = await app.inject({ method: 'GET', url: '/ready', headers });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toEqual({ status: 'not_ready', checks: { postgres: { ok: true }, migrations: { ok: false }, temporal: { ok: true } } });
      }
      const admin = await app.inject({ method: 'GET', url: '/ready', headers: await bearer(db.pool, ['admin']) });
      expect(admin.json().checks.migrations).toEqual({ ok: false, error: 'pending migrations: 0002_master_data.sql' });
    } finally {
      await db.pool.query(`insert into public.schema_migrations (name) values ('0002_master_data.sql')`);
    }
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/api/contacts/1',
      headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, if-match' },
    });

  it('gives other sites no Access-Control-Allow-Origin', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const reader = await bearer(db.pool, ['read']);
    const get = await app.inject({ method: 'GET', url: '/api/suppressions', headers: { ...reader, origin: 'https://evil.example' } });
    expect(get.statusCode).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows the origins in CORS_ORIGINS, with the methods and headers the API uses', async () => {
    for (const origin of ['https://app.example.com', 'http://localhost:5173']) {
      const res = await preflight(origin);
      expect(res.statusCode).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-methods']).toContain('PATCH');
      expect(res.headers['access-control-allow-headers']).toBe('authorization, if-match');
    }
    const reader = await bearer(db.pool, ['read']);
    const get = await app.inject({ method: 'GET', url: '/api/suppressions', headers: { ...reader, origin: 'https://app.example.com' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(get.headers['access-control-expose-headers']).toContain('etag');
  });

  it('allows no other origin by default', async () => {
    const plain = await testApp({ pool: db.pool, temporal });
    try {
      const res = await plain.inject({ method: 'OPTIONS', url: '/api/contacts/1', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe('OpenAPI document', () => {
  it('marks the open routes `security: []` and leaves the others under the API key', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.security).toEqual([{ apiKey: [] }, { session: [] }]);
    const open = [['/health', 'get'], ['/ready', 'get'], ['/t/o/{token}', 'get'], ['/t/c/{token}', 'get'], ['/u/{token}', 'get'], ['/u/{token}', 'post'], ['/api/session', 'post']];
    // the session's own answer and sign-out take only the session
    for (const method of ['get', 'delete']) expect(doc.paths['/api/session'][method].security).toEqual([{ session: [] }]);
    for (const [path, method] of open) expect(doc.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([]);
    // every documented operation that is not open inherits the document's key requirement
    const keyed = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown }>>)
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ at: `${method} ${path}`, security: op.security })))
      .filter((op) => !open.some(([path, method]) => op.at === `${method} ${path}`) && !['get /api/session', 'delete /api/session'].includes(op.at));
    expect(keyed.length).toBeGreaterThan(20);
    expect(keyed.filter((op) => op.security !== undefined)).toEqual([]);
  });
});

describe('PATCH /api/contacts/:id', () => {
  it('does not change the status of a bounced, unsubscribed or do_not_contact contact (409 naming status)', async () => {
    const writer = await bearer(db.pool, ['read', 'write'], 10_000, 'status-editor');
    for (const status of ['bounced', 'unsubscribed', 'do_not_contact']) {
      const { rows: [c] } = await db.pool.query(
        `insert into vault.contacts (email, source, status, title) values ($1, 'manual', $2, 'CTO') returning contact_id, version`,
        [`${status}@hardening.example`, status],
      );
      const patch = (body: Record<string, unknown>) =>
        app.inject({ method: 'PATCH', url: `/api/contacts/${c.contact_id}`, headers: writer, payload: { ...body, version: c.version } });
      for (const to of ['active', ...['bounced', 'unsubscribed', 'do_not_contact'].filter((s) => s !== status)]) {
        const res = await patch({ title: 'CEO', status: to });
        expect(res.statusCode, `${status} → ${to}`).toBe(409);
        expect(res.json()).toMatchObject({ error: 'Conflict', message: expect.stringContaining('status'), details: { field: 'status', status } });
      }
      // nothing was written, and other fields stay editable
      const { rows: [after] } = await db.pool.query(`select status, title, version from vault.contacts where contact_id = $1`, [c.contact_id]);
      expect(after).toEqual({ status, title: 'CTO', version: c.version });
      const ok = await patch({ title: 'CEO', status });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ status, title: 'CEO' });
    }
    const { rows } = await db.pool.query(`select count(*)::int as n from intake.audit_log where action = 'contact_updated' and actor = 'status-editor'`);
    expect(rows[0].n).toBe(3); // the three allowed edits only
  });

  it('still lets an active contact be marked do_not_contact', async () => {
    const writer = await bearer(db.pool, ['read', 'write']);
    const { rows: [c] } = await db.pool.query(`insert into vault.contacts (email, source) values ('active@hardening.example', 'manual') returning contact_id, version`);
    const res = await app.inject({ method: 'PATCH', url: `/api/contacts/${c.contact_id}`, headers: writer, payload: { status: 'do_not_contact', version: c.version } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().status).toBe('do_not_contact');
  });
});
