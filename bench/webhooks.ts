// npm run bench:webhooks — outbound webhook deliveries/s through the whole path (events emitted
// in one transaction → LISTEN wake-up → dispatcher → one delivery workflow per event → signed
// POST → delivered) against a bare loop of the same signed POSTs to the same local receiver at the
// same concurrency (the worker's 8 activity slots), in the same run. Also the latency from the
// emitting commit to the receiver, and duplicates at the receiver (must be 0 here: no crashes).
// BENCH_EVENTS (default 500), BENCH_ROUNDS (default 2). DATABASE_URL, else a throwaway Postgres.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { createDatabase, dropDatabase, throwawayPostgres } from '../scripts/postgres';
import { startTemporalDevServer } from '../scripts/temporal-server';
import { freePort } from '../scripts/ports';
import { createWorker, workflowsPath, workflowInterceptorModules } from '../worker/worker';
import { startWebhookDispatch } from '../worker/webhook-dispatch';
import { destinationPolicy, postWebhook } from '../clients/webhook-http';
import { signatureHeader } from '../common/webhook-signature';

Runtime.install({ logger: new DefaultLogger('WARN') });
const n = Number(process.env.BENCH_EVENTS ?? 500);
const roundsWanted = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCY = 8; // the worker's activity slots (worker/worker.ts)
const policy = destinationPolicy({ production: false, allowPrivate: true });

// the receiver: first arrival per idempotency key, and repeats
const firstSeen = new Map<string, number>();
let repeats = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const key = String(req.headers['idempotency-key']);
    if (firstSeen.has(key)) repeats++;
    else firstSeen.set(key, performance.now());
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

const pg = await throwawayPostgres('barton-bench-webhooks-');
const dbName = `barton_bench_webhooks_${process.pid}`;
const pool = createPool(await createDatabase(pg.adminUrl, dbName), { max: 10 });
const temporal = await startTemporalDevServer({ port: await freePort() });
const percentile = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const reset = () => {
  firstSeen.clear();
  repeats = 0;
};
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
};

try {
  await migrate(pool);
  const secret = 'whsec_bench';
  await pool.query(`insert into ops.webhook_subscriptions (url, event_types, secret) values ($1, '{conversion.recorded}', $2)`, [url, secret]);
  const bundle = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} } });
  const connection = await NativeConnection.connect({ address: temporal.address });
  const taskQueue = 'bench-webhooks';
  const worker = await createWorker({ connection, namespace: 'default', taskQueue, pool, webhooks: { policy }, workflowBundle: { code: bundle.code } });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const stopDispatch = startWebhookDispatch({
    client, pool, taskQueue, log: console.error,
    input: { retry: { initialIntervalMs: 1000, maximumIntervalMs: 10_000, maximumAttempts: 5 }, batchSize: 200 },
  });

  /** 1. Bare: the same signed bodies POSTed by the same client, CONCURRENCY at a time. */
  const runBare = async (round: number) => {
    reset();
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) {
        const body = JSON.stringify({ id: `bare-${round}-${i}`, type: 'conversion.recorded', created_at: new Date().toISOString(), data: { conversion_id: i } });
        await postWebhook(url, body, { 'barton-signature': signatureHeader(secret, body, Math.floor(Date.now() / 1000)), 'idempotency-key': `bare-${round}-${i}` }, { policy });
      }
    }));
    return { seconds: (performance.now() - started) / 1000 };
  };

  /** 2. The whole path: n events in one transaction, until every one has reached the receiver. */
  const runFlow = async (round: number) => {
    reset();
    const started = performance.now();
    await pool.query(`select ops.f_emit_events('conversion.recorded', (select jsonb_agg(jsonb_build_object('conversion_id', i, 'round', $2::int)) from generate_series(1, $1) as i))`, [n, round]);
    const committed = performance.now();
    await until(() => firstSeen.size >= n);
    const seconds = (performance.now() - started) / 1000;
    const latencies = [...firstSeen.values()].map((t) => t - committed);
    return { seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), repeats };
  };

  const rounds: { bare: { seconds: number }; flow: Awaited<ReturnType<typeof runFlow>> }[] = [];
  for (let round = 0; round < roundsWanted; round++) {
    if (round % 2 === 0) {
      const bare = await runBare(round);
      rounds.push({ bare, flow: await runFlow(round) });
    } else {
      const flow = await runFlow(round);
      rounds.push({ bare: await runBare(round), flow });
    }
  }
  await stopDispatch();
  await client.workflow.getHandle(`webhook-dispatch:${taskQueue}`).terminate('bench over').catch(() => undefined);
  worker.shutdown();
  await running;
  await client.connection.close();
  await connection.close();

  console.log(`events per run: ${n}, concurrency: ${CONCURRENCY}, rounds: ${roundsWanted}\n`);
  console.log('| round | bare signed POSTs | webhook workflows | ratio | commit → receiver p50 / p99 | repeats at receiver |');
  console.log('|---|---|---|---|---|---|');
  for (const [i, { bare, flow }] of rounds.entries()) {
    console.log(
      `| ${i + 1} | ${(n / bare.seconds).toFixed(0)}/s | ${(n / flow.seconds).toFixed(0)}/s | ${((bare.seconds / flow.seconds) * 100).toFixed(1)}% | ` +
        `${flow.p50.toFixed(0)} / ${flow.p99.toFixed(0)} ms | ${flow.repeats} |`,
    );
    if (flow.repeats) process.exitCode = 1;
  }
} finally {
  await pool.end().catch(() => undefined);
  await dropDatabase(pg.adminUrl, dbName).catch(() => undefined);
  await temporal.stop();
  await pg.stop();
  server.close();
}
