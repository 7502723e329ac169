// "Select all matching" (POST /api/contacts/bulk, GET /api/contacts/count): the selection is the
// filter, counted and acted on in the database; a repeated request acts once; bad input is a 400
// naming the field, with nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, type TestDatabase } from './support/harness';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let app: App;
let writer: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal });
  writer = await bearer(db.pool, ['read', 'write'], 100_000, 'bulk-writer');
  await db.pool.query(
    `insert into vault.contacts (email, first_name, last_name, title, company_name, company_domain, source, status)
     select 'bulk' || g || '@dom' || (g % 40) || '.test', (array['Ada','Grace','Alan'])[1 + g % 3], 'Lovelace' || (g % 7),
            case when g % 5 = 0 then 'Director of Sales' else 'Engineer' end, 'Company ' || (g % 40), 'dom' || (g % 40) || '.test',
            (array['apollo','apify','manual'])[1 + g % 3], case when g % 50 = 0 then 'unsubscribed' else 'active' end
     from generate_series(1, 3000) g`,
  );
}, 120_000);

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const post = (body: unknown) => app.inject({ method: 'POST', url: '/api/contacts/bulk', headers: writer, payload: body as object });
const sqlCount = async (where: string) => (await db.pool.query(`select count(*)::int as n from vault.contacts where ${where}`)).rows[0].n as number;

describe('select all matching', () => {
  it('counts the filter exactly, as plain SQL does', async () => {
    for (const [query, where] of [
      ['', 'true'],
      ['q=grace', `first_name = 'Grace'`],
      ['q=grace&title=director&source=apify', `first_name = 'Grace' and title ilike '%director%' and source = 'apify'`],
      ['status=unsubscribed', `status = 'unsubscribed'`],
      ['company_domain=dom7.test', `company_domain = 'dom7.test'`],
    ]) {
      const res = await app.inject({ method: 'GET', url: `/api/contacts/count?${query}`, headers: writer });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().matched, query).toBe(await sqlCount(where));
    }
  });

  it('suppresses every contact of the filter, once per idempotency key, audited', async () => {
    const filter = { q: 'alan', company_domain: 'dom3.test' };
    const expected = await sqlCount(`first_name = 'Alan' and company_domain = 'dom3.test'`);
    expect(expected).toBeGreaterThan(10);
    const key = randomUUID();
    const first = await post({ idempotency_key: key, action: 'suppress', filter });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ action: 'suppress', matched: expected, affected: expected, repeated: false });
    const suppressed = await db.pool.query(
      `select count(*)::int as n from marketing.suppressions s join vault.contacts c on lower(c.email) = s.email
        where c.first_name = 'Alan' and c.company_domain = 'dom3.test' and s.reason = 'manual'`,
    );
    expect(suppressed.rows[0].n).toBe(expected);
    // the suppression list says so, and nothing else was suppressed
    const one = (await db.pool.query(`select email from vault.contacts where first_name = 'Alan' and company_domain = 'dom3.test' limit 1`)).rows[0].email;
    expect((await app.inject({ method: 'GET', url: `/api/suppressions/${one}`, headers: writer })).statusCode).toBe(200);
    expect((await db.pool.query('select count(*)::int as n from marketing.suppressions')).rows[0].n).toBe(expected);

    // a retry (same key, same request) acts no second time
    const again = await post({ idempotency_key: key, action: 'suppress', filter });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...first.json(), repeated: true });
    const audit = await db.pool.query(`select action, actor, count(*)::int as n from intake.audit_log where action in ('contacts_bulk_suppress', 'suppression_added') group by 1, 2 order by 1`);
    expect(audit.rows).toEqual([{ action: 'contacts_bulk_suppress', actor: 'bulk-writer', n: 1 }, { action: 'suppression_added', actor: 'bulk-writer', n: expected }]);
    // concurrent retries too
    const key2 = randomUUID();
    const racing = await Promise.all([1, 2, 3].map(() => post({ idempotency_key: key2, action: 'suppress', filter: { q: 'alan' } })));
    expect(racing.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(racing.filter((r) => !r.json().repeated)).toHaveLength(1);
    expect(new Set(racing.map((r) => r.json().bulk_id)).size).toBe(1);

    // the key with another request is refused
    const reused = await post({ idempotency_key: key, action: 'suppress', filter: { q: 'grace' } });
    expect(reused.statusCode).toBe(409);
    expect(reused.json().message).toContain('idempotency_key');
  });

  it('adds the selection to a campaign audience, each contact once', async () => {
    const { rows: [k] } = await db.pool.query(`insert into marketing.campaigns (name, from_email, criteria) values ('bulk', 'a@b.test', '{"min_score": 101}') returning campaign_id`);
    const filter = { q: 'grace', source: 'apify' };
    const expected = await sqlCount(`first_name = 'Grace' and source = 'apify'`);
    const res = await post({ idempotency_key: randomUUID(), action: 'add_to_campaign', campaign_id: k.campaign_id, filter });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ matched: expected, affected: expected, campaign_id: k.campaign_id });
    expect((await db.pool.query('select count(*)::int as n from marketing.campaign_members where campaign_id = $1', [k.campaign_id])).rows[0].n).toBe(expected);
    // a second key over the same selection adds no one twice
    const more = await post({ idempotency_key: randomUUID(), action: 'add_to_campaign', campaign_id: k.campaign_id, filter });
    expect(more.json()).toMatchObject({ matched: expected, affected: 0, repeated: false });
    const missing = await post({ idempotency_key: randomUUID(), action: 'add_to_campaign', campaign_id: 999_999, filter });
    expect(missing.statusCode).toBe(404);
  });

  it('starts one enrichment workflow over the filter', async () => {
    const key = randomUUID();
    const res = await post({ idempotency_key: key, action: 'enrich', filter: { company_domain: 'dom5.test' } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.matched).toBe(await sqlCount(`company_domain = 'dom5.test'`));
    expect(body.workflow_id).toBe(`enrich:bulk-${body.bulk_id}`);
    const first = await temporal.workflow.getHandle(body.workflow_id).describe();
    const again = await post({ idempotency_key: key, action: 'enrich', filter: { company_domain: 'dom5.test' } });
    expect(again.json()).toMatchObject({ workflow_id: body.workflow_id, repeated: true });
    expect((await temporal.workflow.getHandle(body.workflow_id).describe()).runId).toBe(first.runId);
    await temporal.workflow.getHandle(body.workflow_id).terminate('test over');
  });

  it('answers bad input with a 400 naming the field, and stores nothing', async () => {
    const before = (await db.pool.query('select count(*)::int as n from vault.contact_bulk_actions')).rows[0].n;
    for (const [body, field] of [
      [{ idempotency_key: randomUUID(), action: 'add_to_campaign', filter: {} }, 'campaign_id'],
      [{ idempotency_key: randomUUID(), action: 'suppress', filter: { score_min: 500 } }, 'score_min'],
      [{ idempotency_key: randomUUID(), action: 'suppress', filter: { q: 'ab' } }, 'q'],
      [{ idempotency_key: randomUUID(), action: 'explode', filter: {} }, 'action'],
      [{ action: 'suppress', filter: {} }, 'idempotency_key'],
      [{ idempotency_key: randomUUID(), action: 'suppress', filter: { nickname: 'x' } }, 'nickname'],
    ] as const) {
      const res = await post(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.body, JSON.stringify(body)).toContain(field);
    }
    expect((await db.pool.query('select count(*)::int as n from vault.contact_bulk_actions')).rows[0].n).toBe(before);
  });
});
