// A Postgres connection lost mid-transaction (backend terminated, server restarting) fails that
// transaction only: the API answers 503 with Retry-After and nothing stored, a worker's activity
// is retried by Temporal, neither process crashes, and both serve again at once. A client that
// dies mid-query stops holding its locks within seconds.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isConnectionError, withTransaction } from '../db/pool';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, waitUntil, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let writer: Record<string, string>;
const taskQueue = uniqueId('outage');

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, INGEST_CHUNK_SIZE: '2' } });
  writer = await bearer(db.pool, ['read', 'write']);
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});


/** Holds `lock table <table>` in a transaction of its own until release(); returns that connection. */
async function lockTable(table: string): Promise<{ release(): Promise<void> }> {
  const client = await db.pool.connect();
  await client.query('begin');
  await client.query(`lock table ${table} in access exclusive mode`);
  return {
    async release() {
      await client.query('rollback');
      client.release();
    },
  };
}

/** The backend of this database that waits on a lock (someone else's query blocked by lockTable). */
const blockedBackend = () =>
  waitUntil(async () => {
    const { rows } = await db.pool.query(
      `select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
    );
    return rows[0]?.pid as number | undefined;
  }, 30_000, 'a backend blocked on the lock');

const terminate = (pid: number) => db.pool.query('select pg_terminate_backend($1)', [pid]);

it('API: a backend terminated during a staging insert answers 503 with Retry-After, stores nothing, and the next request works', async () => {
  const batch = uniqueId('outage-api');
  const lock = await lockTable('intake.batches');
  const pending = app.inject({ method: 'POST', url: '/api/ingest', headers: writer, payload: { source: 'crm', batch_id: batch, rows: [{ email: 'a@outage.example' }] } });
  await terminate(await blockedBackend());
  await lock.release();
  const res = await pending;
  expect(res.statusCode).toBe(503);
  expect(res.headers['retry-after']).toBe('5');
  expect(res.json()).toMatchObject({ error: 'Service Unavailable' });
  expect((await db.pool.query('select count(*)::int as n from intake.batches where batch_id = $1', [batch])).rows[0].n).toBe(0);

  // the same process serves the same request again, with no restart
  const again = await app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers: writer, payload: { source: 'crm', batch_id: batch, rows: [{ email: 'a@outage.example' }] } });
  expect(again.statusCode).toBe(200);
  expect(again.json()).toMatchObject({ counts: { inserted: 1, skipped: 0 } });
});

it('worker: a backend terminated mid-chunk fails that attempt only; the retry finishes with exact counts', async () => {
  const batch = uniqueId('outage-worker');
  const rows = Array.from({ length: 6 }, (_, i) => ({ email: `w${i}@outage.example` }));
  const lock = await lockTable('intake.ingest_chunks');
  const accepted = await app.inject({ method: 'POST', url: '/api/ingest', headers: writer, payload: { source: 'crm', batch_id: batch, rows } });
  expect(accepted.statusCode).toBe(202);
  await terminate(await blockedBackend());
  await lock.release();
  const result = await temporal.workflow.getHandle(accepted.json().workflow_id).result();
  expect(result).toMatchObject({ inserted: 6, skipped: 0 });
  expect((await db.pool.query('select count(*)::int as n from intake.raw_loads where batch_id = $1', [batch])).rows[0].n).toBe(6);
});

it('a connection dropped between statements of a transaction fails that transaction, not the process', async () => {
  const err = await withTransaction(db.pool, async (client) => {
    const { rows } = await client.query('select pg_backend_pid() as pid');
    await terminate(rows[0].pid);
    await new Promise((r) => setTimeout(r, 300)); // the socket closes while no query is pending
    await client.query('select 1');
  }).catch((e: unknown) => e);
  expect(isConnectionError(err)).toBe(true);
  // the broken client was discarded: the pool's next transaction works
  expect(await withTransaction(db.pool, async (client) => (await client.query('select 2 as n')).rows[0].n)).toBe(2);
});

it('a client killed mid-query stops holding its locks within seconds', async () => {
  const script = fileURLToPath(new URL('./fixtures/hold-lock.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  // killed while its query runs (an idle client's death is noticed at once anyway)
  await waitUntil(async () => {
    const { rows } = await db.pool.query(`select 1 from pg_stat_activity where datname = current_database() and state = 'active' and query like 'select pg_sleep%'`);
    return rows.length > 0;
  }, 30_000, 'the lock holder\'s long query');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await waitUntil(async () => {
    const { rows } = await db.pool.query('select pg_try_advisory_lock(4242) as ok');
    return rows[0].ok as boolean;
  }, 20_000, 'the dead client\'s lock to be released');
  await db.pool.query('select pg_advisory_unlock_all()');
  const releasedAfterMs = Date.now() - killedAt;
  console.log(`dead client's lock released after ${releasedAfterMs} ms`);
  expect(releasedAfterMs).toBeLessThan(5_000); // its query had two minutes to run
});
