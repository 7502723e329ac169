// npm run bench:enrich [-- --people 4000 --window-s 6 --caps 15,16,16.5,18]
// Enrichment throughput (people/s) against the Apollo fake at its documented paid-plan limit
// (1,000 calls a minute per endpoint, fixed windows; bulk_match carries 10 people per call), and
// how close the task-queue rate cap runs to that limit without a 429. The baseline is the same
// pipeline against an unlimited fake, measured in the same run on the same servers.
// --window-s scales Apollo's minute (the limit per window scales with it, the rate stays 1,000/min).
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { buildEnrichInput } from '../common/enrich';
import { createWorker, workflowsPath, workflowInterceptorModules } from '../worker/worker';
import { createProviderWorkers, providerDepsFromConfig } from '../worker/provider-workers';
import { runCleanups, startBenchDatabase, type Cleanups } from './stack';
import { freePort } from '../scripts/ports';
import { startTemporalDevServer } from '../scripts/temporal-server';
import type { enrichContactsWorkflow } from '../workflows/enrich';
import { workflowIds, workflowTypes } from '../contracts/ids';
import { startApolloFake } from '../test/fakes/apollo';
import { startApifyFake } from '../test/fakes/apify';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '4000' },
    'window-s': { type: 'string', default: '6' },
    caps: { type: 'string', default: '15,16,16.5,18' },
    concurrency: { type: 'string', default: '32' },
  },
});
const PEOPLE = Number(values.people);
const WINDOW_MS = Number(values['window-s']) * 1000;
const PAID_PER_MINUTE = 1000;
const PER_WINDOW = Math.round((PAID_PER_MINUTE * WINDOW_MS) / 60_000);
const LIMIT_CALLS_PER_S = PAID_PER_MINUTE / 60;
const CAPS = values.caps.split(',').map(Number);

Runtime.install({ logger: new DefaultLogger('ERROR') });
const cleanups: Cleanups = [];

try {
  const { pool } = await startBenchDatabase('enrich', cleanups);
  const [temporalServer, bundle] = await Promise.all([
    startTemporalDevServer({ port: await freePort() }),
    bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} } }),
  ]);
  cleanups.push(() => temporalServer.stop());
  const temporal = new Client({ connection: await Connection.connect({ address: temporalServer.address }) });
  cleanups.push(() => temporal.connection.close());
  const apify = await startApifyFake();
  cleanups.push(() => apify.close());

  /** One enrichment of PEOPLE fresh contacts with Apollo at a given fake limit and worker cap. */
  async function run(name: string, perWindow: number, capPerSecond: number) {
    const apollo = await startApolloFake({ perMinute: perWindow, windowMs: WINDOW_MS, retryAfter: true });
    const emails = Array.from({ length: PEOPLE }, (_, i) => `${name}-${i}@bench.example`);
    emails.forEach((email, i) => apollo.addPerson({ id: `${name}-${i}`, email, title: 'VP Sales', organization: { name: 'Bench', primary_domain: 'bench.example' } }));
    const { rows } = await pool.query(`insert into vault.contacts (email, source) select e, 'bench' from unnest($1::text[]) e returning contact_id`, [emails]);
    const config = loadConfig([], {
      TEMPORAL_ADDRESS: temporalServer.address, TASK_QUEUE: `bench-${name}`, LOG_LEVEL: 'warn',
      APOLLO_BASE_URL: apollo.baseUrl, APOLLO_API_KEY: apollo.apiKey, APIFY_BASE_URL: apify.baseUrl, APIFY_TOKEN: apify.token,
      APOLLO_CALLS_PER_SECOND: String(capPerSecond), ENRICH_CONCURRENCY: values.concurrency, ENRICH_MAX_ATTEMPTS: '50',
    });
    const connection = await NativeConnection.connect({ address: temporalServer.address });
    const deps = providerDepsFromConfig(config);
    const workers = [
      await createWorker({ connection, namespace: 'default', taskQueue: config.TASK_QUEUE, pool, ...deps, workflowBundle: { code: bundle.code } }),
      ...(await createProviderWorkers({ connection, namespace: 'default', taskQueue: config.TASK_QUEUE, pool, ...deps, apolloCallsPerSecond: capPerSecond, apifyCallsPerSecond: 5 })),
    ];
    const running = workers.map((w) => w.run());
    try {
      const requestId = `bench-${name}`;
      const t = performance.now();
      const result = await temporal.workflow.execute<typeof enrichContactsWorkflow>(workflowTypes.enrich, {
        workflowId: workflowIds.enrich(requestId),
        taskQueue: config.TASK_QUEUE,
        args: [buildEnrichInput(config, { requestId, target: { contactIds: rows.map((r) => r.contact_id) }, providers: ['apollo'] })],
      });
      const seconds = (performance.now() - t) / 1000;
      if (result.enriched_count !== PEOPLE) throw new Error(`${name}: enriched ${result.enriched_count} of ${PEOPLE}`);
      return { seconds, peoplePerS: PEOPLE / seconds, callsPerS: apollo.stats.served / seconds, rateLimited: apollo.stats.rateLimited, maxPerWindow: apollo.maxServedPerWindow('people/bulk_match') };
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
      await connection.close();
      await apollo.close();
    }
  }

  console.log(`enrichment bench: ${PEOPLE.toLocaleString()} people per run, Apollo bulk_match (10 per call), paid limit ${PAID_PER_MINUTE}/min = ${LIMIT_CALLS_PER_S.toFixed(2)} calls/s = ${(LIMIT_CALLS_PER_S * 10).toFixed(1)} people/s (windows of ${WINDOW_MS / 1000} s × ${PER_WINDOW} calls)`);
  const baseline = await run('baseline', 1_000_000_000, 10_000);
  console.log(`baseline (no provider limit, no cap): ${baseline.peoplePerS.toFixed(1)} people/s (${baseline.callsPerS.toFixed(1)} calls/s) in ${baseline.seconds.toFixed(1)} s`);
  console.log('cap calls/s | people/s | calls/s | of paid limit | of baseline | 429s | max calls in one window');
  for (const cap of CAPS) {
    const r = await run(`cap${String(cap).replace('.', '_')}`, PER_WINDOW, cap);
    console.log(
      `${String(cap).padStart(11)} | ${r.peoplePerS.toFixed(1).padStart(8)} | ${r.callsPerS.toFixed(2).padStart(7)} | ${((r.callsPerS / LIMIT_CALLS_PER_S) * 100).toFixed(1).padStart(12)}% | ${((r.peoplePerS / baseline.peoplePerS) * 100).toFixed(1).padStart(10)}% | ${String(r.rateLimited).padStart(4)} | ${r.maxPerWindow}/${PER_WINDOW}`,
    );
  }
} finally {
  await runCleanups(cleanups);
}
