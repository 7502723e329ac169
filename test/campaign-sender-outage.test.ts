// The send activity losing a database connection mid-batch (Postgres restarting, a backend
// terminated) fails that attempt, for Temporal to retry, and never the worker process: found by
// npm run chaos, where a chunk's failed query went unhandled while the send loop awaited its
// next claim and the worker exited. The retry then sends every message exactly once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { testDatabase, uniqueId, waitUntil, type TestDatabase } from './support/harness';
import { isolateCampaignIds, seedContacts, TRACKING_SECRET } from './support/campaign-fixtures';
import { startSmtpSink, type SmtpSink } from './fakes/smtp';
import { createMailer, type Mailer } from '../clients/mailer';
import { createCampaignActivities } from '../activities/campaign';
import type { CampaignBatchResult } from '../contracts/campaign';
import { isConnectionError } from '../db/pool';

let db: TestDatabase;
let sink: SmtpSink;
let mailer: Mailer;

beforeAll(async () => {
  db = await testDatabase();
  await isolateCampaignIds(db.pool);
  sink = await startSmtpSink({ keepRaw: false });
  mailer = createMailer(sink.url, { maxConnections: 2 });
});

afterAll(async () => {
  mailer?.close();
  await sink?.close();
  await db?.drop();
});

it('a chunk whose connection is terminated while the loop waits on its next claim fails the attempt, not the process; the retry sends each message once', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const locker = await db.pool.connect();
  try {
    // more than one claim's worth (500): the loop claims again while the first chunk is in flight
    const recipients = Array.from({ length: 600 }, (_, i) => `r${i}@outage.example`);
    const source = uniqueId('outage');
    await seedContacts(db.pool, source, recipients.map((email) => ({ email })));
    const { rows: [t] } = await db.pool.query(`insert into marketing.templates (name, subject, text_body) values ('t', 'Hi {{ contact.first_name }}', 'x') returning template_id`);
    const { rows: [c] } = await db.pool.query(
      `insert into marketing.campaigns (name, from_email, criteria, rate_per_minute) values ('outage', 'sales@sender.example', $1, 1000000) returning campaign_id`,
      [{ sources: [source] }],
    );
    await db.pool.query('insert into marketing.campaign_steps (campaign_id, step_no, template_id) values ($1, 1, $2)', [c.campaign_id, t.template_id]);
    // Right before the first chunk reads its message details, vault.contacts is locked: that read
    // waits, and so does the loop's next claim (it checks contact status), until the lock goes.
    // The loop's second claim is held back until the lock is taken, or it could run (and finish)
    // before the lock and leave nothing for the terminated chunk to race against.
    let lockFirst = true;
    let claims = 0;
    let lockTaken!: () => void;
    const locked = new Promise<void>((resolve) => (lockTaken = resolve));
    const pool = new Proxy(db.pool, {
      get(target, prop) {
        if (prop === 'query') {
          return async (text: unknown, params?: unknown[]) => {
            if (lockFirst && typeof text === 'string' && text.includes('join vault.contacts c')) {
              lockFirst = false;
              await locker.query('begin');
              await locker.query('lock table vault.contacts in access exclusive mode');
              lockTaken();
            }
            if (typeof text === 'string' && text.includes('f_claim_sends') && ++claims === 2) await locked;
            return target.query(text as string, params);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const activities = createCampaignActivities({ pool, mailer, campaign: { trackingSecret: TRACKING_SECRET, publicBaseUrl: 'https://t.example', domainRatePerMinute: 1_000_000 } });
    await new MockActivityEnvironment().run(activities.startCampaignRun, { campaignId: c.campaign_id, workflowId: `campaign:${c.campaign_id}` });
    const input = { campaignId: c.campaign_id, claimToken: `campaign:${c.campaign_id}/run-1`, limit: 1000, maxMs: 30_000 };

    const first = new MockActivityEnvironment({ activityId: '1', attempt: 1 }).run(activities.sendCampaignBatch, input);
    const outcome = first.then(() => 'completed', (err: unknown) => err);
    const waiting = (like: string) =>
      db.pool.query(
        `select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid() and query like $1`,
        [like],
      ).then((r) => r.rows[0]?.pid as number | undefined);
    const detailsPid = await waitUntil(() => waiting('%join vault.contacts c%'), 30_000, "the first chunk's message details to wait");
    await waitUntil(() => waiting('%f_claim_sends%'), 30_000, 'the second claim to wait');
    // the chunk's connection goes away while the loop is still waiting on its claim
    await db.pool.query('select pg_terminate_backend($1)', [detailsPid]);
    await new Promise((r) => setTimeout(r, 200));
    await locker.query('rollback');

    const error = await outcome;
    expect(isConnectionError(error)).toBe(true); // the attempt failed, for Temporal to retry
    expect(unhandled).toEqual([]);

    const retry: CampaignBatchResult = await new MockActivityEnvironment({ activityId: '1', attempt: 2 }).run(activities.sendCampaignBatch, input);
    expect(retry.remaining).toBe(0);
    const { rows } = await db.pool.query(`select status, count(*)::int as n from marketing.outreach_history where campaign_id = $1 group by status`, [c.campaign_id]);
    expect(rows).toEqual([{ status: 'sent', n: recipients.length }]);
    const delivered = sink.messages.flatMap((m) => m.to).filter((to) => to.endsWith('@outage.example'));
    expect(delivered).toHaveLength(recipients.length);
    expect(new Set(delivered).size).toBe(recipients.length);
  } finally {
    await locker.query('rollback').catch(() => undefined);
    locker.release();
    process.off('unhandledRejection', onUnhandled);
  }
});
