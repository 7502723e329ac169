// The seed's "Data Ingestion Flow" through the real API, a real Temporal server and real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, historyRecorder, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';
import type { MxResolver } from '../clients/mx';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let writer: Record<string, string>;
const taskQueue = uniqueId('ingest');

// MX answers for the promotion checks: a definite "no MX" rejects, a DNS failure never does.
const mx: MxResolver = {
  async check(domain) {
    if (domain === 'no-mail.example') return 'no_mx';
    if (domain === 'dns-down.example') return 'unknown';
    return 'has_mx';
  },
};

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue, mx });
  // small chunks and runs, so the tests cross chunk and continue-as-new boundaries
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, INGEST_CHUNK_SIZE: '3', PROMOTE_CHUNK_SIZE: '2', CHUNKS_PER_RUN: '2' } });
  writer = await bearer(db.pool, ['read', 'write'], 10_000, 'ingest-test-writer');
});

// RECORD_HISTORIES=1 npx vitest run test/ingest-promote.test.ts refreshes test/histories/ from
// real runs of this file; test/replay.test.ts replays them against the current workflow code.
const histories = historyRecorder();

afterAll(async () => {
  histories.save();
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

const ingest = (body: unknown, wait = true) =>
  app.inject({ method: 'POST', url: `/api/ingest${wait ? '?wait=true' : ''}`, headers: writer, payload: body as object });
const promote = (body: unknown) => app.inject({ method: 'POST', url: '/api/promote?wait=true', headers: writer, payload: body as object });

describe('ingest', () => {
  it('stages rows, skipping duplicates within the batch, and reports the seed counts', async () => {
    const batch = uniqueId('b');
    const res = await ingest({
      source: 'apollo',
      batch_id: batch,
      rows: [
        { email: 'Ada@Example.com', first_name: 'Ada', last_name: 'Lovelace', title: 'CTO', organization_name: 'Engines' },
        { email: ' ada@example.com ' }, // same person, other case and spaces: a duplicate
        { email: 'grace@example.com', name: 'Grace Hopper' },
        { email: 'alan@example.com', name: 'Alan Turing', apollo_extra: { kept: true } },
        { email: 'grace@example.com', name: 'Grace again' },
        { linkedin_url: 'https://www.linkedin.com/in/no-email' },
        { email: 'edsger@example.com', first_name: 'Edsger' },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, batch_id: batch, workflow_id: `ingest:${batch}`, existing: false, counts: { inserted: 5, skipped: 2 } });
    histories.record('ingest-continued-as-new.json', `ingest:${batch}`);
    // 7 rows in chunks of 3 with 2 chunks per run: the last run continued from an earlier one
    const latest = await temporal.workflow.getHandle(`ingest:${batch}`).fetchHistory();
    expect(latest.events?.[0].workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();

    const { rows } = await db.pool.query(
      `select row_no, email, status, raw from intake.raw_loads where batch_id = $1 order by row_no`,
      [batch],
    );
    expect(rows.map((r) => [r.row_no, r.email, r.status])).toEqual([
      [1, 'ada@example.com', 'pending'],
      [2, 'ada@example.com', 'duplicate'],
      [3, 'grace@example.com', 'pending'],
      [4, 'alan@example.com', 'pending'],
      [5, 'grace@example.com', 'duplicate'],
      [6, null, 'pending'],
      [7, 'edsger@example.com', 'pending'],
    ]);
    expect(rows[3].raw.apollo_extra).toEqual({ kept: true }); // unknown fields stay in the raw payload
    const audit = await db.pool.query(
      `select count(*)::int as n, min(actor) as actor from intake.audit_log where action = 'contact_ingested' and after->>'batch_id' = $1`,
      [batch],
    );
    expect(audit.rows[0]).toEqual({ n: 5, actor: 'ingest-test-writer' });
    // the staged copy is gone once the rows are in raw_loads
    expect((await db.pool.query('select count(*)::int as n from intake.batch_rows where batch_id = $1', [batch])).rows[0].n).toBe(0);

    const status = await app.inject({ method: 'GET', url: `/api/ingest/${batch}`, headers: writer });
    expect(status.json()).toMatchObject({ status: 'COMPLETED', row_count: 7, counts: { pending: 5, duplicate: 2, promoted: 0, failed: 0 } });
  });

  it('skips emails the same source sent within the last 30 days, but not older ones or other sources', async () => {
    const old = uniqueId('old');
    const recent = uniqueId('recent');
    await ingest({ source: 'manual', batch_id: old, rows: [{ email: 'old@example.com' }, { email: 'recent@example.com' }] });
    await db.pool.query(`update intake.raw_loads set created_at = now() - interval '31 days' where batch_id = $1 and email = 'old@example.com'`, [old]);
    await db.pool.query(`update intake.raw_loads set created_at = now() - interval '29 days' where batch_id = $1 and email = 'recent@example.com'`, [old]);

    const res = await ingest({ source: 'manual', batch_id: recent, rows: [{ email: 'OLD@example.com' }, { email: 'recent@example.com' }] });
    expect(res.json().counts).toEqual({ inserted: 1, skipped: 1 });
    const { rows } = await db.pool.query(`select email, status from intake.raw_loads where batch_id = $1 order by row_no`, [recent]);
    expect(rows).toEqual([
      { email: 'old@example.com', status: 'pending' },
      { email: 'recent@example.com', status: 'duplicate' },
    ]);

    // another source bringing the same person is news for the golden record, not a duplicate
    const other = uniqueId('other-source');
    const fromApify = await ingest({ source: 'apify', batch_id: other, rows: [{ email: 'recent@example.com', title: 'CTO' }] });
    expect(fromApify.json().counts).toEqual({ inserted: 1, skipped: 0 });
  });

  it('never ingests a re-posted batch_id twice', async () => {
    const batch = uniqueId('again');
    const first = await ingest({ source: 'apollo', batch_id: batch, rows: [{ email: 'once@example.com' }, { email: 'twice@example.com' }] });
    expect(first.json()).toMatchObject({ existing: false, counts: { inserted: 2, skipped: 0 } });

    const again = await ingest({ source: 'apollo', batch_id: batch, rows: [{ email: 'other@example.com' }] });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ existing: true, workflow_id: `ingest:${batch}`, counts: { inserted: 2, skipped: 0 } });
    const noWait = await ingest({ source: 'apollo', batch_id: batch, rows: [{ email: 'other@example.com' }] }, false);
    expect(noWait.statusCode).toBe(202);
    expect(noWait.json()).toMatchObject({ existing: true, status: 'COMPLETED' });

    const { rows } = await db.pool.query(`select count(*)::int as n from intake.raw_loads where batch_id = $1`, [batch]);
    expect(rows[0].n).toBe(2);
    expect((await db.pool.query(`select count(*)::int as n from intake.raw_loads where email = 'other@example.com'`)).rows[0].n).toBe(0);
  });

  it('rejects bad rows with 400 naming row and field, and stores nothing', async () => {
    const before = (await db.pool.query('select (select count(*) from intake.batches) + (select count(*) from intake.raw_loads) as n')).rows[0].n;
    const batch = uniqueId('bad');
    const res = await ingest({
      source: 'apollo',
      batch_id: batch,
      rows: [{ email: 'fine@example.com' }, { email: 42 }, { title: 'no identity' }, { email: 'x@example.com', first_name: 'y'.repeat(201) }],
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toBe('Bad Request');
    expect(body.requestId).toBeTruthy();
    expect(body.details.issues.map((i: { field: string }) => i.field)).toEqual(['rows[1].email', 'rows[2].email', 'rows[3].first_name']);
    expect(body.message).toContain('rows[1].email');

    // a large upload with many bad rows gets a capped list and the total
    const many = await ingest({ source: 'apollo', batch_id: batch, rows: Array.from({ length: 500 }, () => ({ email: 7 })) });
    expect(many.statusCode).toBe(400);
    expect(many.json().details.issues).toHaveLength(50);
    expect(many.json().details.total).toBe(500);

    const missing = await ingest({ source: 'apollo', rows: [{ email: 'a@example.com' }] });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().details.issues[0].field).toBe('batch_id');

    const after = (await db.pool.query('select (select count(*) from intake.batches) + (select count(*) from intake.raw_loads) as n')).rows[0].n;
    expect(after).toBe(before);
    const status = await app.inject({ method: 'GET', url: `/api/ingest/${batch}`, headers: writer });
    expect(status.statusCode).toBe(404);
  });
});

describe('promote', () => {
  it('promotes valid contacts, updates known ones, fails invalid emails with a reason', async () => {
    const first = uniqueId('p1');
    await ingest({
      source: 'apollo',
      batch_id: first,
      rows: [
        { email: 'lin@example.com', first_name: 'Lin', title: 'VP Sales' },
        { email: 'not-an-email' },
        { email: 'temp@mailinator.com', name: 'Throwaway' },
        { email: 'someone@no-mail.example' },
        { email: 'someone@dns-down.example', name: 'DNS flaky' },
        { name: 'Nameless, no email' },
      ],
    });
    const res = await promote({ batch_id: first });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, workflow_id: `promote:${first}`, counts: { promoted: 2, updated: 0, failed: 4 } });
    histories.record('promote-continued-as-new.json', `promote:${first}`);

    const { rows: failed } = await db.pool.query(
      `select email, failure_reason from intake.raw_loads where batch_id = $1 and status = 'failed' order by row_no`,
      [first],
    );
    expect(failed).toEqual([
      { email: 'not-an-email', failure_reason: 'invalid_email_syntax' },
      { email: 'temp@mailinator.com', failure_reason: 'disposable_domain' },
      { email: 'someone@no-mail.example', failure_reason: 'no_mx_record' },
      { email: null, failure_reason: 'missing_email' },
    ]);

    // A second source brings the same person: an update that merges, never a second contact.
    const second = uniqueId('p2');
    await db.pool.query(`update intake.raw_loads set created_at = now() - interval '40 days' where batch_id = $1`, [first]);
    await db.pool.query(`update vault.contacts set status = 'unsubscribed' where email = 'lin@example.com'`);
    await ingest({ source: 'apify', batch_id: second, rows: [{ email: 'LIN@example.com', last_name: 'Chen', linkedin_url: 'https://linkedin.com/in/lin' }] });
    const again = await promote({ batch_id: second });
    expect(again.json().counts).toEqual({ promoted: 0, updated: 1, failed: 0 });

    const { rows: [lin] } = await db.pool.query(`select * from vault.contacts where email = 'lin@example.com'`);
    expect(lin).toMatchObject({ first_name: 'Lin', last_name: 'Chen', title: 'VP Sales', linkedin_url: 'https://www.linkedin.com/in/lin' /* canonicalized at staging */, status: 'unsubscribed', version: 2 });
    expect(lin.score).toBe(40 + 15 + 15 + 10 + 15); // email, name, title, LinkedIn, company (its domain, from the email); no phone
    const audit = await db.pool.query(`select actor, after from intake.audit_log where action = 'contact_promoted' and entity_id = $1 order by audit_id`, [String(lin.contact_id)]);
    expect(audit.rows.map((r) => [r.actor, r.after.created])).toEqual([['ingest-test-writer', true], ['ingest-test-writer', false]]);
  });

  it('returns the finished run when a batch is promoted again', async () => {
    const batch = uniqueId('p3');
    await ingest({ source: 'manual', batch_id: batch, rows: [{ email: 'repeat@example.com' }] });
    const first = await promote({ batch_id: batch });
    const second = await promote({ batch_id: batch });
    expect(second.json()).toMatchObject({ existing: true, counts: first.json().counts });
    expect((await db.pool.query(`select count(*)::int as n from vault.contacts where email = 'repeat@example.com'`)).rows[0].n).toBe(1);
  });

  it('chains promotion after ingest, and promotes all pending loads when no scope is given', async () => {
    const chained = uniqueId('chain');
    const res = await ingest({ source: 'manual', batch_id: chained, promote: true, rows: [{ email: 'chain1@example.com' }, { email: 'chain2@example.com' }] });
    expect(res.json()).toMatchObject({ counts: { inserted: 2, skipped: 0 }, promotion: { promoted: 2, updated: 0, failed: 0 } });
    histories.record('ingest-with-promotion.json', `ingest:${chained}`);
    // `promote` in the query, as CSV uploads take it, works for a JSON body too
    const viaQuery = await app.inject({
      method: 'POST', url: '/api/ingest?wait=true&promote=true', headers: writer,
      payload: { source: 'manual', batch_id: uniqueId('chain-q'), rows: [{ email: 'chain3@example.com' }] },
    });
    expect(viaQuery.json()).toMatchObject({ counts: { inserted: 1 }, promotion: { promoted: 1 } });
    histories.record('promote-child.json', `promote:${chained}`);

    const all = await promote({});
    expect(all.json().workflow_id).toBe('promote:pending');
    const left = await db.pool.query(`select count(*)::int as n from intake.raw_loads where status = 'pending'`);
    expect(left.rows[0].n).toBe(0);
    const byIds = await promote({ load_ids: [1, 2] });
    expect(byIds.json().counts).toEqual({ promoted: 0, updated: 0, failed: 0 }); // nothing left pending
  });

  it('rejects a promote request naming both scopes', async () => {
    const res = await promote({ batch_id: 'x', load_ids: [1] });
    expect(res.statusCode).toBe(400);
    expect(res.json().details.issues[0].field).toBe('load_ids');
  });
});

describe('workflow status', () => {
  it('reports type, status, result and the Temporal UI link; 404 for an unknown id', async () => {
    const batch = uniqueId('wf');
    await ingest({ source: 'manual', batch_id: batch, rows: [{ email: 'wf@example.com' }] });
    const res = await app.inject({ method: 'GET', url: `/api/workflows/ingest:${batch}`, headers: writer });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ workflow_id: `ingest:${batch}`, type: 'ingestBatchWorkflow', status: 'COMPLETED', result: { inserted: 1, skipped: 0 }, task_queue: taskQueue });
    expect(body.ui_url).toBe(`http://localhost:8233/namespaces/default/workflows/ingest%3A${batch}/${body.run_id}/history`);
    expect(body.close_time).not.toBeNull();

    const missing = await app.inject({ method: 'GET', url: '/api/workflows/ingest:never', headers: writer });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toContain('ingest:never');
  });

  it('finds ingest runs by their search attributes', async () => {
    const batch = uniqueId('sa');
    await ingest({ source: 'apify', batch_id: batch, rows: [{ email: 'sa@example.com' }] });
    let ids: string[] = [];
    for (let i = 0; i < 40 && ids.length === 0; i++) {
      ids = [];
      for await (const wf of temporal.workflow.list({ query: `BatchId = '${batch}' AND Source = 'apify'` })) ids.push(wf.workflowId);
      if (!ids.length) await new Promise((r) => setTimeout(r, 250)); // visibility is eventually consistent
    }
    expect(ids).toEqual([`ingest:${batch}`]);
  });
});
