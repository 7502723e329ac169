// A main worker plus rate-capped Apollo/Apify workers wired to local provider fakes, for enrichment tests.
import { inject } from 'vitest';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Pool } from '../../db/pool';
import { createWorker } from '../../worker/worker';
import { createProviderWorkers, providerDepsFromConfig } from '../../worker/provider-workers';
import { asAppRole, testConfig } from './harness';
import type { ApolloFake } from '../fakes/apollo';
import type { ApifyFake } from '../fakes/apify';

export const PROFILE_ACTOR = 'fake~linkedin-profiles';

/** The env a deployment would set, pointed at the fakes. */
export function providerEnv(apollo: ApolloFake, apify: ApifyFake, taskQueue: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TASK_QUEUE: taskQueue,
    APOLLO_BASE_URL: apollo.baseUrl,
    APOLLO_API_KEY: apollo.apiKey,
    APIFY_BASE_URL: apify.baseUrl,
    APIFY_TOKEN: apify.token,
    APIFY_PROFILE_ACTOR: PROFILE_ACTOR,
    ENRICH_MAX_ATTEMPTS: '3',
    ...extra,
  };
}

export async function startEnrichStack(ownerPool: Pool, env: Record<string, string>) {
  const pool = asAppRole(ownerPool);
  const config = testConfig(env);
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const deps = providerDepsFromConfig(config);
  const main = await createWorker({
    connection, namespace: 'default', taskQueue: config.TASK_QUEUE, pool, ...deps,
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  const providers = await createProviderWorkers({
    connection, namespace: 'default', taskQueue: config.TASK_QUEUE, pool, ...deps,
    apolloCallsPerSecond: config.APOLLO_CALLS_PER_SECOND, apifyCallsPerSecond: config.APIFY_CALLS_PER_SECOND,
  });
  const workers: Worker[] = [main, ...providers];
  const running = workers.map((w) => w.run());
  return {
    config,
    async stop() {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
      await connection.close();
    },
  };
}
