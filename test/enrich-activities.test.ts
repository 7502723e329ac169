// Enrichment activities under Temporal's retries (MockActivityEnvironment), against real Postgres
// and the Apollo fake: a call is paid for once, whatever is retried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { testDatabase, uniqueId, type TestDatabase } from './support/harness';
import { startApolloFake, type ApolloFake } from './fakes/apollo';
import { createApolloClient } from '../clients/apollo';
import { createEnrichActivities } from '../activities/enrich';
import { parseWaterfall } from '../contracts/enrich';

let db: TestDatabase;
let apollo: ApolloFake;
let acts: ReturnType<typeof createEnrichActivities>;
const env = new MockActivityEnvironment();

beforeAll(async () => {
  db = await testDatabase();
  apollo = await startApolloFake();
  acts = createEnrichActivities({ pool: db.pool, apollo: createApolloClient({ baseUrl: apollo.baseUrl, apiKey: apollo.apiKey }) });
});
afterAll(async () => {
  await apollo?.close();
  await db?.drop();
});

async function request(n: number, budget?: number) {
  const requestId = uniqueId('acts');
  const emails = Array.from({ length: n }, (_, i) => `${requestId}-${i}@acme.example`);
  emails.forEach((email, i) => apollo.addPerson({ id: `${requestId}-${i}`, email, title: 'CTO' }));
  const { rows } = await db.pool.query(`insert into vault.contacts (email, source) select e, 'test' from unnest($1::text[]) e returning contact_id`, [emails]);
  await env.run(acts.createEnrichRequest, {
    requestId, target: { contactIds: rows.map((r) => r.contact_id) }, providers: ['apollo' as const], force: false,
    waterfall: parseWaterfall('title:apollo'), creditBudget: budget, ttlDays: 30, workflowId: `enrich:${requestId}`,
  });
  return requestId;
}

describe('enrichment activities', () => {
  it('a retried Apollo call after its commit returns the recorded result: one HTTP call, credits counted once', async () => {
    const requestId = await request(7);
    expect(await env.run(acts.planEnrichmentRound, { requestId, round: 1 })).toEqual({ apollo: 1, apify: 0 });
    expect(await env.run(acts.planEnrichmentRound, { requestId, round: 1 })).toEqual({ apollo: 1, apify: 0 }); // plan is stored once
    const ref = { requestId, provider: 'apollo' as const, round: 1, chunkNo: 0 };
    const served = apollo.stats.served;
    const first = await env.run(acts.callApollo, ref);
    const retry = await env.run(acts.callApollo, ref);
    expect(first).toEqual({ status: 'done', contacts: 7, matched: 7, credits: 7 });
    expect(retry).toEqual(first);
    expect(apollo.stats.served - served).toBe(1);
    const { rows } = await db.pool.query('select credits_reserved, credits_used from enrich.requests where request_id = $1', [requestId]);
    expect(rows[0]).toEqual({ credits_reserved: 7, credits_used: 7 });
    expect(await env.run(acts.planEnrichmentRound, { requestId, round: 2 })).toEqual({ apollo: 0, apify: 0 }); // every field filled
  });

  it('a 429 becomes a retryable failure whose nextRetryDelay is the provider\'s; a 401 a non-retryable one', async () => {
    const requestId = await request(2);
    await env.run(acts.planEnrichmentRound, { requestId, round: 1 });
    const ref = { requestId, provider: 'apollo' as const, round: 1, chunkNo: 0 };
    apollo.script('people/bulk_match', { status: 429, headers: { 'retry-after': '7', 'x-minute-requests-left': '0' }, body: { message: 'The maximum number of api calls allowed for api/v1/people/bulk_match is 1000 times per minute.' } });
    const limited = await env.run(acts.callApollo, ref).catch((e) => e);
    expect(limited).toBeInstanceOf(ApplicationFailure);
    expect(limited).toMatchObject({ type: 'ProviderRateLimited', nonRetryable: false, nextRetryDelay: 7000 });

    const unauthorized = createEnrichActivities({ pool: db.pool, apollo: createApolloClient({ baseUrl: apollo.baseUrl, apiKey: 'revoked' }) });
    const denied = await env.run(unauthorized.callApollo, ref).catch((e) => e);
    expect(denied).toMatchObject({ type: 'ProviderRejected', nonRetryable: true });
    // the reservation made before the failed attempts is kept for the retry, not taken twice
    const ok = await env.run(acts.callApollo, ref);
    expect(ok).toMatchObject({ status: 'done', credits: 2 });
    const { rows } = await db.pool.query('select credits_reserved, credits_used from enrich.requests where request_id = $1', [requestId]);
    expect(rows[0]).toEqual({ credits_reserved: 2, credits_used: 2 });
  });
});
