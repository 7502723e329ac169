// npm run bench:campaign — messages/s to a local SMTP sink through the whole campaign workflow
// (snapshot, throttle buckets, claim → SMTP → confirm per message, Temporal) against a bare pooled
// nodemailer loop sending the same messages to the same sink in the same run. Duplicates are
// counted at the sink (Message-ID per recipient) and must be 0.
// Needs DATABASE_URL (a Postgres server; a scratch database is created and dropped).
// BENCH_MESSAGES (default 10000), BENCH_ROUNDS (default 3), SMTP_POOL_CONNECTIONS (default 5),
// SEND_CONFIRM_GROUP_MS (default 100, as the worker's), BENCH_SINK_CPU (below). Prints the CPU each
// program spent per message.
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createPool } from '../db/pool';
import { LOCAL_APP_ROLE, urlForRole } from '../db/app-role';
import { migrate } from '../db/migrate';
import { createDatabase, dropDatabase, withDatabase } from '../scripts/postgres';
import { startTemporalDevServer } from '../scripts/temporal-server';
import { freePort } from '../scripts/ports';
import { createWorker, workflowsPath, workflowInterceptorModules } from '../worker/worker';
import { createMailer } from '../clients/mailer';
import type { campaignWorkflow } from '../workflows/campaign';
import type { CampaignProgress } from '../contracts/campaign';
import { workflowTypes } from '../contracts/ids';
import { compileTemplate, renderTemplate } from '../common/templates';
import { signTrackingToken } from '../common/tracking-tokens';
import { cpuByProgram, cpuSpent } from './cpu-by-program';

Runtime.install({ logger: new DefaultLogger('WARN') });
const n = Number(process.env.BENCH_MESSAGES ?? 10_000);
const connections = Number(process.env.SMTP_POOL_CONNECTIONS ?? 5);
const roundsWanted = Number(process.env.BENCH_ROUNDS ?? 3);
interface Run { seconds: number; count: number; duplicates: number; cpu: [string, number][] }
if (!process.env.DATABASE_URL) {
  console.error('bench:campaign needs DATABASE_URL (any database on the Postgres server to use)');
  process.exit(1);
}

const sinkProcess = fork(fileURLToPath(new URL('./smtp-sink-process.ts', import.meta.url)), { execArgv: ['--import', 'tsx'] });
// BENCH_SINK_CPU=1 (Linux, run under `taskset -c 0`): the sink gets core 1 to itself, so the two
// sides do not share the sink's core (Postgres, outside this process tree, is not pinned)
if (process.env.BENCH_SINK_CPU) execFileSync('taskset', ['-pc', process.env.BENCH_SINK_CPU, String(sinkProcess.pid)], { stdio: 'ignore' });
const ask = <T>(msg: string) => new Promise<T>((resolve) => { sinkProcess.once('message', (m) => resolve(m as T)); sinkProcess.send(msg); });
const { url: smtpUrl } = await new Promise<{ url: string }>((resolve) => sinkProcess.once('message', (m) => resolve(m as { url: string })));

// the two node processes told apart in the CPU figures
const programs: Record<number, string> = { [process.pid]: 'bench process (loop or worker)', [sinkProcess.pid!]: 'smtp sink' };
const admin = withDatabase(process.env.DATABASE_URL, 'postgres');
const dbName = `barton_bench_${process.pid}`;
const dbUrl = await createDatabase(admin, dbName);
const pool = createPool(dbUrl, { max: 10 }); // the bench's fixtures and counters: the owner
const appPool = createPool(urlForRole(dbUrl, LOCAL_APP_ROLE), { max: 10 }); // the worker's, as under npm start
const temporal = await startTemporalDevServer({ port: await freePort() });
const cleanup = async () => {
  await Promise.all([pool.end(), appPool.end()]).catch(() => undefined);
  await dropDatabase(admin, dbName).catch(() => undefined);
  await temporal.stop();
  sinkProcess.send('stop');
};

