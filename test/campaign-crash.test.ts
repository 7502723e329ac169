// A worker process SIGKILLed in the middle of a campaign and started again: every recipient gets
// every step, each under one Message-ID, counted at the SMTP sink.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase } from './support/harness';
import { api, isolateCampaignIds, PUBLIC_BASE_URL, seedContacts, TRACKING_SECRET, waitUntil } from './support/campaign-fixtures';
import { startSmtpSink, type SmtpSink } from './fakes/smtp';
import type { App } from '../api/app';
import type { CampaignProgress } from '../workflows/campaign';

let db: TestDatabase;
let temporal: Client;
let app: App;
let sink: SmtpSink;
let http: ReturnType<typeof api>;
const taskQueue = uniqueId('crash');
const children: ChildProcess[] = [];

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
    },
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
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
  sink = await startSmtpSink({ acceptDelayMs: 2, keepRaw: false });
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
  it('SIGKILL mid-send, restart: every recipient got each step exactly once (per Message-ID), none skipped', async () => {
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
    const atKill = sink.messages.length;
    const inFlight = await db.pool.query(`select count(*)::int as n from marketing.outreach_history where campaign_id = $1 and status = 'sending'`, [campaignId]);

    const second = await startWorkerProcess();
    const final = (await temporal.workflow.getHandle(workflowId).result()) as CampaignProgress;
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

    // Raw deliveries: a repeat is only possible for a message the server accepted in the moment
    // between its acceptance and our commit; such a repeat carries the same Message-ID.
    const duplicates = sink.duplicates();
    const resent = rows.filter((r) => r.attempts > 1).length;
    console.log(
      `crash test: ${atKill}/${total} delivered at SIGKILL, ${inFlight.rows[0].n} rows claimed then, ` +
        `${resent} re-sent after restart, ${duplicates} duplicate deliveries at the sink, ${sink.messages.length} deliveries in all`,
    );
    expect(duplicates).toBeLessThanOrEqual(resent);
    expect(sink.messages.length).toBe(total + duplicates);
    expect(final).toMatchObject({ phase: 'completed', remaining: 0 });
    expect(final.steps.map((s) => s.sent)).toEqual([recipients, recipients]);
  });
});
