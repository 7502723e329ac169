// Seed "Security & Access Control" at the API layer, and the health/readiness probes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testConfig, testDatabase, type TestDatabase } from './support/harness';
import { createPool } from '../db/pool';
import { freePort } from '../scripts/ports';
import { buildApp, type App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let app: App;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal });
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

describe('API keys', () => {
  it('answers 401 without a key or with a wrong one, naming the problem', async () => {
    const none = await app.inject({ method: 'GET', url: '/api/workflows/x' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json()).toMatchObject({ error: 'Unauthorized', message: expect.stringContaining('missing API key') });

    const { authorization } = await bearer(db.pool, ['read']);
    const tampered = authorization.slice(0, -4) + (authorization.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const wrong = await app.inject({ method: 'GET', url: '/api/workflows/x', headers: { authorization: tampered } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().message).toContain('invalid');
  });

  it('stores only a hash and a visible prefix, and stops accepting a revoked key', async () => {
    const headers = await bearer(db.pool, ['read'], 100, 'to-revoke');
    const key = headers.authorization.replace('Bearer ', '');
    const { rows: [row] } = await db.pool.query(`select prefix, secret_hash from auth.api_keys where name = 'to-revoke'`);
    expect(key.startsWith(`bo_${row.prefix}_`)).toBe(true);
    const secret = key.slice(`bo_${row.prefix}_`.length);
    expect(row.secret_hash).not.toContain(secret);
    expect(Buffer.from(secret, 'base64url').length * 8).toBeGreaterThanOrEqual(128);

    await db.pool.query(`update auth.api_keys set revoked_at = now() where name = 'to-revoke'`);
    const fresh = await testApp({ pool: db.pool, temporal }); // no cached lookup
    const res = await fresh.inject({ method: 'GET', url: '/api/workflows/x', headers });
    expect(res.statusCode).toBe(401);
    await fresh.close();
  });

  it('answers 403 when the key lacks the route scope', async () => {
    const reader = await bearer(db.pool, ['read']);
    const res = await app.inject({ method: 'POST', url: '/api/promote', headers: reader, payload: {} });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toContain('"write" scope');
  });

  it('limits each key to its requests per minute with 429 and Retry-After in seconds', async () => {
    const limited = await bearer(db.pool, ['read'], 5);
    const other = await bearer(db.pool, ['read'], 5);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await app.inject({ method: 'GET', url: '/api/workflows/none', headers: limited })).statusCode);
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429]);

    const res = await app.inject({ method: 'GET', url: '/api/workflows/none', headers: limited });
    expect(res.statusCode).toBe(429);
    const retryAfter = Number(res.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60).toBe(true);
    expect(res.json()).toMatchObject({ error: 'Too Many Requests', requestId: expect.any(String) });
    // another key is unaffected
    expect((await app.inject({ method: 'GET', url: '/api/workflows/none', headers: other })).statusCode).toBe(404);
  });

  it('keeps /health and /ready open', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { postgres: { ok: true }, migrations: { ok: true }, temporal: { ok: true } },
    });
  });
});

describe('/ready', () => {
  it('answers 503 naming Postgres when it is unreachable (why: in the server log only)', async () => {
    const deadPool = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/nothing`, { connectionTimeoutMillis: 1000 });
    const logged: string[] = [];
    const broken = await buildApp({ pool: deadPool, temporal, config: testConfig(), logger: { level: 'warn', stream: { write: (line: string) => void logged.push(line) } } });
    await broken.ready();
    const res = await broken.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    // The public answer carried the error text (host, port) before; now only which check failed.
    expect(res.json()).toEqual({
      status: 'not_ready',
      checks: { postgres: { ok: false }, migrations: { ok: false }, temporal: { ok: true } },
    });
    const line = logged.find((l) => l.includes('not ready'));
    expect(JSON.parse(line ?? '{}').checks.postgres.error).toMatch(/ECONNREFUSED|connect/);
    await broken.close();
    await deadPool.end();
  });

  it('answers 503 naming the migrations when the schema is behind', async () => {
    await db.pool.query(`delete from public.schema_migrations where name = '0001_intake_vault.sql'`);
    try {
      expect((await app.inject({ method: 'GET', url: '/ready' })).json().checks.migrations).toEqual({ ok: false });
      const res = await app.inject({ method: 'GET', url: '/ready', headers: await bearer(db.pool, ['admin']) }); // an admin sees why
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.migrations).toEqual({ ok: false, error: 'pending migrations: 0001_intake_vault.sql' });
    } finally {
      await db.pool.query(`insert into public.schema_migrations (name) values ('0001_intake_vault.sql')`);
    }
  });

  it('serves the OpenAPI document at /docs without a key', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/ingest', '/api/ingest/{batchId}', '/api/promote', '/api/workflows/{id}']));
    expect(doc.paths['/api/ingest'].post.requestBody.content['application/json'].schema.properties.rows).toBeDefined();
  });
});
