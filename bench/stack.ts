// A throwaway stack for benchmarks: Postgres (DATABASE_URL's server, else embedded), an
// in-memory Temporal dev server, one in-process worker and the API on a free port.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import pg from 'pg';
import { createPool, type Pool } from '../db/pool';
import { migrate } from '../db/migrate';
import { LOCAL_APP_ROLE, urlForRole } from '../db/app-role';
import { createApiKey } from '../db/api-keys';
import { loadConfig } from '../common/config';
import { createWorker } from '../worker/worker';
import { buildApp } from '../api/app';
import { createDatabase, dropDatabase, throwawayPostgres } from '../scripts/postgres';
import { startTemporalDevServer } from '../scripts/temporal-server';
import { freePort } from '../scripts/ports';

export interface BenchStack {
  baseUrl: string;
  headers: Record<string, string>;
  pool: Pool;
  temporal: Client;
  close(): Promise<void>;
}

export type Cleanups = (() => Promise<unknown>)[];

/**
 * A migrated, throwaway database for a bench: on DATABASE_URL's server, else on an embedded
 * Postgres in a temp folder. Everything it starts is pushed onto `cleanups` (run them in reverse).
 * `keep` names a database on DATABASE_URL's server that is reused and left in place instead.
 */
export async function startBenchDatabase(
  name: string,
  cleanups: Cleanups,
  poolSize = 20,
  keep?: string,
  /** Server settings for every session of this database (e.g. track_functions), set before the pool connects. */
  settings: Record<string, string> = {},
): Promise<{ pool: Pool; url: string; appUrl: string }> {
  if (keep && !process.env.DATABASE_URL) throw new Error('keeping a bench database needs DATABASE_URL');
  const server = await throwawayPostgres('barton-bench-');
  cleanups.push(() => server.stop());
  const { adminUrl } = server;
  const dbName = keep ?? `barton_bench_${name}_${process.pid}`;
  const url = await createDatabase(adminUrl, dbName);
  if (Object.keys(settings).length) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      for (const [key, value] of Object.entries(settings)) {
        await admin.query(`alter database ${pg.escapeIdentifier(dbName)} set ${pg.escapeIdentifier(key)} = ${pg.escapeLiteral(value)}`);
      }
    } finally {
      await admin.end();
    }
  }
  const pool = createPool(url, { max: poolSize });
  if (!keep) cleanups.push(() => dropDatabase(adminUrl, dbName));
  cleanups.push(() => pool.end());
  await migrate(pool, () => undefined, { appRole: LOCAL_APP_ROLE });
  // the bench's own fixtures and baselines use the owner's pool; the processes it measures log in
  // as the app role, as they do under npm start
  return { pool, url, appUrl: urlForRole(url, LOCAL_APP_ROLE) };
}

export async function runCleanups(cleanups: Cleanups): Promise<void> {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(String(err)));
}

export async function startBenchStack(
  settings: Record<string, string> = {},
  postgresSettings: Record<string, string> = {},
): Promise<BenchStack> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const cleanups: Cleanups = [];
  try {
    const { pool, appUrl } = await startBenchDatabase('ingest', cleanups, 20, undefined, postgresSettings);
    const appPool = createPool(appUrl, { max: 20 });
    cleanups.push(() => appPool.end());
    const temporalServer = await startTemporalDevServer({ port: await freePort() });
    cleanups.push(() => temporalServer.stop());
    const config = loadConfig([], { TEMPORAL_ADDRESS: temporalServer.address, LOG_LEVEL: 'warn', ...settings });

    const workerConnection = await NativeConnection.connect({ address: temporalServer.address });
    const worker = await createWorker({ connection: workerConnection, namespace: 'default', taskQueue: config.TASK_QUEUE, pool: appPool });
    const running = worker.run();
    // a worker that dies says why at once (the bench's own wait would only see a timeout)
    running.catch((err) => console.error('worker stopped:', err));
    cleanups.push(async () => {
      worker.shutdown();
      await running;
      await workerConnection.close();
    });

    const temporal = new Client({ connection: await Connection.connect({ address: temporalServer.address }) });
    cleanups.push(() => temporal.connection.close());
    const app = await buildApp({ pool: appPool, temporal, config });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    cleanups.push(() => app.close());

    const { key } = await createApiKey(pool, { name: 'bench', scopes: ['read', 'write'], rateLimitPerMinute: 1_000_000 });
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      pool,
      temporal,
      close: () => runCleanups(cleanups),
    };
  } catch (err) {
    // a half-started stack is torn down before the error surfaces
    await runCleanups(cleanups);
    throw err;
  }
}
