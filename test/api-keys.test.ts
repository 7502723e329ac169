// Issue 10, API keys: the admin routes (list, create, revoke, rotate) and expiry; a revoked,
// rotated-away or expired key answers 401 from its next request on; the per-key rate limit holds
// across two API processes on one database.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, waitUntil, type TestDatabase } from './support/harness';
import { createPool, type Pool } from '../db/pool';
import type { App } from '../api/app';

const root = fileURLToPath(new URL('..', import.meta.url));

let db: TestDatabase;
let temporal: Client;
let app: App;
let admin: { authorization: string };

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal });
  admin = await bearer(db.pool, ['admin'], 100_000, 'keys-admin');
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const call = async (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: object, on: App = app) => {
  const res = await on.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
};
const asKey = (key: string) => ({ authorization: `Bearer ${key}` });
const works = async (key: string) => (await call('GET', '/api/suppressions', asKey(key))).status;

describe('admin routes', () => {
  it('create shows the key once; list shows prefix, name, scopes, created, last used and expiry, never a secret', async () => {
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const created = await call('POST', '/api/keys', admin, { name: 'reporting', scopes: ['read'], expires_at: expires });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'reporting', scopes: ['read'], rate_limit_per_minute: 100, last_used_at: null, revoked_at: null, key: expect.stringMatching(/^bo_[0-9a-f]{12}_/) });
    expect(new Date(created.body.expires_at).toISOString()).toBe(expires);
    expect(await works(created.body.key)).toBe(200);

    const list = await call('GET', '/api/keys', admin);
    expect(list.status).toBe(200);
    const listed = list.body.keys.find((k: { prefix: string }) => k.prefix === created.body.prefix);
    expect(listed).toMatchObject({ name: 'reporting', scopes: ['read'], expires_at: created.body.expires_at, created_at: expect.any(String) });
    expect(JSON.stringify(list.body)).not.toMatch(/secret|hash|bo_[0-9a-f]{12}_/);
    // stamped after the request above (a write that request did not wait for)
    await waitUntil(async () => (await call('GET', '/api/keys', admin)).body.keys.find((k: { prefix: string }) => k.prefix === created.body.prefix).last_used_at, 10_000, 'last_used_at');
  });

  it('pages through keys with a cursor, and lists only working keys with active=true', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await bearer(db.pool, ['read'], 100, name);
    const prefixes: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `/api/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`, admin);
      expect(res.body.keys.length).toBeLessThanOrEqual(2);
      prefixes.push(...res.body.keys.map((k: { prefix: string }) => k.prefix));
      cursor = res.body.next_cursor;
    } while (cursor);
    const { rows } = await db.pool.query('select prefix from auth.api_keys order by key_id');
    expect(prefixes).toEqual(rows.map((r) => r.prefix));

    const gone = await bearer(db.pool, ['read'], 100, 'gone');
    const prefix = gone.authorization.split('_')[1];
    await call('POST', `/api/keys/${prefix}/revoke`, admin);
    const active = await call('GET', '/api/keys?active=true&limit=1000', admin);
    expect(active.body.keys.map((k: { prefix: string }) => k.prefix)).not.toContain(prefix);
    expect(active.body.keys.every((k: { revoked_at: string | null }) => k.revoked_at === null)).toBe(true);
  });

  it('revoke stops the key at its next request; a second revoke is 409, an unknown prefix 404', async () => {
    const created = await call('POST', '/api/keys', admin, { name: 'leaked', scopes: ['read', 'write'] });
    expect(await works(created.body.key)).toBe(200);
    const revoked = await call('POST', `/api/keys/${created.body.prefix}/revoke`, admin);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expect(await works(created.body.key)).toBe(401);
    expect((await call('POST', `/api/keys/${created.body.prefix}/revoke`, admin)).status).toBe(409);
    expect((await call('POST', '/api/keys/000000000000/revoke', admin)).status).toBe(404);
  });

  it('rotate gives a new key with the same name, scopes and limit; the old one stops at once', async () => {
    const created = await call('POST', '/api/keys', admin, { name: 'worker-key', scopes: ['read', 'write'], rate_limit_per_minute: 250 });
    const rotated = await call('POST', `/api/keys/${created.body.prefix}/rotate`, admin);
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ name: 'worker-key', scopes: ['read', 'write'], rate_limit_per_minute: 250, rotated_from: created.body.key_id });
    expect(rotated.body.prefix).not.toBe(created.body.prefix);
    expect(await works(created.body.key)).toBe(401);
    expect(await works(rotated.body.key)).toBe(200);
    expect((await call('POST', `/api/keys/${created.body.prefix}/rotate`, admin)).status).toBe(409); // the old one is revoked
  });

  it('are for admin keys only, and refuse bad input naming the field', async () => {
    const writer = await bearer(db.pool, ['read', 'write']);
    expect((await call('GET', '/api/keys', writer)).status).toBe(403);
    expect((await call('POST', '/api/keys', writer, { name: 'x', scopes: ['admin'] })).status).toBe(403);
    const past = await call('POST', '/api/keys', admin, { name: 'x', scopes: ['read'], expires_at: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.details.issues[0].field).toBe('expires_at');
    const scope = await call('POST', '/api/keys', admin, { name: 'x', scopes: ['root'] });
    expect(scope.status).toBe(400);
    expect(scope.body.details.issues[0].field).toMatch(/^scopes/);
    expect((await call('POST', '/api/keys/not-a-prefix/rotate', admin)).status).toBe(400);
    const { rows } = await db.pool.query(`select count(*)::int as n from auth.api_keys where name = 'x'`);
    expect(rows[0].n).toBe(0);
  });
});

