// One streamed CSV upload through the real HTTP API with RSS sampled while it runs (shared by the
// memory bench and the streaming test).
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from '../db/pool';
import { apolloCsvStream } from '../test/fixtures/apollo-export';

export interface UploadMeasurement {
  status: number;
  bytes: number;
  rows: number;
  stagedRows: number;
  ms: number;
  rssBefore: number;
  rssPeak: number;
  /** V8 heap and buffers at the RSS peak: where the memory was. */
  atPeak: NodeJS.MemoryUsage;
  /** Memory actually held (heap + buffers right after a forced GC): before, and its peak while staging. */
  liveBefore: number;
  livePeak: number;
}

// RSS also counts garbage V8 has not collected yet; a forced GC shows what the upload holds.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const liveMemory = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

export async function measureCsvUpload(
  target: { baseUrl: string; headers: Record<string, string>; pool: Pool; temporal: Client },
  bytes: number,
): Promise<UploadMeasurement> {
  const batchId = `csv-mem-${randomUUID().slice(0, 8)}`;
  const source = apolloCsvStream(bytes);
  let sent = 0;
  source.on('data', (chunk: Buffer | string) => (sent += Buffer.byteLength(chunk)));
  const liveBefore = liveMemory();
  let livePeak = liveBefore;
  const liveSampler = setInterval(() => (livePeak = Math.max(livePeak, liveMemory())), 500);
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  let atPeak = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > rssPeak) [rssPeak, atPeak] = [m.rss, m];
  }, 25);
  const started = performance.now();
  const url = new URL(`/api/ingest?source=apollo&format=apollo_csv&batch_id=${batchId}`, target.baseUrl);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { authorization: target.headers.authorization, 'content-type': 'text/csv' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    source.pipe(req);
  });
  const ms = performance.now() - started;
  clearInterval(sampler);
  clearInterval(liveSampler);
  const end = process.memoryUsage();
  if (end.rss > rssPeak) [rssPeak, atPeak] = [end.rss, end];
  // only staging is measured: stop the ingest workflow the upload started
  await target.temporal.workflow.getHandle(`ingest:${batchId}`).terminate('memory measurement only').catch((err) => {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  });
  const { rows } = await target.pool.query('select row_count from intake.batches where batch_id = $1', [batchId]);
  await target.pool.query('delete from intake.batches where batch_id = $1', [batchId]);
  return { status, bytes: sent, rows: source.rows(), stagedRows: rows[0]?.row_count ?? 0, ms, rssBefore, rssPeak, atPeak, liveBefore, livePeak };
}
