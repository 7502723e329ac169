// npm run worker: one worker process for the main task queue.
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { connectClient, connectWorker } from '../clients/temporal';
import { createProviderWorkers, ensureEnrichRefreshSchedule, providerDepsFromConfig } from './provider-workers';
import { dnsMxResolver } from '../clients/mx';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createWorker } from './worker';

let config;
try {
  config = loadConfig(['DATABASE_URL']);
} catch (err) {
  exitOnConfigError(err);
}
// The SDK's own log lines follow LOG_LEVEL like the rest of the process.
const sdkLevel = ({ fatal: 'ERROR', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE', silent: 'ERROR' } as const)[config.LOG_LEVEL];
Runtime.install({ logger: new DefaultLogger(sdkLevel) });
const pool = createPool(config.DATABASE_URL);
const connection = await connectWorker(config);
const worker = await createWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TASK_QUEUE,
  pool,
  mx: config.MX_CHECK === 'on' ? dnsMxResolver() : undefined,
  ...providerDepsFromConfig(config),
});
const providerWorkers = await createProviderWorkers({
  connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TASK_QUEUE, pool, ...providerDepsFromConfig(config),
  apolloCallsPerSecond: config.APOLLO_CALLS_PER_SECOND, apifyCallsPerSecond: config.APIFY_CALLS_PER_SECOND,
});
if (config.ENRICH_REFRESH_SCHEDULE === 'on') {
  const client = await connectClient(config);
  console.log(`worker: enrichment refresh schedule ${await ensureEnrichRefreshSchedule(client, config)}`);
  await client.connection.close();
}
console.log(`worker: polling task queue "${config.TASK_QUEUE}" (+ -apollo, -apify) on ${config.TEMPORAL_ADDRESS}`);
// resolves after SIGINT/SIGTERM: the SDK drains in-flight tasks first
await Promise.all([worker.run(), ...providerWorkers.map((w) => w.run())]);
await pool.end();
await connection.close();
