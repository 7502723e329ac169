// npm run worker: the workers of one deployment (main task queue + rate-capped provider queues).
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { connectClient, connectWorker } from '../clients/temporal';
import { ensureEnrichRefreshSchedule } from './provider-workers';
import { ensureMailboxReaders } from './mailbox-readers';
import { startWorkersFromConfig } from './from-config';
import { installWorkerRuntime } from './runtime';
import { startTracing } from '../clients/telemetry';

let config;
try {
  config = loadConfig(['DATABASE_URL']);
} catch (err) {
  exitOnConfigError(err);
}
// The SDK's own log lines follow LOG_LEVEL like the rest of the process; its metrics go to WORKER_METRICS_PORT.
installWorkerRuntime(config);
if (config.WORKER_METRICS_PORT) console.log(`worker: Temporal SDK metrics on :${config.WORKER_METRICS_PORT}/metrics`);
const tracing = startTracing({ serviceName: 'barton-worker', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
const pool = createPool(config.DATABASE_URL);
const connection = await connectWorker(config);
const workers = await startWorkersFromConfig(config, pool, connection);
if (config.ENRICH_REFRESH_SCHEDULE === 'on' || config.IMAP_URL.length) {
  const client = await connectClient(config);
  if (config.ENRICH_REFRESH_SCHEDULE === 'on') console.log(`worker: enrichment refresh schedule ${await ensureEnrichRefreshSchedule(client, config)}`);
  for (const id of await ensureMailboxReaders(client, config)) console.log(`worker: mailbox reader ${id}`);
  await client.connection.close();
}
console.log(`worker: polling task queue "${config.TASK_QUEUE}" (+ -apollo, -apify) on ${config.TEMPORAL_ADDRESS}`);
// resolves after SIGINT/SIGTERM: the SDK drains in-flight tasks first
await workers.running;
await pool.end();
await connection.close();
await tracing?.shutdown();
