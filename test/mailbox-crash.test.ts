// A worker process SIGKILLed while its mailbox reader is part-way through 400 replies in a real
// Dovecot, then started again: every reply is recorded exactly once (ledger, events, audit,
// response counts), none lost, none doubled.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { temporalClient, testDatabase, uniqueId, waitUntil, type TestDatabase } from './support/harness';
import { seedContacts } from './support/campaign-fixtures';
import { startDovecot, type Dovecot } from './support/dovecot';
import { humanReply } from './fixtures/inbound-mail';
import { workflowIds } from '../contracts/ids';
import { mailboxProgressQuery } from '../contracts/mailbox';

const SALES = 'sales@sender.example';
const REPLIES = 400;
let db: TestDatabase;
let temporal: Client;
let dovecot: Dovecot;
const taskQueue = uniqueId('mailbox-crash');
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
      IMAP_URL: dovecot.url(SALES),
      IMAP_BATCH_SIZE: '25',
      IMAP_POLL_SECONDS: '1',
      ENRICH_REFRESH_SCHEDULE: 'off',
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
  temporal = await temporalClient();
  dovecot = await startDovecot([{ user: SALES, password: 'crash-secret' }]);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) killGroup(child, 'SIGKILL');
  await temporal?.workflow.getHandle(workflowIds.mailbox(taskQueue, SALES)).terminate('test over').catch(() => undefined);
  await temporal?.connection.close();
  await dovecot?.stop();
  await db?.drop();
});

const count = async (sql: string, params: unknown[] = []) => (await db.pool.query(`select count(*)::int as n from ${sql}`, params)).rows[0].n as number;

describe('exactly once across a worker crash mid-read', () => {
  it('SIGKILL while replies are being read, restart: each of 400 replies recorded once, none lost', { timeout: 240_000 }, async () => {
    // 400 sends of ours (the send path is tested elsewhere), each answered by its recipient
    const source = uniqueId('crash');
    await seedContacts(db.pool, source, Array.from({ length: REPLIES }, (_, i) => ({ email: `r${i}@recipient.example` })));
    const { rows: [{ campaign_id: campaignId }] } = await db.pool.query(
      `insert into marketing.campaigns (name, from_email, status) values ('crash', $1, 'completed') returning campaign_id`, [SALES]);
    await db.pool.query(
      `insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status, sent_at)
       select $1, contact_id, 1, email, 'sent', now() - interval '1 hour' from vault.contacts where source = $2`, [campaignId, source]);
    const { rows: sends } = await db.pool.query(
      `update marketing.outreach_history set message_id = '<oh.' || outreach_id || '.' || md5(outreach_id::text) || '@sender.example>'
        where campaign_id = $1 returning email, message_id`, [campaignId]);
    const uids = await dovecot.deliver(SALES, sends.map((s) => humanReply({ from: s.email, to: SALES, inReplyTo: s.message_id })));
    expect(uids).toHaveLength(REPLIES);

    const first = await startWorkerProcess();
    await waitUntil(async () => (await count('marketing.mailbox_messages')) >= 60, 60_000, 'replies to be under way');
    killGroup(first, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500)); // the dead backend's transaction is rolled back
    const atKill = await count('marketing.mailbox_messages');
    const { rows: [{ t: killedAt }] } = await db.pool.query('select max(recorded_at) as t from marketing.mailbox_messages');

    const started = Date.now();
    const second = await startWorkerProcess();
    const handle = temporal.workflow.getHandle(workflowIds.mailbox(taskQueue, SALES));
    await waitUntil(async () => {
      const p = await handle.query(mailboxProgressQuery).catch(() => undefined);
      return p?.phase === 'waiting' && p.lastUid === uids.at(-1);
    }, 120_000, 'every reply to be read');
    const seconds = (Date.now() - started) / 1000;
    killGroup(second, 'SIGTERM');

    expect(atKill).toBeLessThan(REPLIES); // the kill landed mid-read
    const ledger = await db.pool.query(`select outcome, count(*)::int as n, count(distinct uid)::int as uids from marketing.mailbox_messages group by outcome`);
    expect(ledger.rows).toEqual([{ outcome: 'reply', n: REPLIES, uids: REPLIES }]);
    expect(await count(`marketing.engagement_events where kind = 'reply'`)).toBe(REPLIES);
    expect(await count(`(select distinct outreach_id from marketing.engagement_events where kind = 'reply') x`)).toBe(REPLIES);
    expect(await count(`intake.audit_log where action = 'reply_received'`)).toBe(REPLIES);
    expect(await count(`marketing.outreach_history where campaign_id = $1 and replied_at is not null`, [campaignId])).toBe(REPLIES);
    const { rows: [campaign] } = await db.pool.query('select response_count from marketing.campaigns where campaign_id = $1', [campaignId]);
    expect(campaign.response_count).toBe(REPLIES);
    const { rows: [rate] } = await db.pool.query(
      `select count(*)::int as n, extract(epoch from max(recorded_at) - min(recorded_at))::float8 as s from marketing.mailbox_messages where recorded_at > $1`, [killedAt]);
    console.log(`mailbox crash test: ${atKill}/${REPLIES} replies recorded at SIGKILL; after restart all ${REPLIES} read once ` +
      `(${seconds.toFixed(1)} s from restart: worker start, heartbeat timeout, reading); the restarted reader recorded ` +
      `${rate.n} in ${rate.s.toFixed(2)} s (${Math.round(rate.n / rate.s)} replies/s, batches of 25); 0 doubled, 0 lost`);
  });
});
