// GET /api/analytics/dashboard: its totals and buckets equal plain aggregate queries over the raw
// tables (rows written by the real ingest and promotion workflows, merges through the API,
// sends, events and conversions), the rollups survive concurrent writers of one message, and a
// rebuild from history gives the same answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import { api } from './support/campaign-fixtures';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let http: ReturnType<typeof api>;
const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
// today's activity, whatever the time of day: yesterday to tomorrow (UTC)
const FROM = day(Date.now() - DAY);
const TO = day(Date.now() + DAY);
const campaigns: number[] = [];

async function seedCampaign(name: string, sentAt: (i: number) => Date, events: { i: number; kind: string; verdict: string; url?: string; after: number }[]) {
  const q = (sql: string, params: unknown[]) => db.pool.query(sql, params);
  const { rows: [k] } = await q(`insert into marketing.campaigns (name, from_email, status) values ($1, 'a@sender.example', 'running') returning campaign_id`, [name]);
  const { rows: [t] } = await q(`insert into marketing.templates (name, subject, text_body) values ('t', 's', 'b') returning template_id`, []);
  await q('insert into marketing.campaign_steps (campaign_id, step_no, template_id) values ($1, 1, $2)', [k.campaign_id, t.template_id]);
  const { rows: contacts } = await q(
    `insert into vault.contacts (email, source) select $1 || '-' || i || '@example.com', 'dash' from generate_series(1, 6) i returning contact_id`,
    [name.toLowerCase()],
  );
  const ids: number[] = [];
  for (const [i, c] of contacts.entries()) {
    const { rows: [h] } = await q(
      `insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status) select $1, contact_id, 1, email, 'queued'
         from vault.contacts where contact_id = $2 returning outreach_id`,
      [k.campaign_id, c.contact_id],
    );
    // queued, then sent: the path the sender takes (the last one stays queued)
    if (i < 5) await q(`update marketing.outreach_history set status = 'sent', sent_at = $2 where outreach_id = $1`, [h.outreach_id, sentAt(i)]);
    ids.push(h.outreach_id);
  }
  for (const e of events) {
    await q(
      `insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, url, occurred_at)
       select outreach_id, campaign_id, step_no, contact_id, $2, $3, $4, sent_at + make_interval(secs => $5) from marketing.outreach_history where outreach_id = $1`,
      [ids[e.i], e.kind, e.verdict, e.url ?? null, e.after],
    );
  }
  campaigns.push(k.campaign_id);
  return { campaignId: k.campaign_id as number, outreachIds: ids, contactIds: contacts.map((c) => c.contact_id as number) };
}

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  const taskQueue = uniqueId('dashboard');
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
  http = api(app, await bearer(db.pool, ['read', 'write']));

  // intake and golden records through the real workflows
  const batch = uniqueId('dash');
  const ingest = await http.call('POST', '/api/ingest?wait=true', {
    source: 'crm', batch_id: batch, rows: [
      { email: 'ada@engines.example', first_name: 'Ada', title: 'CTO', company_name: 'Engines', company_domain: 'engines.example' },
      { email: 'ada@engines.example', first_name: 'Ada' }, // a duplicate within the batch
      { email: 'grace@navy.example', first_name: 'Grace', company_name: 'Navy', company_domain: 'navy.example' },
      { email: 'grace.h@navy.example', first_name: 'Grace', company_name: 'Navy', company_domain: 'navy.example' },
      { email: 'not-an-email', first_name: 'Nobody' },
      { email: 'temp@mailinator.com', first_name: 'Temp' },
    ],
  });
  expect(ingest.status).toBe(200);
  const promote = await http.call('POST', '/api/promote?wait=true', { batch_id: batch });
  expect(promote.status).toBe(200);
  const { rows: people } = await db.pool.query(`select person_id from people.master where email like 'grace%' order by person_id`);
  expect(people).toHaveLength(2);
  expect((await http.call('POST', `/api/people/${people[1].person_id}/merge`, { into: people[0].person_id })).status).toBe(200);
  // provider answers for two contacts (one matched)
  await db.pool.query(
    `insert into people.intelligence (contact_id, provider, matched, fetched_at, expires_at)
     select contact_id, 'apollo', email like 'ada%', now(), now() + interval '30 days' from vault.contacts where source = 'crm' and email not like 'grace.h%'`,
  );

  // campaigns today: A has replies and bounces; B only sends; and one in January 2025 for the week buckets
  const now = Date.now() - 60_000;
  const a = await seedCampaign('A', () => new Date(now), [
    { i: 0, kind: 'open', verdict: 'machine', after: 1 }, { i: 0, kind: 'open', verdict: 'human', after: 30 }, { i: 0, kind: 'open', verdict: 'human', after: 40 },
    { i: 0, kind: 'click', verdict: 'bot', url: 'https://x.example/1', after: 2 }, { i: 0, kind: 'click', verdict: 'human', url: 'https://x.example/1', after: 50 },
    { i: 0, kind: 'reply', verdict: 'human', after: 55 }, { i: 1, kind: 'reply', verdict: 'human', after: 20 }, { i: 1, kind: 'reply', verdict: 'human', after: 21 },
    { i: 2, kind: 'hard_bounce', verdict: 'human', after: 3 }, { i: 3, kind: 'soft_bounce', verdict: 'human', after: 3 }, { i: 3, kind: 'soft_bounce', verdict: 'human', after: 4 },
    { i: 4, kind: 'auto_reply', verdict: 'human', after: 5 }, { i: 4, kind: 'unsubscribe', verdict: 'human', after: 6 }, { i: 4, kind: 'complaint', verdict: 'human', after: 7 },
  ]);
  await seedCampaign('B', () => new Date(now), [{ i: 0, kind: 'open', verdict: 'human', after: 10 }]);
  await seedCampaign('Old', (i) => new Date(Date.parse('2025-01-06T10:00:00Z') + i * 3 * DAY), [
    { i: 0, kind: 'open', verdict: 'human', after: 3600 }, { i: 1, kind: 'reply', verdict: 'human', after: 7200 }, { i: 4, kind: 'hard_bounce', verdict: 'human', after: 60 },
  ]);
  // conversions: two today, one in 2025
  const conversions = await http.call('POST', '/api/conversions', { conversions: [
    { external_id: 'd-1', contact_id: a.contactIds[0], type: 'closed_won', value: '100.00', currency: 'USD', occurred_at: new Date().toISOString() },
    { external_id: 'd-2', contact_id: a.contactIds[1], type: 'opportunity', value: '10.00', currency: 'EUR', occurred_at: new Date().toISOString() },
    { external_id: 'd-3', contact_id: a.contactIds[1], type: 'opportunity', value: '5', currency: 'EUR', occurred_at: '2025-01-08T00:00:00Z' },
  ] });
  expect(conversions.status).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

