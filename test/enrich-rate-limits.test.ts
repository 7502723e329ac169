// Provider rate limits under load, and the TTL refresh schedule, on a real Temporal server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase } from './support/harness';
import { PROFILE_ACTOR, providerEnv, startEnrichStack } from './support/enrich-stack';
import { startApolloFake, type ApolloFake } from './fakes/apollo';
import { startApifyFake, type ApifyFake } from './fakes/apify';
import { enrichRefreshScheduleId, ensureEnrichRefreshSchedule } from '../worker/provider-workers';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let apify: ApifyFake;
beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  apify = await startApifyFake({ actors: { [PROFILE_ACTOR]: () => ({ items: [] }) } });
});
afterAll(async () => {
  await temporal?.connection.close();
  await apify?.close();
  await db?.drop();
});

async function people(apollo: ApolloFake, tag: string, n: number): Promise<number[]> {
  const emails = Array.from({ length: n }, (_, i) => `${tag}-${i}@acme.example`);
  emails.forEach((email, i) => apollo.addPerson({ id: `${tag}-${i}`, email, title: `T${i}` }));
  const { rows } = await db.pool.query(
    `insert into vault.contacts (email, source) select e, 'test' from unnest($1::text[]) as e returning contact_id`,
    [emails],
  );
  return rows.map((r) => r.contact_id);
}

async function withStack<T>(apollo: ApolloFake, extra: Record<string, string>, workers: number, fn: (app: App, writer: Record<string, string>) => Promise<T>): Promise<T> {
  const env = providerEnv(apollo, apify, uniqueId('rl'), extra);
  const stacks = await Promise.all(Array.from({ length: workers }, () => startEnrichStack(db.pool, env)));
  const app = await testApp({ pool: db.pool, temporal, config: env });
  try {
    return await fn(app, await bearer(db.pool, ['write']));
  } finally {
    await app.close();
    for (const s of stacks) await s.stop();
  }
}

describe('provider rate limits', () => {
  it('a 429 storm slows the run but loses nothing, and the fake never serves more than its window', async () => {
    // 4 calls per 1-second window; the workers are allowed far more, so most calls first meet a 429
    const apollo = await startApolloFake({ perMinute: 4, windowMs: 1000, retryAfter: true });
    try {
      const ids = await people(apollo, uniqueId('storm'), 120);
      const started = Date.now();
      const result = await withStack(apollo, { APOLLO_CALLS_PER_SECOND: '100', ENRICH_CONCURRENCY: '12', ENRICH_MAX_ATTEMPTS: '30' }, 1, async (app, writer) => {
        const res = await app.inject({ method: 'POST', url: '/api/enrich?wait=true', headers: writer, payload: { contact_ids: ids, providers: ['apollo'] } });
        return res.json().result;
      });
      const elapsed = Date.now() - started;
      expect(apollo.stats.rateLimited).toBeGreaterThan(0);
      expect(result).toMatchObject({ requested: 120, enriched_count: 120, failed: 0, providers: { apollo: { calls: 12, matched: 120, credits: 120 } } });
      expect(apollo.maxServedPerWindow('people/bulk_match')).toBeLessThanOrEqual(4);
      expect(apollo.stats.served).toBe(12); // every served call counted once: nothing lost, nothing doubled
      expect(elapsed).toBeGreaterThan(1000); // 12 calls at 4 per window need 3 windows: more than one window boundary apart
    } finally {
      await apollo.close();
    }
  });

  it('the task-queue rate cap holds across workers: two workers under a shared cap meet no 429', async () => {
    // 10 calls per 2-second window; a cap of 3/s shared by both workers stays under it (with room for
    // bursts), where a per-worker cap (2 × 3/s = 12 per window) would not
    const apollo = await startApolloFake({ perMinute: 10, windowMs: 2000, retryAfter: true });
    try {
      const ids = await people(apollo, uniqueId('cap'), 150);
      const result = await withStack(apollo, { APOLLO_CALLS_PER_SECOND: '3', ENRICH_CONCURRENCY: '15' }, 2, async (app, writer) => {
        const res = await app.inject({ method: 'POST', url: '/api/enrich?wait=true', headers: writer, payload: { contact_ids: ids, providers: ['apollo'] } });
        return res.json().result;
      });
      expect(result).toMatchObject({ enriched_count: 150, providers: { apollo: { calls: 15 } } });
      expect(apollo.stats.rateLimited).toBe(0);
      expect(apollo.maxServedPerWindow('people/bulk_match')).toBeLessThan(10);
    } finally {
      await apollo.close();
    }
  });
});

describe('TTL refresh schedule', () => {
  it('is created once, updated on the next start, and refreshes people whose intelligence is about to expire', async () => {
    const apollo = await startApolloFake();
    const ids = await people(apollo, uniqueId('ttl'), 3);
    // ids[0] expires in 1 day (inside the 3-day horizon), ids[1] in 20 days, ids[2] has none
    await db.pool.query(
      `insert into people.intelligence (contact_id, provider, matched, payload, expires_at)
       values ($1, 'apollo', true, '{}', now() + interval '1 day'), ($2, 'apollo', true, '{}', now() + interval '20 days')`,
      [ids[0], ids[1]],
    );
    const env = providerEnv(apollo, apify, uniqueId('sched'), { ENRICH_REFRESH_WITHIN_DAYS: '3', ENRICH_REFRESH_EVERY: '6h' });
    const stack = await startEnrichStack(db.pool, env);
    const handle = temporal.schedule.getHandle(enrichRefreshScheduleId(stack.config.TASK_QUEUE));
    try {
      expect(await ensureEnrichRefreshSchedule(temporal, stack.config)).toBe('created');
      expect(await ensureEnrichRefreshSchedule(temporal, stack.config)).toBe('updated');
      const described = await handle.describe();
      expect(described.spec.intervals?.map((i) => i.every)).toEqual([6 * 3600_000]);
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'enrichRefreshWorkflow', taskQueue: stack.config.TASK_QUEUE });

      await handle.trigger();
      const run = await eventually(async () => (await handle.describe()).info.recentActions.at(-1)?.action.workflow);
      expect(run).toBeDefined();
      const result = await temporal.workflow.getHandle(run!.workflowId).result();
      expect(result).toMatchObject({ requested: 1, enriched_count: 1, providers: { apollo: { contacts: 1 } } });
      const { rows } = await db.pool.query(`select contact_id, expires_at > now() + interval '29 days' as renewed from people.intelligence where contact_id = any($1) order by contact_id`, [ids]);
      expect(rows).toEqual([{ contact_id: ids[0], renewed: true }, { contact_id: ids[1], renewed: false }]);
    } finally {
      await handle.delete().catch(() => undefined);
      await stack.stop();
      await apollo.close();
    }
  });
});

async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}
