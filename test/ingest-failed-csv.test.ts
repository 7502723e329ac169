// Issue 11, Imports: GET /api/ingest/:batchId/failed.csv, a batch's failed rows with their
// reasons as CSV (RFC 4180, formula cells defused), streamed in row order; 404 for an unknown batch.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let writer: Record<string, string>;
const taskQueue = uniqueId('failed-csv');

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
  writer = await bearer(db.pool, ['read', 'write'], 10_000, 'failed-csv-writer');
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

async function ingestAndPromote(batchId: string, rows: object[]) {
  const staged = await app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers: writer, payload: { source: 'csv-test', batch_id: batchId, rows } });
  expect(staged.statusCode, staged.body).toBe(200);
  const promoted = await app.inject({ method: 'POST', url: '/api/promote?wait=true', headers: writer, payload: { batch_id: batchId } });
  expect(promoted.statusCode, promoted.body).toBe(200);
  return promoted.json().counts;
}
const download = (batchId: string) => app.inject({ method: 'GET', url: `/api/ingest/${encodeURIComponent(batchId)}/failed.csv`, headers: writer });

describe('GET /api/ingest/:batchId/failed.csv', () => {
  it('lists the failed rows with their reasons, RFC 4180 quoted, formula cells prefixed with a quote', async () => {
    const batch = uniqueId('fail');
    const counts = await ingestAndPromote(batch, [
      { email: 'ok@example.com', first_name: 'Okay' },
      // fields other than the canonical ones are kept as sent (those are cleaned at staging)
      { email: 'not-an-email', formula: '=HYPERLINK("http://evil.example","x")', remark: 'Head, "Growth"\nand more' },
      { email: 'temp@mailinator.com', last_name: '+1+2', company_name: '@SUM(A1)', city: '-3' },
      { first_name: 'No', last_name: 'Email', note: { nested: true } },
    ]);
    expect(counts).toMatchObject({ promoted: 1, failed: 3 });

    const res = await download(batch);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="failed-rows-${batch}.csv"`);
    expect(res.body).toMatch(/\r\n$/);
    const records: string[][] = parse(res.body, { relax_quotes: false });
    const [header, ...rows] = records;
    // reasons first, the canonical fields in their order, then the others by name
    expect(header.slice(0, 2)).toEqual(['row_no', 'failure_reason']);
    expect(header.indexOf('email')).toBe(2);
    expect(header.indexOf('first_name')).toBeLessThan(header.indexOf('last_name'));
    expect(header.indexOf('company_name')).toBeLessThan(header.indexOf('note'));
    const byRow = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    expect(byRow.map((r) => [r.row_no, r.failure_reason, r.email])).toEqual([
      ['2', 'invalid_email_syntax', 'not-an-email'],
      ['3', 'disposable_domain', 'temp@mailinator.com'],
      ['4', 'missing_email', ''],
    ]);
    expect(byRow[0]).toMatchObject({ formula: `'=HYPERLINK("http://evil.example","x")`, remark: 'Head, "Growth"\nand more' });
    expect(byRow[1]).toMatchObject({ last_name: "'+1+2", company_name: "'@SUM(A1)", city: "'-3" });
    expect(byRow[2]).toMatchObject({ first_name: 'No', last_name: 'Email', note: '{"nested":true}' });
    // the quoting itself, as a spreadsheet reads it
    expect(res.body).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
  });

  it('streams a batch with more failed rows than one page, in row order', async () => {
    const batch = uniqueId('many');
    const n = 2_100;
    const counts = await ingestAndPromote(batch, Array.from({ length: n }, (_, i) => ({ email: `broken-${i}`, first_name: `Row ${i}` })));
    expect(counts).toMatchObject({ promoted: 0, failed: n });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${address}/api/ingest/${batch}/failed.csv`, { headers: writer });
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked'); // streamed, not sized up front
    const records: string[][] = parse(await res.text());
    const [, ...rows] = records;
    expect(rows).toHaveLength(n);
    expect(rows.map((r) => Number(r[0]))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it('answers the header alone when no row failed, and 404 for an unknown batch', async () => {
    const batch = uniqueId('clean');
    await ingestAndPromote(batch, [{ email: 'clean@example.com' }]);
    const clean = await download(batch);
    expect(clean.statusCode).toBe(200);
    expect(clean.body).toBe('row_no,failure_reason\r\n');
    const unknown = await download('no-such-batch');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toContain('no-such-batch');
  });
});