/** Every total the dashboard shows, counted straight from the raw tables for [from, to] (UTC days). */
async function rawTotals(from: string, to: string) {
  const lo = `${from}T00:00:00Z`;
  const hi = new Date(Date.parse(`${to}T00:00:00Z`) + DAY).toISOString();
  const one = async (sql: string) => Number((await db.pool.query(sql, [lo, hi])).rows[0].n);
  // messages whose first event of a kind falls in the range
  const firsts = (where: string) => one(`select count(*) as n from (select outreach_id, min(occurred_at) as t from marketing.engagement_events
                                            where ${where} group by 1) x where t >= $1 and t < $2`);
  const sent = await one(`select count(*) as n from marketing.outreach_history where status = 'sent' and sent_at >= $1 and sent_at < $2`);
  const bounced = await firsts(`kind in ('hard_bounce', 'soft_bounce')`);
  const { rows: failed } = await db.pool.query(
    `select failure_reason, count(*)::int as n from intake.raw_loads where status = 'failed' and created_at >= $1 and created_at < $2 group by 1`, [lo, hi]);
  const money = async (sql: string) => (await db.pool.query(sql, [lo, hi])).rows.map((r) => ({ currency: r.currency, value: r.value }));
  const attributed: Record<string, unknown> = {};
  for (const model of ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based']) {
    attributed[model] = await money(`select currency, sum(credit)::text as value from marketing.attribution
                                      where model = '${model}' and converted_at >= $1 and converted_at < $2 group by 1 order by 1`);
  }
  return {
    staged: await one(`select count(*) as n from intake.raw_loads where created_at >= $1 and created_at < $2`),
    duplicates: await one(`select count(*) as n from intake.raw_loads where status = 'duplicate' and created_at >= $1 and created_at < $2`),
    promoted: await one(`select count(*) as n from intake.raw_loads where status = 'promoted' and promoted_at >= $1 and promoted_at < $2`),
    failed: failed.reduce((s, r) => s + r.n, 0),
    failed_by_reason: Object.fromEntries(failed.map((r) => [r.failure_reason, r.n])),
    contacts_created: await one(`select count(*) as n from vault.contacts where created_at >= $1 and created_at < $2`),
    people_created: await one(`select count(*) as n from people.master where created_at >= $1 and created_at < $2`),
    people_merged: await one(`select count(*) as n from people.master where merged_into is not null and updated_at >= $1 and updated_at < $2`),
    companies_created: await one(`select count(*) as n from company.master where created_at >= $1 and created_at < $2`),
    companies_merged: await one(`select count(*) as n from company.master where merged_into is not null and updated_at >= $1 and updated_at < $2`),
    enrich_lookups: await one(`select count(*) as n from people.intelligence where fetched_at >= $1 and fetched_at < $2`),
    enrich_matched: await one(`select count(*) as n from people.intelligence where matched and fetched_at >= $1 and fetched_at < $2`),
    contacts_enriched: await one(`select count(*) as n from (select contact_id, min(fetched_at) as t from people.intelligence where matched group by 1) x
                                   where t >= $1 and t < $2`),
    sent,
    bounced,
    delivered: sent - bounced,
    human_opens: await firsts(`kind = 'open' and verdict = 'human'`),
    clicks: await firsts(`kind = 'click'`),
    human_clicks: await firsts(`kind = 'click' and verdict = 'human'`),
    replies: await firsts(`kind = 'reply' and verdict = 'human'`),
    auto_replies: await firsts(`(kind = 'auto_reply' or (kind = 'reply' and verdict <> 'human'))`),
    unsubscribes: await firsts(`kind = 'unsubscribe'`),
    complaints: await firsts(`kind = 'complaint'`),
    conversions: await one(`select count(*) as n from marketing.conversions where occurred_at >= $1 and occurred_at < $2`),
    conversion_value: await money(`select currency, sum(value)::text as value from marketing.conversions
                                    where occurred_at >= $1 and occurred_at < $2 group by 1 order by 1`),
    attributed_value: attributed,
  };
}

