// Per-file test resources on the servers global-setup started: a database cloned from the
// migrated template, a Temporal client, an in-process worker on a unique task queue, the API.
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { temporalCliPath, temporalTestServerPath } from '../../scripts/tools';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createPool, type Pool } from '../../db/pool';
import { LOCAL_APP_ROLE, urlForRole } from '../../db/app-role';
import { createDatabase, dropDatabase } from '../../scripts/postgres';
import { createWorker } from '../../worker/worker';
import { clientInterceptors } from '../../clients/temporal';
import { buildApp, type App } from '../../api/app';
import { loadConfig, type Config } from '../../common/config';
import { createApiKey, type Scope } from '../../db/api-keys';
import type { ActivityDeps } from '../../activities';

// Worker lifecycle chatter hides test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

export const uniqueId = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export interface TestDatabase {
  name: string;
  /** The owner's URL and pool: for a test's own fixtures and checks. */
  url: string;
  pool: Pool;
  /** The app login role's (the role the API and workers use: no DDL, only sql/grants.sql's rights). */
  appUrl: string;
  drop(): Promise<void>;
}

// The app role's pool for each database's owner pool: testApp and startTestWorker hand the
// processes under test the role they run as outside tests, whichever pool a test passes them.
const appPools = new WeakMap<Pool, Pool>();
/** The app role's pool of a test database, given its owner pool (any other pool as it is). */
export const asAppRole = (pool: Pool): Pool => appPools.get(pool) ?? pool;

/** A database of this file's own, cloned from the migrated template. */
export function testDatabase(): Promise<TestDatabase> {
  return newDatabase('barton_test', inject('templateDatabase'));
}

/** A new database on the run's server, named from prefix, cloned from template or empty; drop() removes it. */
export async function newDatabase(prefix: string, template?: string): Promise<TestDatabase> {
  const admin = inject('pgAdminUrl');
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const url = await createDatabase(admin, name, template);
  const pool = createPool(url);
  const appUrl = urlForRole(url, LOCAL_APP_ROLE);
  const appPool = createPool(appUrl);
  appPools.set(pool, appPool);
  return {
    name,
    url,
    pool,
    appUrl,
    async drop() {
      await Promise.all([pool.end(), appPool.end()]);
      await dropDatabase(admin, name);
    },
  };
}

/** A client with the interceptors every client has (clients/temporal.ts): trace and workspace travel. */
export async function temporalClient(): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }), interceptors: clientInterceptors() });
}

export interface TestWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/**
 * An in-process worker on the run's workflow bundle; `deps` adds activity dependencies (mailer,
 * providers…). It serves the shared dev server unless given another server's connection.
 */
export async function startTestWorker({ connection: given, ...opts }: { taskQueue: string; connection?: NativeConnection } & ActivityDeps): Promise<TestWorker> {
  const connection = given ?? (await NativeConnection.connect({ address: inject('temporalAddress') }));
  const worker = await createWorker({
    ...opts,
    pool: asAppRole(opts.pool),
    connection,
    namespace: 'default',
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
      opts.mailer?.close();
      if (!given) await connection.close();
    },
  };
}

/**
 * Temporal's time-skipping test server (`npm test` installs it into .tools/, see scripts/tools.ts),
 * for tests of long waits: while a test awaits a workflow's result, durable timers fire at once.
 */
export function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: temporalTestServerPath() } } });
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig([], {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

export async function testApp(opts: { pool: Pool; temporal: Client; config?: Record<string, string> }): Promise<App> {
  const app = await buildApp({ pool: asAppRole(opts.pool), temporal: opts.temporal, config: testConfig(opts.config) });
  await app.ready();
  return app;
}

export async function bearer(pool: Pool, scopes: Scope[], rateLimitPerMinute = 10_000, name = 'test-key') {
  const { key } = await createApiKey(pool, { name, scopes, rateLimitPerMinute });
  return { authorization: `Bearer ${key}` };
}

/**
 * Collects workflow ids whose histories feed test/replay.test.ts. With RECORD_HISTORIES=1 the
 * file's afterAll writes them to test/histories/ as the Temporal CLI exports them (the format the
 * UI downloads); otherwise it does nothing.
 */
export function historyRecorder() {
  const wanted: { file: string; workflowId: string }[] = [];
  return {
    record(file: string, workflowId: string) {
      wanted.push({ file, workflowId });
    },
    save() {
      if (!process.env.RECORD_HISTORIES) return;
      // Workflows that derive ids from their own (child workflow ids) replay under the same id.
      const index = new URL('../histories/workflow-ids.json', import.meta.url);
      const ids: Record<string, string> = existsSync(index) ? JSON.parse(readFileSync(index, 'utf8')) : {};
      for (const { file, workflowId } of wanted) {
        const show = spawnSync(temporalCliPath(), ['workflow', 'show', '-w', workflowId, '--address', inject('temporalAddress'), '-o', 'json'], { encoding: 'utf8' });
        if (show.status !== 0) throw new Error(`recording ${workflowId}: ${show.stderr}`);
        writeFileSync(new URL(`../histories/${file}`, import.meta.url), show.stdout);
        ids[file] = workflowId;
      }
      writeFileSync(index, `${JSON.stringify(ids, null, 2)}\n`);
    },
  };
}

/** Polls fn until it returns something truthy (and returns that), failing after timeoutMs naming what it waited for. */
export async function waitUntil<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
