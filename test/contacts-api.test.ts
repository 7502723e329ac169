// GET /api/contacts over 120k contacts (made with set-based SQL): search, filters, sorts and
// cursor pagination agree with plain SQL, and every query shape runs on an index (EXPLAIN).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, type TestDatabase } from './support/harness';
import type { App } from '../api/app';
import { contactListQuery } from '../db/contacts';
import { Contact, ContactListQuery, ContactPage } from '../api/schemas/contacts';

const N = 120_000;
let db: TestDatabase;
let temporal: Client;
let app: App;
let reader: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal });
  reader = await bearer(db.pool, ['read'], 100_000, 'contacts-reader');
  // score comes from the completeness trigger: titles, LinkedIn URLs and phones vary it
  await db.pool.query(
    `insert into vault.contacts (email, first_name, last_name, full_name, title, company_name, company_domain, phone, linkedin_url,
                                 source, status, created_at, updated_at)
     select 'user' || g || '@dom' || (g % 5000) || '.com',
            case when g = 77777 then 'Zebulon' else (array['Ada','Grace','Alan','Edsger','Barbara','Donald'])[1 + g % 6] end,
            (array['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Ritchie'])[1 + g % 7] || g,
            null,
            case when g % 7 = 0 then null else (array['Software Engineer','Sales Manager','Director of Sales','CEO','Data Analyst'])[1 + g % 5] end,
            'Company ' || (g % 5000), 'dom' || (g % 5000) || '.com',
            case when g % 3 = 0 then '+1415555' || lpad((g % 10000)::text, 4, '0') end,
            case when g % 4 = 0 then 'https://www.linkedin.com/in/u' || g end,
            (array['apollo','apify','manual'])[1 + g % 3],
            case when g % 50 = 0 then 'unsubscribed' when g % 97 = 0 then 'bounced' else 'active' end,
            now() - make_interval(mins => g), now() - make_interval(secs => (g * 7919) % 1000000)
     from generate_series(1, ${N}) g`,
  );
  await db.pool.query('vacuum analyze vault.contacts'); // a settled table: its visibility map lets a search walk the index alone
}, 300_000);

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const list = (query: Record<string, string | number>) =>
  app.inject({ method: 'GET', url: `/api/contacts?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`, headers: reader });

