// Issue 11, sign-in: an API key exchanged for a session cookie (HttpOnly, SameSite=Strict, Secure
// off localhost), stored hashed, expiring, revoked by signing out or with its key; writes with the
// cookie need X-CSRF-Token; /mcp never takes the cookie; opening and revoking are audited.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { asAppRole, bearer, temporalClient, testConfig, testDatabase, type TestDatabase } from './support/harness';
import { buildApp, type App } from '../api/app';
import { mcpPlugin } from '../mcp/http';

let db: TestDatabase;
let temporal: Client;
let app: App;
let admin: { authorization: string };

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await buildApp({ pool: asAppRole(db.pool), temporal, config: testConfig() });
  await app.register(mcpPlugin); // as api/server.ts mounts it
  await app.ready();
  admin = await bearer(db.pool, ['admin'], 100_000, 'session-admin');
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

type Method = 'GET' | 'POST' | 'DELETE';
const call = async (method: Method, url: string, headers: Record<string, string> = {}, payload?: object) => {
  const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.body ? res.json() : null, headers: res.headers, cookies: res.cookies as { name: string; value: string; [k: string]: unknown }[] };
};
const newKey = async (name: string, scopes: ('read' | 'write' | 'admin')[] = ['read', 'write']) =>
  (await bearer(db.pool, scopes, 100_000, name)).authorization.slice('Bearer '.length);

/** Signs in with a key; the cookie header to send back, the CSRF token and the answer. */
async function signIn(key: string, headers: Record<string, string> = {}) {
  const res = await call('POST', '/api/session', headers, { apiKey: key });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const cookie = res.cookies.find((c) => c.name.endsWith('bo_session'))!;
  return { res, cookie, send: { cookie: `${cookie.name}=${cookie.value}` }, csrf: res.body.csrf_token as string };
}
const sessionRows = async (keyName: string) =>
  (await db.pool.query(`select s.* from auth.sessions s join auth.api_keys k using (key_id) where k.name = $1 order by session_id`, [keyName])).rows;
const suppress = (headers: Record<string, string>, email: string) => call('POST', '/api/suppressions', headers, { emails: [email] });

describe('sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict, Path=/ cookie, not Secure over plain http to localhost, and answers who, scopes and expiry', async () => {
    const key = await newKey('alice');
    const { res, cookie } = await signIn(key, { host: 'localhost:3000' });
    expect(cookie).toMatchObject({ name: 'bo_session', httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie.secure).toBeFalsy();
    expect(cookie.maxAge).toBeGreaterThan(7 * 86_400 - 5); // to the absolute expiry
    expect(cookie.maxAge).toBeLessThanOrEqual(7 * 86_400);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ name: 'alice', scopes: ['read', 'write'], key_prefix: key.slice(3, 15), csrf_token: expect.any(String) });
    const created = new Date(res.body.created_at).getTime();
    expect(new Date(res.body.expires_at).getTime() - created).toBe(7 * 86_400_000);
    expect(new Date(res.body.idle_expires_at).getTime() - created).toBe(12 * 3_600_000);
    expect(JSON.stringify(res.body)).not.toContain(cookie.value);
  });

  it('is Secure (and __Host- prefixed) for any other host', async () => {
    const key = await newKey('bob');
    const { cookie, send } = await signIn(key, { host: 'outreach.example.com' });
    expect(cookie).toMatchObject({ name: '__Host-bo_session', secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
    expect((await call('GET', '/api/session', { ...send, host: 'outreach.example.com' })).body.name).toBe('bob');
  });

  it('stores only the sha256 of the cookie token, never the token itself', async () => {
    const key = await newKey('carol');
    const { cookie } = await signIn(key);
    const rows = await sessionRows('carol');
    expect(rows).toHaveLength(1);
    const stored = rows[0].token_hash as Buffer;
    expect(stored.equals(createHash('sha256').update(cookie.value).digest())).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(cookie.value);
    expect(stored.toString('utf8')).not.toContain(cookie.value);
  });

  it('refuses a wrong, unknown or revoked key with 401 and makes no session', async () => {
    const before = (await db.pool.query('select count(*)::int n from auth.sessions')).rows[0].n;
    const key = await newKey('dave');
    const wrong = `${key.slice(0, -4)}AAAA`;
    for (const apiKey of [wrong, 'bo_000000000000_' + 'x'.repeat(32), 'nonsense']) {
      const res = await call('POST', '/api/session', {}, { apiKey });
      expect(res.status).toBe(401);
      expect(res.cookies).toHaveLength(0);
    }
    expect((await call('POST', '/api/session', {}, {})).status).toBe(400); // the field is named
    expect((await call('POST', '/api/session', {}, {})).body.message).toContain('apiKey');
    expect((await db.pool.query('select count(*)::int n from auth.sessions')).rows[0].n).toBe(before);
  });
});

