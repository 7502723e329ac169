// A worker SIGKILLed mid-batch and restarted finishes ingest and promotion with exact counts:
// the chunk ledgers make every retried activity exactly-once.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase } from './support/harness';
import type { App } from '../api/app';

const root = fileURLToPath(new URL('..', import.meta.url));
const ROWS = 100_000;
const UNIQUE = 90_000; // rows past this repeat earlier emails: duplicates within the batch
const taskQueue = uniqueId('crash');

let db: TestDatabase;
let temporal: Client;
let app: App;
let headers: Record<string, string>;
const workers = new Set<ChildProcess>();

/** The production entry point (npm run worker) as a separate process we can kill. */
function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn', ENRICH_REFRESH_SCHEDULE: 'off' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.add(child);
  child.once('exit', () => workers.delete(child));
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const count = async (sql: string, params: unknown[] = []) => (await db.pool.query(sql, params)).rows[0].n as number;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, INGEST_CHUNK_SIZE: '2000', PROMOTE_CHUNK_SIZE: '2000' } });
  headers = await bearer(db.pool, ['read', 'write']);
});

afterAll(async () => {
  for (const child of workers) child.kill('SIGKILL');
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

it(`finishes a ${ROWS.toLocaleString()}-row ingest and its promotion with exact counts after SIGKILLs`, async () => {
  const batch = uniqueId('crash');
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    email: `person${i % UNIQUE}@example.com`,
    first_name: `First${i}`,
    title: 'Engineer',
    organization_name: `Company ${i % 1000}`,
  }));
  const started = await app.inject({ method: 'POST', url: '/api/ingest', headers, payload: { source: 'apollo', batch_id: batch, rows } });
  expect(started.statusCode).toBe(202);

  // Ingest: kill the worker once some, but not all, of the 50 chunks are committed.
  let worker = startWorkerProcess();
  const doneAtKill = await waitFor('a few ingest chunks', async () => {
    const n = await count('select count(*)::int as n from intake.ingest_chunks where batch_id = $1', [batch]);
    return n >= 5 && n;
  });
  // progress of the running workflow, as GET /api/ingest/:batchId shows it (the query needs a worker)
  const running = (await app.inject({ method: 'GET', url: `/api/ingest/${batch}`, headers })).json();
  expect(running.status).toBe('RUNNING');
  expect(running.progress).toMatchObject({ phase: 'staging', totalRows: ROWS, totalChunks: ROWS / 2000 });
  // chunks run one at a time: at most the latest committed chunk has not reached the workflow yet
  expect(running.progress.chunksDone).toBeGreaterThanOrEqual(doneAtKill - 1);
  await kill(worker);
  expect(doneAtKill).toBeLessThan(ROWS / 2000);
  const ingestHandle = temporal.workflow.getHandle(`ingest:${batch}`);
  expect((await ingestHandle.describe()).status.name).toBe('RUNNING');

  worker = startWorkerProcess();
  expect(await ingestHandle.result()).toEqual({ inserted: UNIQUE, skipped: ROWS - UNIQUE });
  expect(await count('select count(*)::int as n from intake.raw_loads where batch_id = $1', [batch])).toBe(ROWS);
  expect(await count('select count(distinct row_no)::int as n from intake.raw_loads where batch_id = $1', [batch])).toBe(ROWS);
  expect(await count(`select count(*)::int as n from intake.audit_log where action = 'contact_ingested'`)).toBe(UNIQUE);

  // Promotion: same again.
  const promoted = await app.inject({ method: 'POST', url: '/api/promote', headers, payload: { batch_id: batch } });
  expect(promoted.statusCode).toBe(202);
  const promoteHandle = temporal.workflow.getHandle(`promote:${batch}`);
  const runKey = (await promoteHandle.describe()).runId;
  await waitFor('a few promotion chunks', async () =>
    (await count('select count(*)::int as n from intake.promotion_chunks where run_key = $1', [runKey])) >= 5,
  );
  await kill(worker);
  expect((await promoteHandle.describe()).status.name).toBe('RUNNING');

  worker = startWorkerProcess();
  expect(await promoteHandle.result()).toEqual({ promoted: UNIQUE, updated: 0, failed: 0 });
  expect(await count('select count(*)::int as n from vault.contacts')).toBe(UNIQUE);
  expect(await count(`select count(*)::int as n from intake.raw_loads where batch_id = $1 and status = 'promoted'`, [batch])).toBe(UNIQUE);
  expect(await count(`select count(*)::int as n from intake.audit_log where action = 'contact_promoted'`)).toBe(UNIQUE);
  await kill(worker);
}, 600_000); // an upper bound for a loaded machine; it takes 1–4 minutes
