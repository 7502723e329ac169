// npm run chaos [-- --rows 200000 --recipients 5000 --trials 1 --seed N]
// The fault harness: a stack of separate processes (embedded Postgres, a Temporal dev server on a
// db file, an SMTP sink with the provider's event log, a worker, the API), an ingest + promotion
// of --rows rows and a campaign to --recipients recipients per trial, while each of the worker,
// the API, Temporal and Postgres is SIGKILLed once per trial at a random point of the work
// (seeded, printed) and started again after a random delay. Reports per trial what was lost,
// duplicated or stuck and how long the system took to move again; exits 1 when a goal fails.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startChaosStack, type ChaosStack } from './chaos/stack';
import { describePoint, killPlan, seededRandom } from './chaos/plan';
import { runTrial, type TrialResult } from './chaos/trial';
import { goalFailures, printReport } from './chaos/report';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    recipients: { type: 'string', default: '5000' },
    trials: { type: 'string', default: '1' },
    seed: { type: 'string' },
    // rows per POST /api/ingest (default: rows / 20, within 500–10,000) and per ingest/promotion chunk
    batch: { type: 'string' },
    chunk: { type: 'string' },
    // each killed part stays down a random time in this range (seconds)
    'down-min': { type: 'string', default: '1' },
    'down-max': { type: 'string', default: '5' },
    // the campaign's throttle is set so that it sends for about this long, so kills can land in
    // it (default: recipients / 10 s, within 10–60 s)
    'campaign-seconds': { type: 'string' },
    // goals and patience (seconds)
    'recovery-goal': { type: 'string', default: '10' },
    stall: { type: 'string', default: '180' },
  },
});
const rows = Number(values.rows);
const recipients = Number(values.recipients);
const trials = Number(values.trials);
const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
const batchSize = Number(values.batch ?? Math.min(10_000, Math.max(500, Math.ceil(rows / 20))));
const chunkSize = Number(values.chunk ?? Math.min(5000, batchSize));
const recoveryGoalMs = Number(values['recovery-goal']) * 1000;
for (const [name, n] of Object.entries({ rows, recipients, trials, seed, batchSize, chunkSize })) {
  if (!Number.isInteger(n) || n < (name === 'seed' ? 0 : 1)) throw new Error(`--${name} must be a positive integer (got ${n})`);
}

Runtime.install({ logger: new DefaultLogger('ERROR') }); // the harness's own client: its reconnect warnings are expected here
const root = fileURLToPath(new URL('..', import.meta.url));
const logDir = path.join(root, '.data', 'chaos', new Date().toISOString().replace(/[:.]/g, '-'));
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

console.log(`chaos: seed ${seed} (--seed ${seed} repeats this run's kill plan); ${trials} trial(s) of ${rows.toLocaleString()} rows ` +
  `(${batchSize.toLocaleString()} per request, ${chunkSize.toLocaleString()} per chunk) + a campaign to ${recipients.toLocaleString()} recipients; ` +
  `logs in ${logDir}; load average ${load()}`);

let stack: ChaosStack | undefined;
const stop = async (code: number) => {
  await stack?.close();
  process.exit(code);
};
process.once('SIGINT', () => void stop(130));
process.once('SIGTERM', () => void stop(143));

try {
  const startedAt = Date.now();
  stack = await startChaosStack({ chunkSize, campaignBatchSize: 1000, logDir });
  console.log(`stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: Postgres, Temporal (db file), SMTP sink + event log, worker, API at ${stack.baseUrl}`);
  const random = seededRandom(seed);
  const results: TrialResult[] = [];
  const campaignSeconds = Number(values['campaign-seconds'] ?? Math.min(60, Math.max(10, recipients / 10)));
  const campaignRatePerMinute = Math.max(60, Math.ceil((recipients / campaignSeconds) * 60));
  for (let trial = 1; trial <= trials; trial++) {
    const plan = killPlan(random, { downMinMs: Number(values['down-min']) * 1000, downMaxMs: Number(values['down-max']) * 1000 });
    console.log(`trial ${trial}: ${plan.map((k) => `${k.part} at ${describePoint(k.at)}, down ${(k.downMs / 1000).toFixed(1)} s`).join('; ')}`);
    const result = await runTrial(stack, { trial, rows, recipients, batchSize }, plan, {
      stallMs: Number(values.stall) * 1000,
      recoveryLimitMs: 120_000,
      campaignRatePerMinute,
    });
    results.push(result);
    const failures = goalFailures(result, recoveryGoalMs);
    console.log(`trial ${trial}: ${result.seconds.toFixed(0)} s, ${failures.length ? `FAILED: ${failures.join('; ')}` : 'all goals met'} (load average ${load()})`);
  }
  printReport(results, recoveryGoalMs);
  const failed = results.filter((r) => goalFailures(r, recoveryGoalMs).length);
  console.log(`\n${failed.length ? `FAILED: ${failed.length} of ${results.length} trial(s) missed a goal` : 'all goals met'} ` +
    `(0 lost, 0 duplicated, 0 stuck, no crash, no 5xx but 503, recovery ≤ ${recoveryGoalMs / 1000} s); seed ${seed}`);
  process.exitCode = failed.length ? 1 : 0;
} catch (err) {
  console.error('chaos failed:', err);
  process.exitCode = 1;
} finally {
  await stack?.close();
}
