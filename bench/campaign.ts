// npm run bench:campaign — messages/s to a local SMTP sink through the whole campaign workflow
// (snapshot, throttle buckets, claim → SMTP → confirm per message, Temporal) against a bare pooled
// nodemailer loop sending the same messages to the same sink in the same run. Duplicates are
// counted at the sink (Message-ID per recipient) and must be 0.
// Needs DATABASE_URL (a Postgres server; a scratch database is created and dropped).
// BENCH_MESSAGES (default 10000), SMTP_POOL_CONNECTIONS (default 5).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { createDatabase, dropDatabase, withDatabase } from '../scripts/postgres';
import { startTemporalDevServer } from '../scripts/temporal-server';
import { freePort } from '../scripts/ports';
import { createWorker, workflowsPath } from '../worker/worker';
import { createMailer } from '../clients/mailer';
import { campaignWorkflow, type CampaignProgress } from '../workflows/campaign';
import { compileTemplate, renderTemplate } from '../common/templates';
import { signTrackingToken } from '../common/tracking-tokens';

Runtime.install({ logger: new DefaultLogger('WARN') });
const n = Number(process.env.BENCH_MESSAGES ?? 10_000);
const connections = Number(process.env.SMTP_POOL_CONNECTIONS ?? 5);
if (!process.env.DATABASE_URL) {
  console.error('bench:campaign needs DATABASE_URL (any database on the Postgres server to use)');
  process.exit(1);
}

const sinkProcess = fork(fileURLToPath(new URL('./smtp-sink-process.ts', import.meta.url)), { execArgv: ['--import', 'tsx'] });
const ask = <T>(msg: string) => new Promise<T>((resolve) => { sinkProcess.once('message', (m) => resolve(m as T)); sinkProcess.send(msg); });
const { url: smtpUrl } = await new Promise<{ url: string }>((resolve) => sinkProcess.once('message', (m) => resolve(m as { url: string })));

const admin = withDatabase(process.env.DATABASE_URL, 'postgres');
const dbName = `barton_bench_${process.pid}`;
const pool = createPool(await createDatabase(admin, dbName), { max: 10 });
const temporal = await startTemporalDevServer({ port: await freePort() });
const cleanup = async () => {
  await pool.end().catch(() => undefined);
  await dropDatabase(admin, dbName).catch(() => undefined);
  await temporal.stop();
  sinkProcess.send('stop');
};

try {
  await migrate(pool);
  const subject = 'Quick question, {{ contact.first_name }}';
  const text = 'Hi {{ contact.first_name }},\n\nhow is {{ contact.company_name }} handling outreach?\n\nUnsubscribe: {{ unsubscribe_url }}';
  const source = 'bench';
  await pool.query(
    `insert into vault.contacts (email, first_name, title, company_name, source)
     select 'r' || i || '@bench.example', 'Person' || i, 'Buyer', 'Company ' || i, $1 from generate_series(1, $2) as i`,
    [source, n],
  );
  await pool.query('analyze vault.contacts'); // as autovacuum would after a bulk load

  // 1. Bare pooled nodemailer loop: the same rendered message shape, no database, no Temporal.
  const mailer = createMailer(smtpUrl, { maxConnections: connections });
  const template = compileTemplate({ subject, text_body: text });
  const bareStart = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const token = signTrackingToken('bench-secret-0123456789', { purpose: 'unsubscribe', outreachId: i });
      const r = renderTemplate(template, { contact: { first_name: `Person${i}`, company_name: `Company ${i}` }, campaign: { id: 0, name: 'bare' }, unsubscribe_url: `https://t.example/u/${token}` });
      return mailer.send({
        from: 'sales@sender.example', to: `r${i}@bench.example`, subject: r.subject, text: r.text, messageId: `<bare.${i}@sender.example>`,
        headers: { 'List-Unsubscribe': `<https://t.example/u/${token}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      });
    }),
  );
  const bareSeconds = (performance.now() - bareStart) / 1000;
  const bare = await ask<{ count: number; duplicates: number }>('stats');
  sinkProcess.send('reset');

  // 2. The whole campaign workflow on a real Temporal dev server and a worker in this process.
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} } });
  const connection = await NativeConnection.connect({ address: temporal.address });
  const taskQueue = 'bench-campaign';
  const worker = await createWorker({
    connection, namespace: 'default', taskQueue, pool, mailer,
    campaign: { trackingSecret: 'bench-secret-0123456789', publicBaseUrl: 'https://t.example', domainRatePerMinute: 100_000_000 },
    workflowBundle: { code: bundle.code },
  });
  const running = worker.run();
  const { rows: [t] } = await pool.query(`insert into marketing.templates (name, subject, text_body) values ('bench', $1, $2) returning template_id`, [subject, text]);
  const { rows: [c] } = await pool.query(
    `insert into marketing.campaigns (name, from_email, criteria, rate_per_minute) values ('bench', 'sales@sender.example', $1, 1000000000) returning campaign_id`,
    [{ sources: [source] }],
  );
  await pool.query('insert into marketing.campaign_steps (campaign_id, step_no, template_id) values ($1, 1, $2)', [c.campaign_id, t.template_id]);
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const flowStart = performance.now();
  const progress: CampaignProgress = await client.workflow.execute(campaignWorkflow, {
    taskQueue, workflowId: `campaign:${c.campaign_id}`, args: [{ campaignId: c.campaign_id, batchSize: 5000, batchesPerRun: 100 }],
  });
  const flowSeconds = (performance.now() - flowStart) / 1000;
  const flow = await ask<{ count: number; duplicates: number }>('stats');
  worker.shutdown();
  await running;
  mailer.close();
  await client.connection.close();
  await connection.close();

  const bareRate = n / bareSeconds;
  const flowRate = n / flowSeconds;
  console.log(`messages: ${n}, SMTP pool connections: ${connections}`);
  console.log(`bare nodemailer loop:    ${bareRate.toFixed(0)} msg/s (${bareSeconds.toFixed(2)} s, ${bare.count} received, ${bare.duplicates} duplicates)`);
  console.log(`campaign workflow:       ${flowRate.toFixed(0)} msg/s (${flowSeconds.toFixed(2)} s, ${flow.count} received, ${flow.duplicates} duplicates, ${progress.batches} batches, ${progress.runs} runs)`);
  console.log(`ratio workflow / bare:   ${(flowRate / bareRate * 100).toFixed(1)}%  (goal >= 80%)`);
  if (flow.duplicates !== 0 || flow.count !== n) {
    console.error(`FAILED: expected ${n} messages and 0 duplicates`);
    process.exitCode = 1;
  }
} finally {
  await cleanup();
}