describe('requests with the session cookie', () => {
  it('reads with the cookie alone; GET /api/session answers the session; without a cookie 401', async () => {
    const key = await newKey('erin', ['read']);
    const { send, csrf } = await signIn(key);
    expect((await call('GET', '/api/suppressions', send)).status).toBe(200);
    const me = await call('GET', '/api/session', send);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'erin', scopes: ['read'], csrf_token: csrf });
    expect((await call('GET', '/api/session')).status).toBe(401);
    expect((await call('GET', '/api/suppressions')).status).toBe(401);
    // the session carries the key's scopes: a read key's session cannot write
    expect((await suppress({ ...send, 'x-csrf-token': csrf }, 'no@scope.example')).status).toBe(403);
  });

  it('refuses a write with the cookie and no or a wrong X-CSRF-Token (403 naming the header, nothing stored); takes it with the token', async () => {
    const key = await newKey('frank');
    const { send, csrf } = await signIn(key);
    const none = await suppress(send, 'csrf-none@example.com');
    expect(none.status).toBe(403);
    expect(none.body.message).toContain('X-CSRF-Token');
    expect(none.body.details.issues[0].field).toBe('x-csrf-token');
    const wrong = await suppress({ ...send, 'x-csrf-token': `${csrf.slice(0, -2)}xx` }, 'csrf-wrong@example.com');
    expect(wrong.status).toBe(403);
    const stored = await db.pool.query(`select email from marketing.suppressions where email like 'csrf-%'`);
    expect(stored.rows).toEqual([]);

    const ok = await suppress({ ...send, 'x-csrf-token': csrf }, 'csrf-ok@example.com');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ added: 1 });
    // Bearer requests need no CSRF token
    expect((await suppress({ authorization: `Bearer ${key}` }, 'bearer@example.com')).status).toBe(200);
    // and one session's token does not pass for another's
    const other = await signIn(key);
    expect((await suppress({ ...send, 'x-csrf-token': other.csrf }, 'csrf-crossed@example.com')).status).toBe(403);
  });

  it('answers 401 once the session is idle too long or past its absolute expiry', async () => {
    const key = await newKey('gina');
    const idle = await signIn(key);
    const absolute = await signIn(key);
    expect((await call('GET', '/api/suppressions', idle.send)).status).toBe(200);
    const [first, second] = await sessionRows('gina');
    await db.pool.query(`update auth.sessions set idle_expires_at = now() - interval '1 second' where session_id = $1`, [first.session_id]);
    await db.pool.query(`update auth.sessions set expires_at = now() - interval '1 second', idle_expires_at = now() - interval '1 second' where session_id = $1`, [second.session_id]);
    expect((await call('GET', '/api/suppressions', idle.send)).status).toBe(401);
    expect((await call('GET', '/api/session', idle.send)).status).toBe(401);
    expect((await call('GET', '/api/suppressions', absolute.send)).status).toBe(401);
  });

  it('never lives past its key: a key expiring in an hour gives a session expiring with it', async () => {
    const created = await call('POST', '/api/keys', admin, { name: 'short-lived', scopes: ['read'], expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    const { res } = await signIn(created.body.key);
    expect(new Date(res.body.expires_at).toISOString()).toBe(new Date(created.body.expires_at).toISOString());
    expect(new Date(res.body.idle_expires_at).getTime()).toBeLessThanOrEqual(new Date(res.body.expires_at).getTime());
  });
});

