// One connected OpenTelemetry trace for an ingest: the API request span → the Temporal client's
// workflow start → the workflow run → its activities → their pg queries, one trace id and an
// unbroken parent chain, exported to an in-memory exporter (no collector needed).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, temporalClientInterceptors, type Tracing } from '../clients/telemetry';
import { bearer, startTestWorker, testApp, testDatabase, uniqueId, waitUntil, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
const taskQueue = uniqueId('tracing');

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'barton-test', exporter })!;
  db = await testDatabase();
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }), interceptors: temporalClientInterceptors() });
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
  await tracing?.shutdown();
});

const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

it('follows an ingest from the request through the workflow and its activities to pg, in one trace', async () => {
  const headers = await bearer(db.pool, ['write']);
  exporter.reset();
  const batch = uniqueId('t');
  const res = await app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers, payload: { source: 'apollo', batch_id: batch, rows: [{ email: 'ada@example.com' }, { email: 'grace@example.com' }] } });
  expect(res.statusCode).toBe(200);

  // workflow spans leave through the worker's sink after their activation: wait for the run's span
  const spans = await waitUntil(async () => {
    await tracing.flush();
    const all = exporter.getFinishedSpans();
    return all.some((s) => s.name === 'RunWorkflow:ingestBatchWorkflow') && all.some((s) => s.name === 'RunActivity:ingestChunk') ? all : undefined;
  }, 20_000, 'the workflow and activity spans');

  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const one = (name: string) => {
    const found = spans.filter((s) => s.name === name);
    expect(found.map((s) => s.name), `one ${name} span among ${[...new Set(spans.map((s) => s.name))].join(', ')}`).toEqual([name]);
    return found[0];
  };
  const request = spans.find((s) => s.attributes['http.route'] === '/api/ingest' || s.name.includes('/api/ingest') || s.name === 'request');
  expect(request, `a request span among ${[...new Set(spans.map((s) => s.name))].join(', ')}`).toBeDefined();
  const start = one('StartWorkflow:ingestBatchWorkflow');
  const run = one('RunWorkflow:ingestBatchWorkflow');
  const activityRun = one('RunActivity:ingestChunk');
  const pgSpan = spans.find((s) => parentId(s) === activityRun.spanContext().spanId && s.name.startsWith('pg'));
  expect(pgSpan, 'a pg query span under the activity').toBeDefined();

  // every span of the chain carries the request's trace id
  const traceId = request!.spanContext().traceId;
  for (const s of [start, run, activityRun, pgSpan!]) expect(s.spanContext().traceId).toBe(traceId);

  // and walking up from the pg query passes the activity, the workflow run and the start, to the request
  const chain: string[] = [];
  for (let s: ReadableSpan | undefined = pgSpan; s; s = parentId(s) ? byId.get(parentId(s)!) : undefined) chain.push(s.spanContext().spanId);
  const at = (s: ReadableSpan) => chain.indexOf(s.spanContext().spanId);
  expect(at(activityRun)).toBeGreaterThan(0);
  expect(at(run)).toBeGreaterThan(at(activityRun));
  expect(at(start)).toBeGreaterThan(at(run));
  expect(at(request!)).toBeGreaterThan(at(start));
  // the request's own queries (staging the batch) are in the trace too
  expect(spans.some((s) => s.name.startsWith('pg') && s.spanContext().traceId === traceId && chain.indexOf(s.spanContext().spanId) === -1)).toBe(true);
});
