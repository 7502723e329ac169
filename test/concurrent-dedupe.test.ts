// Two batches of one source ingested at the same time, sharing emails: every repeat is a
// duplicate, whichever batch's chunk commits first (intake.f_stage_rows classifies same-source
// chunks one after another).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let writer: Record<string, string>;
const taskQueue = uniqueId('dedupe');

const CHUNK = 3;
const SHARED = 40; // emails both batches carry, at the same row numbers
const OWN = 14; // emails only one batch carries
const SHARED_NO_EMAIL = 2; // identical payloads without an email (deduplicated by hash)

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, INGEST_CHUNK_SIZE: String(CHUNK), CHUNKS_PER_RUN: '100' } });
  writer = await bearer(db.pool, ['read', 'write'], 10_000, 'dedupe-test-writer');
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

function rowsOf(batch: 'a' | 'b') {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < SHARED; i++) rows.push({ email: `shared${i}@example.com`, first_name: `Shared${i}` });
  for (let i = 0; i < SHARED_NO_EMAIL; i++) rows.push({ linkedin_url: `https://www.linkedin.com/in/shared-no-email-${i}` });
  for (let i = 0; i < OWN; i++) rows.push({ email: `${batch}-own${i}@example.com`, first_name: `Own${i}` });
  return rows;
}

/**
 * Widens the race a real load produces now and then: while the batches run, hold a SHARE lock on
 * the chunk ledger in pulses, each until two chunk transactions wait on a lock (or 1 s). A chunk
 * waits there after staging its rows and before committing, so without serialization both
 * batches' chunks classify without seeing each other's rows; with it, the second waits before
 * classifying and sees the first's rows once that commits.
 */
async function pulseLedgerLock(done: () => boolean): Promise<number> {
  const client = await db.pool.connect();
  let pulses = 0;
  try {
    while (!done()) {
      await client.query('begin');
      await client.query('lock table intake.ingest_chunks in share mode');
      const until = Date.now() + 1000;
      for (;;) {
        const { rows } = await client.query(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
        );
        if (rows[0].n >= 2 || Date.now() > until || done()) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await client.query('commit');
      pulses += 1;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    client.release();
  }
  return pulses;
}

it('marks every cross-batch repeat of a source as duplicate when two batches run at once', async () => {
  const batches = [uniqueId('conc-a'), uniqueId('conc-b')];
  const posted = await Promise.all(
    (['a', 'b'] as const).map((which, i) =>
      app.inject({ method: 'POST', url: '/api/ingest', headers: writer, payload: { source: 'apollo', batch_id: batches[i], rows: rowsOf(which) } }),
    ),
  );
  for (const res of posted) expect(res.statusCode).toBe(202);

  let finished = false;
  const pulsing = pulseLedgerLock(() => finished);
  const results = await Promise.all(batches.map((b) => temporal.workflow.getHandle(`ingest:${b}`).result())).finally(() => {
    finished = true;
  });
  expect(await pulsing).toBeGreaterThan(0);

  const perBatch = SHARED + SHARED_NO_EMAIL + OWN;
  expect(Math.ceil(perBatch / CHUNK)).toBeGreaterThanOrEqual(15); // many chunks each, interleaved

  const { rows } = await db.pool.query(
    `select coalesce(email, row_hash) as identity, status, batch_id from intake.raw_loads where batch_id = any($1)`,
    [batches],
  );
  expect(rows).toHaveLength(2 * perBatch);
  const shared = rows.filter((r) => r.identity.startsWith('shared') || !r.identity.includes('@'));
  const own = rows.filter((r) => !shared.includes(r));
  // each shared identity: one pending row (whichever batch came first) and one duplicate
  const sharedTotal = SHARED + SHARED_NO_EMAIL;
  expect(shared.filter((r) => r.status === 'duplicate')).toHaveLength(sharedTotal);
  expect(new Set(shared.filter((r) => r.status === 'pending').map((r) => r.identity)).size).toBe(sharedTotal);
  expect(own.every((r) => r.status === 'pending')).toBe(true);

  // the workflows' counts and the audit agree with the rows: only pending rows are audited
  expect(results.reduce((n, r) => n + r.skipped, 0)).toBe(sharedTotal);
  expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(sharedTotal + 2 * OWN);
  const audit = await db.pool.query(
    `select count(*)::int as n,
            count(*) filter (where l.status = 'pending')::int as pending
       from intake.audit_log a
       join intake.raw_loads l on l.load_id = a.entity_id::bigint
      where a.action = 'contact_ingested' and a.after->>'batch_id' = any($1)`,
    [batches],
  );
  expect(audit.rows[0]).toEqual({ n: sharedTotal + 2 * OWN, pending: sharedTotal + 2 * OWN });
});