/** Numeric strings compared as numbers (sums of 10.00 and 5 print as 15.00 in one place, 15 in another). */
const normalized = (o: unknown): unknown => JSON.parse(JSON.stringify(o), (k, v) => (k === 'value' && typeof v === 'string' ? Number(v) : v));

describe('the analytics dashboard', () => {
  it('totals equal plain aggregate queries over the raw tables (today\'s range)', async () => {
    const res = await http.call('GET', `/api/analytics/dashboard?from=${FROM}&to=${TO}`);
    expect(res.status).toBe(200);
    const raw = await rawTotals(FROM, TO);
    expect(normalized(res.body.totals)).toEqual(normalized(raw));
    // hand checks on the raw side, so the comparison is not vacuous
    expect(raw).toMatchObject({ staged: 6, duplicates: 1, promoted: 3, failed: 2, people_merged: 1, sent: 10, bounced: 2, human_opens: 2, replies: 2, conversions: 2 });
    expect(raw.failed_by_reason).toEqual({ invalid_email_syntax: 1, disposable_domain: 1 });
    expect(res.body.series.map((b: { start: string }) => b.start)).toEqual([FROM, day(Date.now()), TO]);
    const sum = (key: string) => res.body.series.reduce((s: number, b: Record<string, number>) => s + b[key], 0);
    for (const key of ['staged', 'sent', 'human_opens', 'replies', 'conversions']) expect(sum(key), key).toBe(raw[key as keyof typeof raw]);
    expect(res.body.enrichment).toMatchObject({ lookups: 2, matched: 1, match_rate: 0.5, contacts_enriched: 1 });
    expect(res.body.freshness.rollups).toBe('live');
    expect(res.body.pipeline).toMatchObject({ available: true });
    expect(res.body.pipeline.running).toBeGreaterThanOrEqual(0);
  });

  it('tops: campaigns by reply rate (over delivered) and by attributed value', async () => {
    const res = await http.call('GET', `/api/analytics/dashboard?from=${FROM}&to=${TO}&top=5`);
    const [a, b] = campaigns;
    // A: 5 sent, 2 bounced, 2 replied: 2/3; B: 5 delivered, none
    expect(res.body.top_campaigns.by_reply_rate.map((c: { campaign_id: number; reply_rate: number; delivered: number }) => [c.campaign_id, c.delivered, c.reply_rate]))
      .toEqual([[a, 3, 0.6667], [b, 5, 0]]);
    expect(res.body.top_campaigns.by_attributed_value).toEqual([
      { campaign_id: a, name: 'A', model: 'linear', currency: 'USD', value: '100.00', conversions: 1 },
      { campaign_id: a, name: 'A', model: 'linear', currency: 'EUR', value: '10.00', conversions: 1 },
    ]);
  });

  it('week buckets equal the raw counts grouped by ISO week', async () => {
    const res = await http.call('GET', '/api/analytics/dashboard?from=2025-01-01&to=2025-01-31&granularity=week');
    expect(res.status).toBe(200);
    expect(res.body.series.map((b: { start: string }) => b.start)).toEqual(['2024-12-30', '2025-01-06', '2025-01-13', '2025-01-20', '2025-01-27']);
    const { rows } = await db.pool.query(
      `select to_char(date_trunc('week', sent_at at time zone 'UTC'), 'YYYY-MM-DD') as start, count(*)::int as n
         from marketing.outreach_history where status = 'sent' and sent_at < '2025-02-01' group by 1 order by 1`,
    );
    expect(res.body.series.filter((b: { sent: number }) => b.sent).map((b: { start: string; sent: number }) => ({ start: b.start, n: b.sent }))).toEqual(rows);
    expect(normalized(res.body.totals)).toEqual(normalized(await rawTotals('2024-12-30', '2025-02-02')));
  });

  it('concurrent events of one message count it once; a rebuild from history answers the same', async () => {
    const { outreachIds } = await seedCampaign('Busy', () => new Date(Date.now() - 60_000), []);
    await Promise.all(Array.from({ length: 8 }, () => db.pool.query(
      `insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, occurred_at)
       select outreach_id, campaign_id, step_no, contact_id, 'open', 'human', now() from marketing.outreach_history where outreach_id = $1`,
      [outreachIds[0]],
    )));
    const before = (await http.call('GET', `/api/analytics/dashboard?from=${FROM}&to=${TO}`)).body;
    expect(normalized(before.totals)).toEqual(normalized(await rawTotals(FROM, TO)));
    const report = await http.call('GET', `/api/campaigns/${campaigns.at(-1)}/report`);
    expect(report.body.opens).toMatchObject({ total: 8, human: 8, unique_human: 1 });

    await db.pool.query('select analytics.f_rebuild_rollups()');
    const after = (await http.call('GET', `/api/analytics/dashboard?from=${FROM}&to=${TO}`)).body;
    expect(after.totals).toEqual(before.totals);
    expect(after.top_campaigns).toEqual(before.top_campaigns);
  });

  it('bad ranges are 400s naming the field', async () => {
    const field = async (qs: string) => {
      const res = await http.call('GET', `/api/analytics/dashboard?${qs}`);
      expect(res.status, qs).toBe(400);
      return res.body.details?.issues[0].field;
    };
    expect(await field('from=2025-02-01&to=2025-01-01')).toBe('from');
    expect(await field('from=2025-02-30')).toBe('from');
    expect(await field('to=yesterday')).toBe('to');
    expect(await field('granularity=month')).toBe('granularity');
    expect(await field('from=2000-01-01&to=2025-01-01')).toBe('from');
  });
});
