// npm start: the whole stack in one process tree on embedded defaults —
// Temporal dev server (.data/temporal.db, UI :8233), Postgres (DATABASE_URL, else embedded
// under .data/pg), migrations, one worker and the API (:3000). Ctrl-C stops all of it.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { LOCAL_APP_ROLE, migrationTarget, urlForRole } from '../db/app-role';
import { connectClient, connectWorker } from '../clients/temporal';
import { ensureEnrichRefreshSchedule } from '../worker/provider-workers';
import { startWorkersFromConfig } from '../worker/from-config';
import { installWorkerRuntime } from '../worker/runtime';
import { startTracing } from '../clients/telemetry';
import { ensureMailboxReaders } from '../worker/mailbox-readers';
import { buildApp } from '../api/app';
import { mcpPlugin } from '../mcp/http';
import { webAppPlugin } from '../api/plugins/web-app';
import { createDatabase, devPostgresDataDir, startEmbeddedPostgres } from './postgres';
import { startTemporalDevServer } from './temporal-server';
import { localTrackingSecret } from './tracking-secret';
import { ensureWebBuild } from './web-build';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = path.join(root, '.data');
mkdirSync(dataDir, { recursive: true });
const stops: (() => Promise<unknown>)[] = [];
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  for (const stop of stops.reverse()) await stop().catch((err) => console.error(String(err)));
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

try {
  ensureWebBuild(root);
  const env = { ...process.env };
  if (!env.DATABASE_URL) {
    const port = Number(env.EMBEDDED_PG_PORT ?? 54329);
    const pgDataDir = devPostgresDataDir(root); // as root: outside the project, where the postgres OS user can reach it
    console.log(`embedded Postgres: data in ${pgDataDir}`);
    const pg = await startEmbeddedPostgres({ dataDir: pgDataDir, port });
    stops.push(() => pg.stop());
    // migrations run as the owner; the worker and API log in as a role that owns nothing
    env.MIGRATION_DATABASE_URL = await createDatabase(pg.adminUrl, 'barton');
    env.DATABASE_URL = urlForRole(env.MIGRATION_DATABASE_URL, LOCAL_APP_ROLE);
  }
  if (!env.TEMPORAL_ADDRESS) {
    const temporal = await startTemporalDevServer({ port: 7233, uiPort: 8233, dbFile: path.join(dataDir, 'temporal.db') });
    stops.push(() => temporal.stop());
    env.TEMPORAL_ADDRESS = temporal.address;
  }
  env.TRACKING_SECRET ||= localTrackingSecret(dataDir);
  let config;
  try {
    config = loadConfig(['DATABASE_URL'], env);
  } catch (err) {
    exitOnConfigError(err);
  }

  const tracing = startTracing({ serviceName: 'barton-outreach', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  if (tracing) stops.push(() => tracing.shutdown());
  const { ownerUrl, appRole } = migrationTarget(config.DATABASE_URL, config.MIGRATION_DATABASE_URL);
  const owner = createPool(ownerUrl, { max: 1 });
  const applied = await migrate(owner, () => undefined, { appRole }).finally(() => owner.end());
  const pool = createPool(config.DATABASE_URL);
  stops.push(() => pool.end());
  installWorkerRuntime(config); // the SDK's logs at LOG_LEVEL, its metrics on WORKER_METRICS_PORT when set
  const workerConnection = await connectWorker(config);
  stops.push(() => workerConnection.close());
  // the main worker and the rate-capped provider workers (enrichment)
  const workers = await startWorkersFromConfig(config, pool, workerConnection);
  stops.push(() => workers.shutdown());
  const app = await buildApp({ pool, temporal: await connectClient(config), config, logger: { level: config.LOG_LEVEL } });
  stops.push(async () => {
    await app.close();
    await app.temporal.connection.close();
  });
  await app.register(mcpPlugin);
  await app.register(webAppPlugin); // web/dist at /, beside /api, /docs and /mcp
  await app.listen({ host: config.HOST, port: config.PORT });
  if (config.ENRICH_REFRESH_SCHEDULE === 'on') await ensureEnrichRefreshSchedule(app.temporal, config);
  const mailboxReaders = await ensureMailboxReaders(app.temporal, config);

  console.log(`
Barton Outreach is up
  API           http://localhost:${config.PORT}   (OpenAPI docs: /docs, health: /health, /ready)
  Temporal      ${config.TEMPORAL_ADDRESS}   (task queue "${config.TASK_QUEUE}")
  Temporal UI   ${config.TEMPORAL_UI_URL}${mailboxReaders.length ? `\n  Mailboxes     ${mailboxReaders.join(', ')}` : ''}
  Postgres      ${config.DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}   (${applied.length} migrations applied now${appRole ? `; processes log in as ${appRole.name}` : ''})
Create an API key:  npm run apikey:create -- --name me --scopes read,write
Ctrl-C stops everything.`);
} catch (err) {
  console.error('start failed:', err instanceof Error ? err.message : err);
  await shutdown(1);
}
