// Bad input Schemathesis and a prober found answering 5xx (issue 13, item 9): each is a 4xx naming
// the field, with nothing stored. And the OpenAPI document says what the API answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, type TestDatabase } from './support/harness';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let app: App;
let admin: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal });
  admin = await bearer(db.pool, ['admin'], 100_000, 'bad-input-admin');
  await db.pool.query(
    `insert into vault.contacts (email, first_name, last_name, title, source, status)
     select 'user' || g || '@example.com', 'First' || g, 'Last' || g, 'CTO', 'manual', 'active' from generate_series(1, 5) g`,
  );
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const TABLES = ['intake.batches', 'intake.batch_rows', 'intake.raw_loads', 'intake.audit_log', 'vault.contacts', 'marketing.templates', 'enrich.requests'];
async function storedCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) counts[table] = (await db.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n;
  return counts;
}

/** Sends a request and expects 400 naming `field`, with no row added anywhere. */
async function expectRefused(request: { method: 'GET' | 'POST' | 'PUT' | 'PATCH'; url: string; payload?: unknown; headers?: Record<string, string> }, field: string) {
  const before = await storedCounts();
  const res = await app.inject({
    method: request.method,
    url: request.url,
    headers: { ...admin, ...(request.payload === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
    ...(request.payload === undefined ? {} : { payload: typeof request.payload === 'string' ? request.payload : JSON.stringify(request.payload) }),
  });
  expect(res.statusCode, res.body).toBe(400);
  const body = res.json();
  expect(body.details.issues.map((i: { field: string }) => i.field)).toContain(field);
  expect(body.message).toContain(field);
  expect(await storedCounts()).toEqual(before);
  return body;
}

const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('a NUL character (Postgres refuses \\u0000 in text and jsonb)', () => {
  it.each([
    ['/api/contacts?source=a%00b', 'source'],
    ['/api/contacts?q=ab%00cd', 'q'],
    ['/api/contacts?title=ab%00cd', 'title'],
    ['/api/contacts?company_domain=a%00.com', 'company_domain'],
    ['/api/companies?q=ab%00cd', 'q'],
    ['/api/ingest/a%00b', 'batchId'],
    ['/api/workflows/a%00b', 'id'],
  ])('in a parameter: GET %s → 400 naming %s', async (url, field) => {
    await expectRefused({ method: 'GET', url }, field);
  });

  it.each([
    ['POST', '/api/ingest', { source: 'crm', batch_id: 'nul-1', rows: [{ email: 'a@example.com', first_name: 'A\u0000da' }] }, 'rows[0].first_name'],
    ['POST', '/api/ingest', { source: 'crm', batch_id: 'nul-2', rows: [{ email: 'a@example.com', notes: { deep: ['x\u0000'] } }] }, 'rows[0].notes.deep[0]'],
    ['POST', '/api/ingest', { source: 'crm', batch_id: 'nul-3', rows: [{ email: 'a@example.com', 'odd\u0000key': 1 }] }, 'rows[0].odd\\u0000key'],
    ['POST', '/api/ingest', { source: 'crm', batch_id: 'nul-4', format: 'apollo_api', rows: [{ email: 'a@example.com', title: 'C\u0000TO' }] }, 'rows[0].title'],
    ['POST', '/api/templates', { name: 'T\u0000', subject: 'Hi', text_body: 'x' }, 'name'],
    ['POST', '/api/templates', { name: 'T', subject: 'Hi', html: '<p>\u0000</p>' }, 'html'],
    ['POST', '/api/promote', { batch_id: 'b\u0000' }, 'batch_id'],
    ['POST', '/api/enrich', { filter: { source: 'crm\u0000' } }, 'filter.source'],
    ['PATCH', '/api/contacts/1', { title: 'C\u0000TO', version: 1 }, 'title'],
  ] as const)('in a JSON body: %s %s → 400 naming the field', async (method, url, payload, field) => {
    await expectRefused({ method, url, payload }, field);
  });
});

describe('JSON nested 10,000 levels deep', () => {
  it('is refused by the parser, naming where it got too deep', async () => {
    await expectRefused({ method: 'POST', url: '/api/ingest', payload: nestedArray(10_000) }, '[0]'.repeat(64));
    const row = `{"source":"crm","batch_id":"deep-1","rows":[{"email":"a@example.com","x":${nestedObject(10_000)}}]}`;
    await expectRefused({ method: 'POST', url: '/api/ingest', payload: row }, `rows[0].x${'.a'.repeat(61)}`);
    await expectRefused({ method: 'POST', url: '/api/templates', payload: `{"name":"t","subject":"s","html":${nestedObject(10_000)}}` }, `html${'.a'.repeat(63)}`);
  });

  it('still takes ordinary nesting', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/templates', headers: admin, payload: { name: 'shallow', subject: 'Hi', text_body: 'ok' } });
    expect(res.statusCode).toBe(201);
  });
});

describe('tampered cursors', () => {
  const contacts = (sort: string, cursor: string) => `/api/contacts?sort=${sort}&cursor=${cursor}`;
  it.each([
    ['not base64 JSON', '-updated_at', 'bm90IGpzb24'],
    ['a timestamp Postgres cannot read', '-updated_at', cursorOf({ s: '-updated_at', v: ['2020-13-45 00:00:00+00'], id: 1 })],
    ['a timestamp that is no timestamp', '-created_at', cursorOf({ s: '-created_at', v: ['yesterday'], id: 1 })],
    ['a score beyond smallint', '-score', cursorOf({ s: '-score', v: ['99999'], id: 1 })],
    ['an id beyond bigint', '-updated_at', cursorOf({ s: '-updated_at', v: ['2020-01-01 00:00:00+00'], id: 1e30 })],
    ['a NUL in a name key', 'last_name', cursorOf({ s: 'last_name', v: ['a\u0000', 'b'], id: 1 })],
    ['an object for a key', 'last_name', cursorOf({ s: 'last_name', v: [{}, 'b'], id: 1 })],
    ['a JSON null', '-updated_at', cursorOf(null)],
    ['characters outside base64url', '-updated_at', encodeURIComponent('eyJz+/=')],
  ])('%s → 400 naming cursor', async (_name, sort, cursor) => {
    await expectRefused({ method: 'GET', url: contacts(sort, cursor) }, 'cursor');
  });

  it.each(['1e20', '100000000000000000000', '-1', '1.5', 'abc'])('companies cursor %s → 400 naming cursor', async (cursor) => {
    await expectRefused({ method: 'GET', url: `/api/companies?cursor=${cursor}` }, 'cursor');
  });

  it('still follows cursors the API wrote', async () => {
    for (const sort of ['-updated_at', '-created_at', '-score', 'last_name']) {
      const first = (await app.inject({ method: 'GET', url: `/api/contacts?sort=${sort}&limit=2`, headers: admin })).json();
      const next = await app.inject({ method: 'GET', url: `${contacts(sort, first.next_cursor)}&limit=2`, headers: admin });
      expect(next.statusCode).toBe(200);
      expect(next.json().data).toHaveLength(2);
    }
  });
});

describe('date-times Postgres refuses', () => {
  it.each(['2020-01-01T00:00:00-19:32', '2020-01-01T00:00:00+16:00', '0000-01-01T00:00:00Z', '2021-02-29T00:00:00Z', 'yesterday'])(
    'updated_since=%s → 400 naming updated_since',
    async (value) => {
      await expectRefused({ method: 'GET', url: `/api/contacts?updated_since=${encodeURIComponent(value)}` }, 'updated_since');
    },
  );

  it.each(['2020-01-01T00:00:00-15:59', '0001-01-01T00:00:00Z', '2024-02-29T12:00:00.123456+05:30'])('updated_since=%s is taken', async (value) => {
    const res = await app.inject({ method: 'GET', url: `/api/contacts?updated_since=${encodeURIComponent(value)}`, headers: admin });
    expect(res.statusCode).toBe(200);
  });
});

describe('templates that cannot render (the sandbox refuses them at save)', () => {
  it('an include of a missing file → 400 naming the field', async () => {
    await expectRefused({ method: 'POST', url: '/api/templates', payload: { name: 't', subject: 'Hi', text_body: '{% include "no-such-file" %}' } }, 'text_body');
  });

  it('a render that would grow past V8\'s string limit → 400 naming the field', async () => {
    const doubling = `{% assign s = "${'x'.repeat(1000)}" %}${'{% assign s = s | append: s %}'.repeat(30)}{{ s }}`;
    await expectRefused({ method: 'POST', url: '/api/templates', payload: { name: 't', subject: 'Hi', html: doubling } }, 'html');
  });
});

describe('other bad input', () => {
  it('a credit budget beyond its integer column → 400', async () => {
    await expectRefused({ method: 'POST', url: '/api/enrich', payload: { contact_ids: [1], credit_budget: 2 ** 49 } }, 'credit_budget');
  });

  it('a multipart upload without a boundary → 400', async () => {
    const before = await storedCounts();
    const res = await app.inject({ method: 'POST', url: '/api/ingest', headers: { ...admin, 'content-type': 'multipart/form-data' }, payload: '{"source":"x"}' });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('multipart');
    expect(await storedCounts()).toEqual(before);
  });

  it('a path the router refuses (overlong parameter 414, broken percent-encoding 400) answers in the API\'s error shape', async () => {
    const long = await app.inject({ method: 'GET', url: `/api/workflows/${'x'.repeat(5000)}`, headers: admin });
    expect(long.statusCode).toBe(414);
    expect(long.json()).toEqual({ error: 'URI Too Long', message: expect.stringContaining('4096'), requestId: expect.any(String) });
    const broken = await app.inject({ method: 'GET', url: '/api/ingest/%E0%A4%A', headers: admin });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toEqual({ error: 'Bad Request', message: expect.any(String), requestId: expect.any(String) });
  });

  it('a known path with another method → 405 with Allow; an unknown path → 404', async () => {
    const res = await app.inject({ method: 'PUT', url: '/api/contacts/1', headers: admin });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, PATCH');
    expect((await app.inject({ method: 'PUT', url: '/api/nothing-here', headers: admin })).statusCode).toBe(404);
  });
});

describe('the OpenAPI document', () => {
  type Operation = { responses: Record<string, { content?: unknown }>; parameters?: unknown[]; requestBody?: unknown };
  let operations: [string, Operation][];
  beforeAll(async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, Operation>> }>();
    operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([m, op]): [string, Operation] => [`${m.toUpperCase()} ${path}`, op]));
  });

  it('documents the errors every keyed operation can answer', () => {
    // sign-in takes the key in its body; the session's answer and sign-out answer 401 themselves (test/session.test.ts)
    const keyed = operations.filter(([name]) => name.includes(' /api/') && !name.endsWith(' /api/session'));
    expect(keyed.length).toBeGreaterThan(30);
    for (const [name, op] of keyed) {
      expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['401', '403', '429', '503']));
      if (op.parameters?.length || op.requestBody) expect(Object.keys(op.responses), name).toContain('400');
      if (op.requestBody) expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['413', '415']));
    }
  });

  it('documents 204 without content', () => {
    const noContent = operations.filter(([, op]) => op.responses['204']);
    expect(noContent.length).toBeGreaterThan(0);
    for (const [name, op] of noContent) expect(op.responses['204'].content, name).toBeUndefined();
  });
});