describe('expiry', () => {
  it('an expired key answers 401 (and cannot be rotated)', async () => {
    const created = await call('POST', '/api/keys', admin, { name: 'short-lived', scopes: ['read'], expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(await works(created.body.key)).toBe(200);
    // an hour later, as far as the database can tell
    await db.pool.query(`update auth.api_keys set expires_at = now() - interval '1 second' where prefix = $1`, [created.body.prefix]);
    const refused = await call('GET', '/api/suppressions', asKey(created.body.key));
    expect(refused.status).toBe(401);
    expect(refused.body.message).toContain('expired');
    expect((await call('POST', `/api/keys/${created.body.prefix}/rotate`, admin)).status).toBe(409);
  });

  it('npm run apikey:create -- --expires-in 90d sets the expiry; a bad value is refused', async () => {
    const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/apikey-create.ts', ...args], {
      cwd: root, env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8', timeout: 60_000,
    });
    const ok = run(['--name', 'expiring-cli', '--scopes', 'read', '--expires-in', '90d']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/expires \d{4}-\d\d-\d\dT/);
    const { rows: [k] } = await db.pool.query(`select extract(epoch from expires_at - created_at)::float8 as seconds from auth.api_keys where name = 'expiring-cli'`);
    expect(Math.abs(k.seconds - 90 * 86_400)).toBeLessThan(60); // from when the script started
    const key = ok.stdout.trim().split('\n').pop()!;
    expect(await works(key)).toBe(200);
    const { rows: [audit] } = await db.pool.query(`select actor, after from intake.audit_log where action = 'api_key_created' and entity_id = $1`, [key.slice(3, 15)]);
    expect(audit).toMatchObject({ actor: 'apikey:create', after: { name: 'expiring-cli', expires_at: expect.any(String) } });
    const bad = run(['--name', 'never-made', '--expires-in', 'soon']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--expires-in');
  });
});

describe('workspaces', () => {
  const createKey = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/apikey-create.ts', ...args], {
    cwd: root, env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8', timeout: 60_000,
  });
  const prefixes = async (headers: Record<string, string>) =>
    ((await call('GET', '/api/keys', headers)).body.keys as { prefix: string }[]).map((k) => k.prefix);

  it('apikey:create --workspace makes the workspace once, audited, and puts the key in it', async () => {
    const first = createKey(['--name', 'acme-admin', '--scopes', 'admin', '--workspace', 'acme']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('in workspace acme');
    const second = createKey(['--name', 'acme-reader', '--scopes', 'read', '--workspace', 'acme']);
    expect(second.status, second.stderr).toBe(0);
    const { rows: workspaces } = await db.pool.query(`select workspace_id from auth.workspaces where slug = 'acme'`);
    expect(workspaces).toHaveLength(1);
    const { rows: audits } = await db.pool.query(
      `select actor, after from intake.audit_log where action = 'workspace_created' and entity_id = $1`, [String(workspaces[0].workspace_id)]);
    expect(audits).toEqual([{ actor: 'apikey:create', after: expect.objectContaining({ slug: 'acme' }) }]);
    const { rows: keys } = await db.pool.query(`select name from auth.api_keys where workspace_id = $1 order by name`, [workspaces[0].workspace_id]);
    expect(keys.map((k) => k.name)).toEqual(['acme-admin', 'acme-reader']);
    const bad = createKey(['--name', 'never-made', '--workspace', 'Acme Corp']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--workspace');
  });

  it("an admin lists, makes, revokes and rotates its own workspace's keys only; another's prefix is not found", async () => {
    const made = createKey(['--name', 'globex-admin', '--scopes', 'admin', '--workspace', 'globex']);
    expect(made.status, made.stderr).toBe(0);
    const globex = asKey(made.stdout.trim().split('\n').pop()!);
    const theirs = await call('POST', '/api/keys', globex, { name: 'globex-ci', scopes: ['read'] });
    expect(theirs.status).toBe(201);
    expect(theirs.body.workspace).toBe('globex');
    const ours = await call('POST', '/api/keys', admin, { name: 'default-ci', scopes: ['read'] });
    expect(ours.body.workspace).toBe('default');

    expect(await prefixes(globex)).toContain(theirs.body.prefix);
    expect(await prefixes(globex)).not.toContain(ours.body.prefix);
    expect(await prefixes(admin)).toContain(ours.body.prefix);
    expect(await prefixes(admin)).not.toContain(theirs.body.prefix);

    // the default workspace's admin cannot touch globex's key: 404, and the key keeps working
    expect((await call('POST', `/api/keys/${theirs.body.prefix}/revoke`, admin)).status).toBe(404);
    expect((await call('POST', `/api/keys/${theirs.body.prefix}/rotate`, admin)).status).toBe(404);
    expect(await works(theirs.body.key)).toBe(200);

    // a rotated key stays in its workspace
    const rotated = await call('POST', `/api/keys/${theirs.body.prefix}/rotate`, globex);
    expect(rotated.status).toBe(201);
    expect(rotated.body.workspace).toBe('globex');
    expect(await prefixes(globex)).toContain(rotated.body.prefix);
    expect(await prefixes(admin)).not.toContain(rotated.body.prefix);
  });
});

describe('the per-key rate limit', () => {
  let other: App;
  let otherPool: Pool;
  beforeAll(async () => {
    // a second API process: its own app and pool, the same database
    otherPool = createPool(db.url);
    other = await testApp({ pool: otherPool, temporal });
  });
  afterAll(async () => {
    await other?.close();
    await otherPool?.end();
  });

  it('a key revoked through one process is refused by the other at its next request', async () => {
    const created = await call('POST', '/api/keys', admin, { name: 'two-processes', scopes: ['read'] });
    expect((await call('GET', '/api/suppressions', asKey(created.body.key), undefined, other)).status).toBe(200);
    expect((await call('POST', `/api/keys/${created.body.prefix}/revoke`, admin)).status).toBe(200);
    expect((await call('GET', '/api/suppressions', asKey(created.body.key), undefined, other)).status).toBe(401);
  });

  it('holds across two API processes: 5 a minute is 5 in all, then 429 with Retry-After from either', async () => {
    const headers = await bearer(db.pool, ['read'], 5, 'limited-shared');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call('GET', '/api/suppressions', headers, undefined, i % 2 ? other : app)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    for (const on of [app, other]) {
      const limited = await call('GET', '/api/suppressions', headers, undefined, on);
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter > 0 && retryAfter <= 60).toBe(true);
    }
    // another key is counted on its own
    expect((await call('GET', '/api/suppressions', await bearer(db.pool, ['read'], 5, 'limited-other'), undefined, other)).status).toBe(200);
  });

  // Keys are served from memory once in use for 2 s (db/api-keys.ts createApiKeyCache); a
  // change reaches every process through a Postgres notification (issue 10: within a second).
  const cachedOnBoth = async (name: string) => {
    const created = await call('POST', '/api/keys', admin, { name, scopes: ['read'] });
    for (const on of [app, other]) expect(await call('GET', '/api/suppressions', asKey(created.body.key), undefined, on).then((r) => r.status)).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100));
    const reads = vi.spyOn(otherPool, 'query');
    for (const on of [app, other]) expect(await call('GET', '/api/suppressions', asKey(created.body.key), undefined, on).then((r) => r.status)).toBe(200);
    expect(reads.mock.calls.filter(([sql]) => String(sql).includes('from auth.api_keys'))).toHaveLength(0); // from memory
    reads.mockRestore();
    return created.body as { key: string; prefix: string };
  };
  const refusedWithin = async (key: string, on: App, ms: number) => {
    const started = Date.now();
    while ((await call('GET', '/api/suppressions', asKey(key), undefined, on)).status !== 401) {
      if (Date.now() - started > ms) throw new Error(`key still accepted after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return Date.now() - started;
  };

  it('a cached key revoked through one process is refused by the other within a second', async () => {
    const { key, prefix } = await cachedOnBoth('cached-two-processes');
    expect((await call('POST', `/api/keys/${prefix}/revoke`, admin)).status).toBe(200);
    expect(await refusedWithin(key, other, 1_000)).toBeLessThan(1_000);
    expect((await call('GET', '/api/suppressions', asKey(key))).status).toBe(401);
  });

  it('a cached key revoked or expired in SQL by a third party (a script) is refused by both within a second', async () => {
    const revoked = await cachedOnBoth('cached-sql-revoke');
    const expired = await cachedOnBoth('cached-sql-expiry');
    await db.pool.query('select auth.f_revoke_api_key($1)', [revoked.prefix]);
    await db.pool.query(`update auth.api_keys set expires_at = now() - interval '1 second' where prefix = $1`, [expired.prefix]);
    for (const on of [app, other]) {
      expect(await refusedWithin(revoked.key, on, 1_000)).toBeLessThan(1_000);
      expect(await refusedWithin(expired.key, on, 1_000)).toBeLessThan(1_000);
    }
  });

  it('a process whose listening connection breaks forgets its cached keys: a revocation meanwhile still holds', async () => {
    const { key, prefix } = await cachedOnBoth('cached-reconnect');
    // every listener's backend killed: notifications sent before they listen again are lost
    await db.pool.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = 'listen api_key_changed'`);
    await db.pool.query(`update auth.api_keys set revoked_at = now() where prefix = $1`, [prefix]);
    for (const on of [app, other]) expect(await refusedWithin(key, on, 1_000)).toBeLessThan(1_000);
    // and they listen again (after 100 ms): a key cached afterwards is dropped by its notification
    await new Promise((r) => setTimeout(r, 500));
    const again = await cachedOnBoth('cached-after-reconnect');
    await db.pool.query('select auth.f_revoke_api_key($1)', [again.prefix]);
    for (const on of [app, other]) expect(await refusedWithin(again.key, on, 1_000)).toBeLessThan(1_000);
  });
});
