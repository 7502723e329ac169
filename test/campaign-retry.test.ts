// The send activity retried after its SMTP connection broke mid-message: rows the server never
// accepted are sent by the retry, confirmed rows are not sent again. The one case SMTP cannot
// settle (accepted, confirmation lost) is looked up in the provider's event log when there is
// one, and otherwise re-sent under the same Message-ID.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { testDatabase, uniqueId, type TestDatabase } from './support/harness';
import { isolateCampaignIds, seedContacts, TRACKING_SECRET } from './support/campaign-fixtures';
import { startSmtpSink, type SmtpSink } from './fakes/smtp';
import { createMailer, SendError, type Mailer } from '../clients/mailer';
import { createMailgunEventsLog, type SentMessageLog } from '../clients/email-events';
import { createCampaignActivities } from '../activities/campaign';
import type { CampaignBatchResult } from '../contracts/campaign';

let db: TestDatabase;
let sink: SmtpSink;
let smtp: Mailer;

beforeAll(async () => {
  db = await testDatabase();
  await isolateCampaignIds(db.pool);
  sink = await startSmtpSink({ eventsLog: { apiKey: 'key-events' } });
  smtp = createMailer(sink.url, { maxConnections: 2 });
});

afterAll(async () => {
  smtp?.close();
  await sink?.close();
  await db?.drop();
});

async function campaignFor(emails: string[]) {
  const source = uniqueId('retry');
  await seedContacts(db.pool, source, emails.map((email) => ({ email })));
  const { rows: [t] } = await db.pool.query(`insert into marketing.templates (name, subject, text_body) values ('t', 'Hi {{ contact.first_name }}', 'x') returning template_id`);
  const { rows: [c] } = await db.pool.query(
    `insert into marketing.campaigns (name, from_email, criteria, rate_per_minute) values ('retry', 'sales@sender.example', $1, 100000) returning campaign_id`,
    [{ sources: [source] }],
  );
  await db.pool.query('insert into marketing.campaign_steps (campaign_id, step_no, template_id) values ($1, 1, $2)', [c.campaign_id, t.template_id]);
  return c.campaign_id as number;
}

/** A mailer whose connection "breaks" for one recipient, before or after the server accepted. */
function flaky(target: string, when: 'before-accept' | 'after-accept'): Mailer & { broken: number } {
  const m = {
    concurrency: smtp.concurrency,
    broken: 0,
    async send(message: Parameters<Mailer['send']>[0]) {
      if (message.to === target && m.broken === 0) {
        m.broken += 1;
        if (when === 'after-accept') await smtp.send(message); // the 250 is lost on the way back
        throw new SendError('unknown', 'Connection closed unexpectedly');
      }
      return smtp.send(message);
    },
    close() {},
  };
  return m;
}

const settings = { trackingSecret: TRACKING_SECRET, publicBaseUrl: 'https://t.example', domainRatePerMinute: 100_000 };
const to = (email: string) => sink.messages.filter((m) => m.to.includes(email));

async function runWithRetry(campaignId: number, mailer: Mailer, sentLog?: SentMessageLog): Promise<CampaignBatchResult> {
  const activities = createCampaignActivities({ pool: db.pool, mailer, sentLog, campaign: settings });
  const input = { campaignId, claimToken: `campaign:${campaignId}/run-1`, limit: 100, maxMs: 10_000 };
  await new MockActivityEnvironment().run(activities.startCampaignRun, { campaignId, workflowId: `campaign:${campaignId}` });
  const first = new MockActivityEnvironment({ activityId: '7', attempt: 1 });
  await expect(first.run(activities.sendCampaignBatch, input)).rejects.toThrow(/same Message-ID/);
  const second = new MockActivityEnvironment({ activityId: '7', attempt: 2 });
  return second.run(activities.sendCampaignBatch, input);
}

