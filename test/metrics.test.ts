// /metrics: the business counters an operator graphs and alerts on, after a real ingest,
// promotion and campaign send (real Temporal, Postgres and SMTP). They come from the database's
// rollups, so a second API process (a restart, another replica) answers the same numbers.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { asAppRole, bearer, testApp, uniqueId } from './support/harness';
import { result, startCampaignStack, waitUntil, type CampaignStack } from './support/campaign-fixtures';
import { startApolloFake } from './fakes/apollo';
import { createApolloClient } from '../clients/apollo';
import { createEnrichActivities } from '../activities/enrich';
import { parseWaterfall } from '../contracts/enrich';
import type { App } from '../api/app';

let stack: CampaignStack;
let reader: Record<string, string>;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'metrics' });
  reader = await bearer(stack.db.pool, ['read'], 10_000, 'metrics-reader');
});

afterAll(async () => {
  await stack?.close();
});

async function scrape(app: App): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: reader });
  expect(res.statusCode).toBe(200);
  return res.body;
}

/** The value of one series (name and exact label set) in Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

const person = (email: string, name: string) => ({ email, name, title: 'CTO', organization_name: 'Engines' });

it('counts staged, duplicate, promoted and failed rows, golden records and sends, the same from a fresh API process', async () => {
  const before = await scrape(stack.app);
  expect(sample(before, 'barton_business_metrics_up')).toBe(1);
  expect(sample(before, 'barton_rows_staged_total')).toBe(0);
  expect(sample(before, 'barton_emails_sent_total')).toBe(0);
  expect(sample(before, 'barton_migrations_pending')).toBe(0);

  const batch = uniqueId('m');
  const rows = [
    person('ada@example.com', 'Ada Lovelace'),
    person('ADA@example.com ', 'Ada again'), // duplicate within the batch
    person('grace@example.com', 'Grace Hopper'),
    person('alan@example.com', 'Alan Turing'),
    { email: 'not-an-email', name: 'Nobody' },
    { email: 'temp@mailinator.com', name: 'Throwaway' },
  ];
  const ingest = () => stack.http.call('POST', '/api/ingest?wait=true', { source: 'apollo', batch_id: batch, rows });
  expect((await ingest()).body.counts).toEqual({ inserted: 5, skipped: 1 });
  const promoted = await stack.http.call('POST', '/api/promote?wait=true', { batch_id: batch });
  expect(promoted.body.counts).toEqual({ promoted: 3, updated: 0, failed: 2 });
  // the same batch again (a client retry) stages nothing and counts nothing
  expect((await ingest()).body.existing).toBe(true);

  const template = await stack.http.template({ subject: 'Hi {{ contact.first_name }}', text_body: 'hello' });
  const campaignId = await stack.http.campaign({ criteria: { sources: ['apollo'] }, rate_per_minute: 6000, steps: [{ template_id: template }] });
  expect(await result(stack.temporal, await stack.http.start(campaignId))).toMatchObject({ phase: 'completed', sent: 3 });

  const after = await scrape(stack.app);
  expect(sample(after, 'barton_rows_staged_total')).toBe(6);
  expect(sample(after, 'barton_rows_duplicate_total')).toBe(1);
  expect(sample(after, 'barton_rows_promoted_total')).toBe(3);
  expect(sample(after, 'barton_rows_failed_total', { reason: 'invalid_email_syntax' })).toBe(1);
  expect(sample(after, 'barton_rows_failed_total', { reason: 'disposable_domain' })).toBe(1);
  expect(sample(after, 'barton_golden_records_created_total', { kind: 'person' })).toBe(3);
  expect(sample(after, 'barton_golden_records_created_total', { kind: 'company' })).toBe(1);
  expect(sample(after, 'barton_emails_sent_total')).toBe(3);
  expect(sample(after, 'barton_emails_bounced_total')).toBe(0);
  // this API's pool: nothing checked out between requests, nobody waiting
  expect(sample(after, 'barton_db_pool_connections', { state: 'waiting' })).toBe(0);
  expect(sample(after, 'barton_db_pool_connections', { state: 'in_use' })).toBe(0);

  // a restarted (or another) API process starts with empty prom-client registries, yet answers the same totals
  const fresh = await testApp({ pool: stack.db.pool, temporal: stack.temporal, config: { TASK_QUEUE: stack.taskQueue } });
  try {
    const again = await scrape(fresh);
    for (const name of ['barton_rows_staged_total', 'barton_rows_promoted_total', 'barton_emails_sent_total']) {
      expect(sample(again, name)).toBe(sample(after, name));
    }
    expect(sample(again, 'barton_rows_failed_total', { reason: 'disposable_domain' })).toBe(1);
  } finally {
    await fresh.close();
  }
});

it('reports how long the slowest running statement has been running, for the slow-query alert', async () => {
  // as the app role: the processes' own statements are the ones the alert watches (a role sees
  // the statements of its own sessions only, without pg_read_all_stats)
  const sleeping = asAppRole(stack.db.pool).query('select pg_sleep(2)');
  try {
    const seen = await waitUntil(async () => {
      const v = sample(await scrape(stack.app), 'barton_db_slowest_query_seconds');
      return v !== undefined && v >= 0.5 ? v : undefined;
    }, 10_000, 'the sleeping statement in barton_db_slowest_query_seconds');
    expect(seen).toBeLessThan(10);
  } finally {
    await sleeping;
  }
  expect(sample(await scrape(stack.app), 'barton_db_slowest_query_seconds')).toBeLessThan(0.5);
});

it('counts provider 429s by provider and send-throttle waits by sending domain', async () => {
  const apollo = await startApolloFake();
  try {
    const acts = createEnrichActivities({ pool: stack.db.pool, apollo: createApolloClient({ baseUrl: apollo.baseUrl, apiKey: apollo.apiKey }) });
    const env = new MockActivityEnvironment();
    const requestId = uniqueId('rl');
    const { rows } = await stack.db.pool.query(`insert into vault.contacts (email, source) values ($1, 'test') returning contact_id`, [`${requestId}@acme.example`]);
    await env.run(acts.createEnrichRequest, {
      requestId, target: { contactIds: [rows[0].contact_id] }, providers: ['apollo' as const], force: false,
      waterfall: parseWaterfall('title:apollo'), ttlDays: 30, workflowId: `enrich:${requestId}`,
    });
    await env.run(acts.planEnrichmentRound, { requestId, round: 1 });
    const ref = { requestId, provider: 'apollo' as const, round: 1, chunkNo: 0 };
    for (let i = 0; i < 2; i++) {
      apollo.script('people/bulk_match', { status: 429, headers: { 'retry-after': '1' }, body: { message: 'rate limited' } });
      await expect(env.run(acts.callApollo, ref)).rejects.toMatchObject({ type: 'ProviderRateLimited' });
    }
    await env.run(acts.callApollo, ref); // the retry that gets through counts nothing
  } finally {
    await apollo.close();
  }

  // 120 a minute = 2 tokens a second with a burst of 2: the third recipient waits for its token
  const template = await stack.http.template({ subject: 'Again', text_body: 'hello' });
  const campaignId = await stack.http.campaign({ criteria: { sources: ['apollo'] }, rate_per_minute: 120, steps: [{ template_id: template }] });
  expect(await result(stack.temporal, await stack.http.start(campaignId))).toMatchObject({ phase: 'completed', sent: 3 });

  const text = await scrape(stack.app);
  expect(sample(text, 'barton_enrichment_rate_limited_total', { provider: 'apollo' })).toBe(2);
  const waits = sample(text, 'barton_send_throttle_waits_total', { domain: 'sender.example' }) ?? 0;
  expect(waits).toBeGreaterThanOrEqual(1);
  const waited = sample(text, 'barton_send_throttle_wait_seconds_total', { domain: 'sender.example' }) ?? 0;
  expect(waited).toBeGreaterThan(0.1);
  expect(waited).toBeLessThan(10);
});