/** Every page of a query, following next_cursor. */
async function walk(query: Record<string, string | number>): Promise<{ ids: number[]; pages: number }> {
  const ids: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await list(cursor ? { ...query, cursor } : query);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    ids.push(...body.data.map((c: { contact_id: number }) => c.contact_id));
    cursor = body.next_cursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

const sqlIds = async (where: string, order: string, params: unknown[] = []) =>
  (await db.pool.query(`select contact_id from vault.contacts where ${where} order by ${order}`, params)).rows.map((r) => r.contact_id);

describe('GET /api/contacts', () => {
  it('pages default to 100, allow up to 1000, and reject more', async () => {
    const first = await list({});
    expect(first.json().data).toHaveLength(100);
    expect(first.json().next_cursor).toEqual(expect.any(String));
    expect((await list({ limit: 1000 })).json().data).toHaveLength(1000);
    const tooMany = await list({ limit: 1001 });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().details.issues[0].field).toBe('limit');
  });

  it('cursor pagination visits every match exactly once, in order, for each sort', async () => {
    const filters = { status: 'unsubscribed' }; // 2,400 contacts
    const expected = {
      '-updated_at': await sqlIds(`status = 'unsubscribed'`, 'updated_at desc, contact_id desc'),
      '-created_at': await sqlIds(`status = 'unsubscribed'`, 'created_at desc, contact_id desc'),
      '-score': await sqlIds(`status = 'unsubscribed'`, 'score desc, contact_id desc'),
      last_name: await sqlIds(`status = 'unsubscribed'`, `coalesce(last_name, ''), coalesce(first_name, ''), contact_id`),
    };
    for (const [sort, ids] of Object.entries(expected)) {
      const walked = await walk({ ...filters, sort, limit: 1000 });
      expect(walked.pages).toBe(3);
      expect(walked.ids).toEqual(ids);
    }
    // small pages across many ties (score has only a few distinct values)
    const small = await walk({ company_domain: 'dom42.com', sort: '-score', limit: 7 });
    expect(small.ids).toEqual(await sqlIds(`company_domain = 'dom42.com'`, 'score desc, contact_id desc'));
    expect(small.ids).toHaveLength(24);
  });

  it('searches name, email and company text; rare and common terms', async () => {
    const rare = await list({ q: 'zebulon' });
    expect(rare.json().data.map((c: { email: string }) => c.email)).toEqual(['user77777@dom2777.com']);
    const byEmail = await list({ q: 'USER1234@', limit: 1000 });
    expect(byEmail.json().data.map((c: { contact_id: number }) => c.contact_id).sort()).toEqual(
      (await sqlIds(`email like '%user1234@%'`, 'contact_id')).sort(),
    );
    const byCompany = await walk({ q: 'company 4999', limit: 1000 });
    expect(byCompany.ids.sort()).toEqual((await sqlIds(`lower(company_name) like '%company 4999%'`, 'contact_id')).sort());
    const common = await list({ q: 'lovelace', include_total: 'true' });
    expect(common.json()).toMatchObject({ total: 10_000, total_capped: true });
    expect(common.json().data).toHaveLength(100);
    // LIKE wildcards in the term are literal
    expect((await list({ q: '%%%' })).json().data).toEqual([]);
  });

  it('matches the start of any word: name parts, email, email domain, company; not the middle of a word', async () => {
    await db.pool.query(
      `insert into vault.contacts (email, first_name, last_name, full_name, company_name, company_domain, source)
       values ('ada.obrien@acme-corp.co.uk', 'Ada', 'O''Brien-Smith', 'Ada O''Brien-Smith', 'Acme Corp, Inc.', 'acme-corp.co.uk', 'search_fixture'),
              ('ada.obrienne@example.org', 'Ada', 'Obrienne', null, null, null, 'search_fixture')`,
    );
    const emails = async (q: string) => {
      const res = await list({ q, source: 'search_fixture' });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().data.map((c: { email: string }) => c.email).sort();
    };
    const both = ['ada.obrien@acme-corp.co.uk', 'ada.obrienne@example.org'];
    expect(await emails('brien')).toEqual([both[0]]); // a word of O'Brien-Smith
    expect(await emails("O'Brien")).toEqual([both[0]]);
    expect(await emails('smith')).toEqual([both[0]]);
    expect(await emails('Ada OBri')).toEqual(both); // "obri" begins the email's local part and Obrienne
    expect(await emails('ada.obrien@')).toEqual([both[0]]); // exact local part
    expect(await emails('ada.obrien')).toEqual(both); // a prefix of both emails
    expect(await emails('@acme-corp.co.uk')).toEqual([both[0]]);
    expect(await emails('acme inc')).toEqual([both[0]]);
    expect(await emails('example.org')).toEqual([both[1]]);
    expect(await emails('rien')).toEqual([]); // word prefix, not substring
    // tsquery syntax in a term is text, not an operator
    expect(await emails("ada:* | !x \\ ' ( &")).toEqual([]);
  });

  it('lists contacts in the shape of the response schema, field for field as GET /api/contacts/:id', async () => {
    const page = await list({ company_domain: 'dom42.com', limit: 3, include_total: 'true' });
    expect(page.headers['content-type']).toMatch(/^application\/json/);
    const body = ContactPage.parse(page.json());
    expect(Object.keys(page.json())).toEqual(['data', 'next_cursor', 'total', 'total_capped']);
    expect(body).toMatchObject({ total: 24, total_capped: false });
    for (const c of page.json().data) {
      expect(Object.keys(c)).toEqual(Object.keys(Contact.shape));
      const detail = (await app.inject({ method: 'GET', url: `/api/contacts/${c.contact_id}`, headers: reader })).json();
      expect(c).toEqual(Object.fromEntries(Object.keys(Contact.shape).map((k) => [k, detail[k]])));
    }
    expect((await list({ q: 'nosuchword' })).json()).toEqual({ data: [], next_cursor: null });
  });

  it('filters by status, score range, source, company domain, title and updated-since', async () => {
    const since = new Date(Date.now() - 3600_000).toISOString();
    const query = { status: 'active', score_min: 90, score_max: 95, source: 'apify', title: 'sales', updated_since: since, include_total: 'true', limit: 1000 };
    const res = await walk(query);
    const expected = await sqlIds(
      `status = 'active' and score between 90 and 95 and source = 'apify' and lower(title) like '%sales%' and updated_at >= $1`,
      'updated_at desc, contact_id desc',
      [since],
    );
    expect(expected.length).toBeGreaterThan(10);
    expect(res.ids).toEqual(expected);
    const first = (await list(query)).json();
    expect(first.total).toBe(expected.length);
    for (const c of first.data) {
      expect(c).toMatchObject({ status: 'active', source: 'apify' });
      expect(c.score).toBeGreaterThanOrEqual(90);
      expect(c.title.toLowerCase()).toContain('sales');
    }
    const bad = await list({ score_min: 90, score_max: 10 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.issues[0].field).toBe('score_min');
  });

  it('rejects a cursor from another sort or a forged one, naming the cursor', async () => {
    const cursor = (await list({ sort: '-score' })).json().next_cursor;
    for (const c of [cursor, 'not-a-cursor']) {
      const res = await list({ sort: '-updated_at', cursor: c });
      expect(res.statusCode).toBe(400);
      expect(res.json().details.issues[0].field).toBe('cursor');
    }
  });

  it('runs every query shape on an index, never a sequential scan (EXPLAIN)', async () => {
    const cursorOf = async (q: Record<string, string | number>) => (await list(q)).json().next_cursor as string;
    const shapes: Record<string, string | number>[] = [
      {},
      { cursor: await cursorOf({}) },
      { sort: '-score', cursor: await cursorOf({ sort: '-score' }) },
      { sort: '-created_at' },
      { sort: 'last_name', cursor: await cursorOf({ sort: 'last_name' }) },
      { q: 'zebulon' },
      { q: 'lovelace' },
      { q: 'dom4999.com', sort: '-score' },
      { q: 'ada love', status: 'bounced' },
      { q: 'lovelace', cursor: await cursorOf({ q: 'lovelace' }) },
      { status: 'bounced' },
      { status: 'active', score_min: 95 },
      { source: 'manual' },
      { company_domain: 'dom42.com' },
      { company_domain: 'dom42.com', sort: '-score' },
      { title: 'director' },
      { updated_since: new Date(Date.now() - 60_000).toISOString() },
      { status: 'unsubscribed', source: 'apify', sort: 'last_name' },
    ];
    for (const shape of shapes) {
      const parsed = ContactListQuery.parse(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, String(v)])));
      const { sql, params } = contactListQuery(parsed);
      const { rows } = await db.pool.query(`explain (format json) ${sql}`, params);
      const nodes: { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string }[] = [];
      const visit = (n: Record<string, unknown>) => {
        nodes.push(n as never);
        for (const child of (n.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
      };
      visit(rows[0]['QUERY PLAN'][0].Plan);
      const scans = nodes.filter((n) => n['Relation Name'] === 'contacts' || n['Index Name']?.startsWith('contacts'));
      expect(scans.map((n) => n['Node Type']), JSON.stringify(shape)).not.toContain('Seq Scan');
      expect(scans.some((n) => /Index/.test(n['Node Type'])), `${JSON.stringify(shape)}: ${JSON.stringify(scans)}`).toBe(true);
    }
  });

  it('walks the sort index for a common term and asks the search index only for a rare one (EXPLAIN ANALYZE)', async () => {
    const plan = async (q: Record<string, string>) => {
      const { sql, params } = contactListQuery(ContactListQuery.parse(q));
      const { rows } = await db.pool.query(`explain (analyze, format json) ${sql}`, params);
      const ran: { type: string; index?: string; rows: number }[] = [];
      const visit = (n: Record<string, unknown>) => {
        if ((n['Actual Loops'] as number) > 0) ran.push({ type: n['Node Type'] as string, index: n['Index Name'] as string | undefined, rows: n['Actual Rows'] as number });
        for (const child of (n.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
      };
      visit(rows[0]['QUERY PLAN'][0].Plan);
      return ran;
    };
    // "lovelace" is in 1 of 7 contacts: the first 1,010 entries of the -updated_at index fill the page
    const common = await plan({ q: 'lovelace' });
    expect(common.filter((n) => n.index === 'contacts_search_words')).toEqual([]);
    expect(common).toContainEqual({ type: 'Index Only Scan', index: 'contacts_updated_keyset', rows: expect.any(Number) });
    // "zebulon" is in 1: the probe walks its 1,010 entries, then the search index finds it
    const rare = await plan({ q: 'zebulon' });
    expect(rare).toContainEqual({ type: 'Bitmap Index Scan', index: 'contacts_search_words', rows: 1 });
    expect(Math.max(...rare.filter((n) => n.index === 'contacts_updated_keyset').map((n) => n.rows))).toBeLessThanOrEqual(1010);
  });
});
