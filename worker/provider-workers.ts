// One worker per rate-limited provider, each on its own task queue with a worker-side rate cap
// (maxTaskQueueActivitiesPerSecond is enforced by the Temporal server across every worker polling
// that queue), plus the enrichment TTL refresh schedule.
import { Worker, type NativeConnection } from '@temporalio/worker';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../common/config';
import type { Pool } from '../db/pool';
import { createApolloClient, type ApolloClient } from '../clients/apollo';
import { createApifyClient, type ApifyClient } from '../clients/apify';
import { createEnrichActivities, type EnrichSettings } from '../activities/enrich';
import { buildEnrichInput } from '../common/enrich';
import { providerTaskQueue, type EnrichRefreshInput } from '../contracts/enrich';
import { scheduleIds, workflowIds, workflowTypes } from '../contracts/ids';
import { workerInterceptorOptions } from './worker';

export interface ProviderDeps {
  apollo?: ApolloClient;
  apify?: ApifyClient;
  enrich: EnrichSettings;
}

/** Provider clients from config: a provider without credentials is left out (its calls fail non-retryably). */
export function providerDepsFromConfig(config: Config): ProviderDeps {
  return {
    apollo: config.APOLLO_API_KEY ? createApolloClient({ baseUrl: config.APOLLO_BASE_URL, apiKey: config.APOLLO_API_KEY, timeoutMs: config.PROVIDER_TIMEOUT_MS }) : undefined,
    apify: config.APIFY_TOKEN ? createApifyClient({ baseUrl: config.APIFY_BASE_URL, token: config.APIFY_TOKEN }) : undefined,
    enrich: { apifyActor: config.APIFY_PROFILE_ACTOR, apifyInputKey: config.APIFY_PROFILE_INPUT_KEY, apifyProfilesPerRun: config.APIFY_PROFILES_PER_RUN },
  };
}

export interface ProviderWorkersSetup extends ProviderDeps {
  connection: NativeConnection;
  namespace: string;
  /** The main task queue; provider queues are `<main>-apollo` and `<main>-apify`. */
  taskQueue: string;
  pool: Pool;
  apolloCallsPerSecond: number;
  apifyCallsPerSecond: number;
}

export async function createProviderWorkers(s: ProviderWorkersSetup): Promise<Worker[]> {
  const acts = createEnrichActivities({ pool: s.pool, apollo: s.apollo, apify: s.apify, enrich: s.enrich });
  return Promise.all([
    Worker.create({
      connection: s.connection,
      namespace: s.namespace,
      taskQueue: providerTaskQueue(s.taskQueue, 'apollo'),
      activities: { callApollo: acts.callApollo },
      maxTaskQueueActivitiesPerSecond: s.apolloCallsPerSecond,
      maxConcurrentActivityTaskExecutions: 32,
      ...workerInterceptorOptions(false),
    }),
    Worker.create({
      connection: s.connection,
      namespace: s.namespace,
      taskQueue: providerTaskQueue(s.taskQueue, 'apify'),
      activities: { callApify: acts.callApify },
      maxTaskQueueActivitiesPerSecond: s.apifyCallsPerSecond,
      maxConcurrentActivityTaskExecutions: 16,
      ...workerInterceptorOptions(false),
    }),
  ]);
}

/** One refresh schedule per deployment (task queue), so deployments sharing a namespace don't collide. */
export const enrichRefreshScheduleId = scheduleIds.enrichTtlRefresh;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The TTL refresh as a Temporal Schedule: every ENRICH_REFRESH_EVERY, re-enrich people whose
 * intelligence expires within ENRICH_REFRESH_WITHIN_DAYS. Idempotent: an existing schedule is
 * updated to the current settings instead of duplicated. Returns "created" or "updated".
 */
export async function ensureEnrichRefreshSchedule(client: Client, config: Config): Promise<'created' | 'updated'> {
  const every = Number(config.ENRICH_REFRESH_EVERY.slice(0, -1)) * UNIT_MS[config.ENRICH_REFRESH_EVERY.slice(-1) as keyof typeof UNIT_MS];
  const { requestId: _r, target: _t, force: _f, ...base } = buildEnrichInput(config, { requestId: 'refresh', target: {} });
  const args: [EnrichRefreshInput] = [{ ...base, withinDays: config.ENRICH_REFRESH_WITHIN_DAYS }];
  const action = { type: 'startWorkflow' as const, workflowType: workflowTypes.enrichRefresh, taskQueue: config.TASK_QUEUE, args, workflowId: workflowIds.enrichRefresh(config.TASK_QUEUE) };
  try {
    await client.schedule.create({
      scheduleId: enrichRefreshScheduleId(config.TASK_QUEUE),
      spec: { intervals: [{ every }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(enrichRefreshScheduleId(config.TASK_QUEUE)).update((prev) => ({ ...prev, spec: { intervals: [{ every }] }, action }));
    return 'updated';
  }
}
