// `npm run worker` with WORKER_METRICS_PORT exports the Temporal SDK's own metrics for Prometheus:
// the task-slot and schedule-to-start series ops/prometheus/alerts.yml alerts on, with values
// that move when the worker does work.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, uniqueId, waitUntil, type TestDatabase } from './support/harness';
import { freePort } from '../scripts/ports';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let app: App;
let worker: ChildProcess;
let port: number;
const taskQueue = uniqueId('worker-metrics');
let output = '';
let last: string | undefined;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  port = await freePort();
  worker = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    env: { ...process.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: taskQueue, WORKER_METRICS_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d) => (output += d));
  worker.stderr!.on('data', (d) => (output += d));
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const scrape = async () => {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  return res?.ok ? res.text() : undefined;
};
const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(name) && /[\s{]/.test(l[name.length] ?? ''));
const total = (text: string, name: string) => series(text, name).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

it('serves task slots and schedule-to-start latencies that count the work done', async () => {
  // polling starts once the workflow bundle is built
  const idle = await waitUntil(async () => {
    if (worker.exitCode !== null) throw new Error(`worker exited: ${output}`);
    const t = (last = await scrape());
    return t && series(t, 'temporal_worker_task_slots_available').length ? t : undefined;
  }, 90_000, `worker metrics on :${port}`).catch((err) => {
    throw new Error(`${(err as Error).message}; last scrape:\n${last}\nworker output:\n${output}`);
  });
  expect(series(idle, 'temporal_worker_task_slots_available').some((l) => l.includes(`task_queue="${taskQueue}"`) && l.includes('worker_type="ActivityWorker"'))).toBe(true);

  const headers = await bearer(db.pool, ['write']);
  const res = await app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers, payload: { source: 'apollo', batch_id: uniqueId('wm'), rows: [{ email: 'ada@example.com' }] } });
  expect(res.statusCode).toBe(200);

  const busy = await waitUntil(async () => {
    const t = await scrape();
    return t && series(t, 'temporal_activity_execution_latency_count').some((l) => l.includes('workflow_type="ingestBatchWorkflow"')) ? t : undefined;
  }, 30_000, "the ingest's activity in the execution latencies");
  expect(total(busy, 'temporal_workflow_task_schedule_to_start_latency_count')).toBeGreaterThanOrEqual(1);
  expect(series(busy, 'temporal_activity_schedule_to_start_latency_bucket').length).toBeGreaterThan(1);
  expect(total(busy, 'temporal_activity_schedule_to_start_latency_count')).toBeGreaterThan(total(idle, 'temporal_activity_schedule_to_start_latency_count'));
}, 150_000);
