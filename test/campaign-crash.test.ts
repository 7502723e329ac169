// A worker process SIGKILLed in the middle of a campaign and started again: every recipient gets
// every step exactly once, counted at the SMTP sink. Sends the dead worker left in doubt are
// settled by the provider's event log (with an indexing lag, as real logs have).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase } from './support/harness';
import { api, isolateCampaignIds, PUBLIC_BASE_URL, seedContacts, TRACKING_SECRET, waitUntil } from './support/campaign-fixtures';
import { startSmtpSink, type SmtpSink } from './fakes/smtp';
import type { App } from '../api/app';
import type { CampaignProgress } from '../contracts/campaign';

let db: TestDatabase;
let temporal: Client;
let app: App;
let sink: SmtpSink;
let http: ReturnType<typeof api>;
const taskQueue = uniqueId('crash');
const children: ChildProcess[] = [];
const EVENTS_KEY = 'key-crash-events';

/** `npm run worker` as its own process group, so SIGKILL reaches tsx's node process too. */
async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn('npx', ['tsx', 'worker/main.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: taskQueue,
      SMTP_URL: sink.url,
      TRACKING_SECRET,
      PUBLIC_BASE_URL,
      SEND_DOMAIN_RATE_PER_MINUTE: '1000000',
      EMAIL_EVENTS_URL: sink.eventsUrl('sender.example'),
      EMAIL_EVENTS_API_KEY: EVENTS_KEY,
      EMAIL_EVENTS_SETTLE_SECONDS: '1', // the fake log shows events 300 ms after acceptance
    },
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  await waitUntil(async () => output.includes('worker: polling') || child.exitCode !== null, 90_000, 'the worker to start');
  if (child.exitCode !== null) throw new Error(`worker exited: ${output}`);
  return child;
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
};

beforeAll(async () => {
  db = await testDatabase();
  await isolateCampaignIds(db.pool);
  temporal = await temporalClient();
  sink = await startSmtpSink({ acceptDelayMs: 2, keepRaw: false, eventsLog: { apiKey: EVENTS_KEY, lagMs: 300 } });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, TRACKING_SECRET, PUBLIC_BASE_URL, CAMPAIGN_BATCH_SIZE: '100' } });
  http = api(app, await bearer(db.pool, ['read', 'write'], 100_000, 'crash-test'));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) killGroup(child, 'SIGKILL');
  await app?.close();
  await sink?.close();
  await temporal?.connection.close();
  await db?.drop();
});

describe('exactly once across a worker crash', () => {
  // a generous bound: it spawns and kills worker processes, slow on a shared 2-core machine
  it('SIGKILL mid-send, restart: every recipient got each step exactly once at the sink, none skipped', { timeout: 240_000 }, async () => {
    const recipients = 400;
    const source = uniqueId('crash');
    await seedContacts(db.pool, source, Array.from({ length: recipients }, (_, i) => ({ email: `r${i}@crash.example` })));
    const [s1, s2] = await Promise.all([
      http.template({ subject: 'Step one', text_body: 'one' }),
      http.template({ subject: 'Step two', text_body: 'two' }),
    ]);
    const campaignId = await http.campaign({ criteria: { sources: [source] }, rate_per_minute: 1_000_000, steps: [{ template_id: s1 }, { template_id: s2 }] });

    const first = await startWorkerProcess();
    const workflowId = await http.start(campaignId);
    await waitUntil(async () => sink.messages.length >= 250, 60_000, 'sends to be under way');
    killGroup(first, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500)); // messages already on the wire land at the sink
    const atKill = sink.messages.length;
    // In doubt: claimed, not confirmed. Some of them the server had already accepted.
    const { rows: inDoubt } = await db.pool.query(`select message_id from marketing.outreach_history where campaign_id = $1 and status = 'sending'`, [campaignId]);
    const deliveredAtKill = new Set(sink.messages.map((m) => m.messageId));
    const acceptedInDoubt = inDoubt.filter((r) => deliveredAtKill.has(r.message_id)).length;

    const second = await startWorkerProcess();
    const final = (await temporal.workflow.getHandle(workflowId).result()) as CampaignProgress;
    // asked while a worker still polls: the query of a closed run is answered by replaying it
    const progress = await http.call('GET', `/api/campaigns/${campaignId}/progress`);
    killGroup(second, 'SIGTERM');

    const total = recipients * 2;
    expect(atKill).toBeLessThan(total); // the kill landed mid-campaign
    const rows = (await db.pool.query('select email, step_no, status, message_id, attempts from marketing.outreach_history where campaign_id = $1', [campaignId])).rows;
    expect(rows.filter((r) => r.status === 'sent')).toHaveLength(total);

    // At the sink: per recipient, exactly the two Message-IDs of its two rows; nothing missing.
    const seen = new Map<string, Set<string>>();
    for (const m of sink.messages) for (const rcpt of m.to) (seen.get(rcpt) ?? seen.set(rcpt, new Set()).get(rcpt)!).add(m.messageId!);
    for (const r of rows) expect(seen.get(r.email)?.has(r.message_id)).toBe(true);
    expect([...seen.values()].every((ids) => ids.size === 2)).toBe(true);
    expect(seen.size).toBe(recipients);

    // Raw deliveries: exactly one per recipient and step. The sends the server had accepted
    // before the kill were found in the event log and confirmed, not sent again.
    console.log(
      `crash test: ${atKill}/${total} delivered at SIGKILL, ${inDoubt.length} rows in doubt then, ${acceptedInDoubt} of them already accepted; ` +
        `after restart ${final.recovered} confirmed from the event log, ${final.resent} re-sent; ${sink.duplicates()} duplicate deliveries, ${sink.messages.length} deliveries in all`,
    );
    expect(final.recovered).toBe(acceptedInDoubt);
    expect(sink.duplicates()).toBe(0);
    expect(sink.messages.length).toBe(total);
    expect(final).toMatchObject({ phase: 'completed', remaining: 0 });
    expect(final.steps.map((s) => s.sent)).toEqual([recipients, recipients]);
    // The counters come from the ledger: the sends the killed attempt confirmed count too.
    expect(final).toMatchObject({ sent: total, failed: 0 });
    expect(progress.status).toBe(200);
    expect(progress.body.progress).toMatchObject({ sent: total, failed: 0, remaining: 0 });
    expect(progress.body.progress.steps.map((s: { sent: number }) => s.sent)).toEqual([recipients, recipients]);
  });
});