try {
  await migrate(pool, () => undefined, { appRole: LOCAL_APP_ROLE });
  const subject = 'Quick question, {{ contact.first_name }}';
  const text = 'Hi {{ contact.first_name }},\n\nhow is {{ contact.company_name }} handling outreach?\n\nUnsubscribe: {{ unsubscribe_url }}';
  const source = 'bench';
  await pool.query(
    `insert into vault.contacts (email, first_name, title, company_name, source)
     select 'r' || i || '@bench.example', 'Person' || i, 'Buyer', 'Company ' || i, $1 from generate_series(1, $2) as i`,
    [source, n],
  );
  await pool.query('analyze vault.contacts'); // as autovacuum would after a bulk load
  const mailer = createMailer(smtpUrl, { maxConnections: connections });
  const template = compileTemplate({ subject, text_body: text });

  /** 1. Bare pooled nodemailer loop: the same rendered message shape, no database, no Temporal. */
  const runBare = async (round: number): Promise<Run> => {
    sinkProcess.send('reset');
    const cpuBefore = cpuByProgram(programs);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const token = signTrackingToken('bench-secret-0123456789', { purpose: 'unsubscribe', outreachId: i });
        const r = renderTemplate(template, { contact: { first_name: `Person${i}`, company_name: `Company ${i}` }, campaign: { id: 0, name: 'bare' }, unsubscribe_url: `https://t.example/u/${token}` });
        return mailer.send({
          from: 'sales@sender.example', to: `r${i}@bench.example`, subject: r.subject, text: r.text, messageId: `<bare.${round}.${i}@sender.example>`,
          headers: { 'List-Unsubscribe': `<https://t.example/u/${token}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        });
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSpent(cpuBefore, cpuByProgram(programs));
    return { seconds, cpu, ...(await ask<{ count: number; duplicates: number }>('stats')) };
  };

  // 2. The whole campaign workflow on a real Temporal dev server and a worker in this process.
  const bundle = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} } });
  const connection = await NativeConnection.connect({ address: temporal.address });
  const taskQueue = 'bench-campaign';
  const worker = await createWorker({
    connection, namespace: 'default', taskQueue, pool: appPool, mailer,
    campaign: {
      trackingSecret: 'bench-secret-0123456789', publicBaseUrl: 'https://t.example', domainRatePerMinute: 100_000_000,
      // unset: the worker's default; 0 confirms at once
      confirmGroupMs: process.env.SEND_CONFIRM_GROUP_MS ? Number(process.env.SEND_CONFIRM_GROUP_MS) : undefined,
    },
    workflowBundle: { code: bundle.code },
  });
  const running = worker.run();
  const { rows: [t] } = await pool.query(`insert into marketing.templates (name, subject, text_body) values ('bench', $1, $2) returning template_id`, [subject, text]);
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });

  /** Transactions committed in the bench database so far (Postgres' statistics, which lag by up to their flush interval). */
  const commits = async () => {
    await pool.query('select pg_stat_clear_snapshot()');
    const { rows: [r] } = await pool.query('select xact_commit::bigint as n from pg_stat_database where datname = current_database()');
    return Number(r.n);
  };
  const runFlow = async (): Promise<Run & { batches: number; runs: number; events: number; transactions: number }> => {
    sinkProcess.send('reset');
    const { rows: [c] } = await pool.query(
      `insert into marketing.campaigns (name, from_email, criteria, rate_per_minute) values ('bench', 'sales@sender.example', $1, 1000000000) returning campaign_id`,
      [{ sources: [source] }],
    );
    await pool.query('insert into marketing.campaign_steps (campaign_id, step_no, template_id) values ($1, 1, $2)', [c.campaign_id, t.template_id]);
    const workflowId = `campaign:${c.campaign_id}`;
    const commitsBefore = await commits();
    const cpuBefore = cpuByProgram(programs);
    const started = performance.now();
    const progress: CampaignProgress = await client.workflow.execute<typeof campaignWorkflow>(workflowTypes.campaign, {
      taskQueue, workflowId, args: [{ campaignId: c.campaign_id, batchSize: 5000, batchesPerRun: 100 }],
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSpent(cpuBefore, cpuByProgram(programs));
    const transactions = (await commits()) - commitsBefore;
    // history events over every run of the chain (continue-as-new keeps each run bounded)
    let events = 0;
    for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      events += (await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events?.length ?? 0;
    }
    return { seconds, cpu, ...(await ask<{ count: number; duplicates: number }>('stats')), batches: progress.batches, runs: progress.runs, events, transactions };
  };

  // Rounds alternate which side goes first, so a burst of load from elsewhere on the machine
  // does not always land on the same side; the ratio is taken per round.
  const rounds: { bare: Run; flow: Awaited<ReturnType<typeof runFlow>> }[] = [];
  for (let round = 0; round < roundsWanted; round++) {
    if (round % 2 === 0) {
      const bare = await runBare(round);
      rounds.push({ bare, flow: await runFlow() });
    } else {
      const flow = await runFlow();
      rounds.push({ bare: await runBare(round), flow });
    }
  }
  worker.shutdown();
  await running;
  mailer.close();
  await client.connection.close();
  await connection.close();

  console.log(`messages per run: ${n}, SMTP pool connections: ${connections}, rounds: ${roundsWanted}\n`);
  console.log('| round | bare nodemailer loop | campaign workflow | ratio | duplicates | batches / runs / history events |');
  console.log('|---|---|---|---|---|---|');
  const ratios: number[] = [];
  for (const [i, { bare, flow }] of rounds.entries()) {
    const ratio = bare.seconds / flow.seconds;
    ratios.push(ratio);
    console.log(
      `| ${i + 1} | ${(n / bare.seconds).toFixed(0)} msg/s | ${(n / flow.seconds).toFixed(0)} msg/s | ${(ratio * 100).toFixed(1)}% | ` +
        `${flow.duplicates} (bare ${bare.duplicates}) | ${flow.batches} / ${flow.runs} / ${flow.events} |`,
    );
    if (flow.duplicates !== 0 || flow.count !== n) {
      console.error(`FAILED: round ${i + 1} expected ${n} messages and 0 duplicates, got ${flow.count} and ${flow.duplicates}`);
      process.exitCode = 1;
    }
  }
  // where the CPU went, per message: the bench process holds the bare loop or the worker (and the
  // client); the sink is its own node process; Postgres and the Temporal server are theirs
  const perMessage = (cpu: [string, number][]) => cpu.map(([name, s]) => `${name} ${((s / n) * 1e6).toFixed(0)} µs`).join(', ');
  const total = (cpu: [string, number][]) => ((cpu.reduce((t, [, s]) => t + s, 0) / n) * 1e6).toFixed(0);
  console.log('\nCPU per message, by program (all processes on this machine, /proc):');
  for (const [i, { bare, flow }] of rounds.entries()) {
    console.log(`  round ${i + 1}: bare ${total(bare.cpu)} µs (${perMessage(bare.cpu)}); workflow ${total(flow.cpu)} µs (${perMessage(flow.cpu)}); ` +
      `${(flow.transactions / n).toFixed(2)} Postgres transactions per message`);
  }
  const sorted = ratios.slice().sort((a, b) => a - b);
  const median = (sorted[Math.floor((sorted.length - 1) / 2)] + sorted[Math.ceil((sorted.length - 1) / 2)]) / 2;
  console.log(`\nmedian ratio workflow / bare: ${(median * 100).toFixed(1)}%  (goal >= 80%)`);
} finally {
  await cleanup();
}