describe('a retried send activity', () => {
  it('sends what the broken attempt did not deliver, and nothing it confirmed', async () => {
    const emails = ['a@retry.example', 'b@retry.example', 'c@retry.example', 'd@retry.example'];
    const campaignId = await campaignFor(emails);
    const retry = await runWithRetry(campaignId, flaky('b@retry.example', 'before-accept'));
    expect(retry.remaining).toBe(0);
    for (const email of emails) expect(to(email)).toHaveLength(1);
    const rows = await db.pool.query('select email, status, attempts from marketing.outreach_history where campaign_id = $1 order by email', [campaignId]);
    expect(rows.rows.map((r) => [r.email, r.status])).toEqual(emails.map((e) => [e, 'sent']));
    expect(rows.rows.find((r) => r.email === 'b@retry.example').attempts).toBe(2);
    expect(rows.rows.filter((r) => r.attempts === 1)).toHaveLength(3); // confirmed rows were never claimed again
  });

  it('accepted but unconfirmed: the one re-send carries the same Message-ID', async () => {
    const emails = ['e@retry.example', 'f@retry.example'];
    const campaignId = await campaignFor(emails);
    const retry = await runWithRetry(campaignId, flaky('f@retry.example', 'after-accept'));
    expect(retry).toMatchObject({ remaining: 0, resent: 1 });
    expect(to('e@retry.example')).toHaveLength(1);
    const f = to('f@retry.example');
    expect(f).toHaveLength(2);
    expect(new Set(f.map((m) => m.messageId)).size).toBe(1);
  });

  it('accepted but unconfirmed, with the provider event log: found there, confirmed, not sent again', async () => {
    const emails = ['g@retry.example', 'h@retry.example'];
    const campaignId = await campaignFor(emails);
    const lookups = sink.eventLookups;
    const log = createMailgunEventsLog({ baseUrl: sink.eventsUrl('sender.example'), apiKey: 'key-events', settleMs: 0 });
    const retry = await runWithRetry(campaignId, flaky('h@retry.example', 'after-accept'), log);
    expect(retry).toMatchObject({ remaining: 0, resent: 0, recovered: 1, sent: 1 });
    expect(to('g@retry.example')).toHaveLength(1);
    expect(to('h@retry.example')).toHaveLength(1); // exactly once at the sink
    expect(sink.eventLookups - lookups).toBe(1); // only the row in doubt was looked up
    const { rows: [h] } = await db.pool.query(`select status, smtp_response from marketing.outreach_history where campaign_id = $1 and email = 'h@retry.example'`, [campaignId]);
    expect(h).toMatchObject({ status: 'sent', smtp_response: expect.stringMatching(/provider event log/) });
  });

  it('not accepted before the crash, with the event log: sent by the retry', async () => {
    const campaignId = await campaignFor(['i@retry.example']);
    const log = createMailgunEventsLog({ baseUrl: sink.eventsUrl('sender.example'), apiKey: 'key-events', settleMs: 0 });
    const retry = await runWithRetry(campaignId, flaky('i@retry.example', 'before-accept'), log);
    expect(retry).toMatchObject({ remaining: 0, resent: 1, recovered: 0 });
    expect(to('i@retry.example')).toHaveLength(1);
  });

  it('the event log refusing the lookup: the row stays in doubt, never guessed', async () => {
    const campaignId = await campaignFor(['j@retry.example']);
    const log = createMailgunEventsLog({ baseUrl: sink.eventsUrl('sender.example'), apiKey: 'wrong-key', settleMs: 0 });
    await expect(runWithRetry(campaignId, flaky('j@retry.example', 'after-accept'), log)).rejects.toThrow(/in doubt/);
    expect(to('j@retry.example')).toHaveLength(1);
    const { rows: [j] } = await db.pool.query(`select status from marketing.outreach_history where campaign_id = $1`, [campaignId]);
    expect(j.status).toBe('sending');
    await expect(log.wasAccepted('<x@sender.example>', 'j@retry.example')).rejects.toThrow(/mailgun: 401 .*Forbidden/);
  });
});