describe('sign-out and key revocation', () => {
  it('DELETE /api/session needs the CSRF token, revokes the session, clears the cookie; the cookie answers 401 after', async () => {
    const key = await newKey('hal');
    const { send, csrf } = await signIn(key);
    expect((await call('DELETE', '/api/session', send)).status).toBe(403);
    expect((await call('GET', '/api/session', send)).status).toBe(200);
    const out = await call('DELETE', '/api/session', { ...send, 'x-csrf-token': csrf });
    expect(out.status).toBe(204);
    const cleared = out.cookies.find((c) => c.name === 'bo_session')!;
    expect(cleared.value).toBe('');
    expect(new Date(cleared.expires as Date).getTime()).toBeLessThan(Date.now());
    expect((await call('GET', '/api/session', send)).status).toBe(401);
    expect((await call('GET', '/api/suppressions', send)).status).toBe(401);
    expect((await sessionRows('hal'))[0].revoked_at).toBeInstanceOf(Date);
    // signing out again only clears the cookie
    expect((await call('DELETE', '/api/session', send)).status).toBe(204);
  });

  it('revoking the API key revokes its sessions; rotating it too', async () => {
    const key = await newKey('ivy');
    const a = await signIn(key);
    const b = await signIn(key);
    expect((await call('POST', `/api/keys/${key.slice(3, 15)}/revoke`, admin)).status).toBe(200);
    expect((await call('GET', '/api/suppressions', a.send)).status).toBe(401);
    expect((await call('GET', '/api/session', b.send)).status).toBe(401);
    expect((await sessionRows('ivy')).every((s) => s.revoked_at instanceof Date)).toBe(true);

    const other = await newKey('jack');
    const c = await signIn(other);
    const rotated = await call('POST', `/api/keys/${other.slice(3, 15)}/rotate`, admin);
    expect(rotated.status).toBe(201);
    expect((await call('GET', '/api/suppressions', c.send)).status).toBe(401);
    // the rotated key signs in again
    const d = await signIn(rotated.body.key);
    expect((await call('GET', '/api/suppressions', d.send)).status).toBe(200);
  });

  it('audits sign-in and sign-out as the key, and revocations with their key', async () => {
    const key = await newKey('kim');
    const { send, csrf, res } = await signIn(key);
    const [session] = await sessionRows('kim');
    await call('DELETE', '/api/session', { ...send, 'x-csrf-token': csrf });
    const second = await signIn(key);
    await call('POST', `/api/keys/${key.slice(3, 15)}/revoke`, admin);
    const sessions = await sessionRows('kim');
    const log = await call('GET', '/api/audit?entity=session&limit=1000', admin);
    expect(log.status).toBe(200);
    const of = (id: number) => log.body.entries.filter((e: { entity_id: string }) => e.entity_id === String(id)).reverse();
    expect(of(session.session_id)).toMatchObject([
      { actor: 'kim', action: 'session_created', before: null, after: { key_prefix: key.slice(3, 15), scopes: ['read', 'write'], revoked_at: null }, request_id: res.headers['x-request-id'] },
      { actor: 'kim', action: 'session_revoked', before: { revoked_at: null }, after: { reason: 'signed_out', revoked_at: expect.any(String) } },
    ]);
    expect(of(sessions[1].session_id)).toMatchObject([
      { actor: 'kim', action: 'session_created' },
      { actor: 'session-admin', action: 'session_revoked', after: { reason: 'api_key_revoked' } },
    ]);
    expect(JSON.stringify(log.body)).not.toContain(second.cookie.value);
    expect(JSON.stringify(log.body)).not.toMatch(/token_hash/);
  });
});

describe('where the cookie is not accepted', () => {
  it('/mcp takes only a Bearer key: the cookie alone is 401', async () => {
    const key = await newKey('mcp-browser');
    const { send, csrf } = await signIn(key);
    const rpc = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    const headers = { ...send, 'x-csrf-token': csrf, accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
    expect((await call('POST', '/mcp', headers, rpc)).status).toBe(401);
    expect((await call('GET', '/metrics', send)).status).toBe(401);
    // the same request with the key works
    const withKey = await call('POST', '/mcp', { ...headers, authorization: `Bearer ${key}` }, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    expect(withKey.status).toBe(200);
  });

  it('the OpenAPI document describes the session scheme and routes', async () => {
    const doc = (await call('GET', '/docs/json')).body;
    expect(doc.components.securitySchemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'bo_session' });
    expect(Object.keys(doc.paths['/api/session'])).toEqual(expect.arrayContaining(['post', 'get', 'delete']));
    expect(doc.paths['/api/session'].post.security).toEqual([]);
    expect(doc.paths['/api/session'].get.security).toEqual([{ session: [] }]);
  });
});
