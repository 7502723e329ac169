// Campaigns over days of campaign time, on Temporal's time-skipping test server: step delays of
// days, a weekend outside the sending window, and a reply arriving during a long wait. Campaign
// time is the workflow's clock, so the durable timers between sends fire as soon as they are
// due while Postgres and SMTP stay real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { testDatabase, timeSkippingEnvironment, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import { isolateCampaignIds, seedContacts, startCampaignWorker, waitUntil } from './support/campaign-fixtures';
import { startSmtpSink, type SmtpSink } from './fakes/smtp';
import type { campaignWorkflow } from '../workflows/campaign';
import type { CampaignProgress } from '../contracts/campaign';

const DAY = 86_400_000;
let db: TestDatabase;
let env: TestWorkflowEnvironment;
let sink: SmtpSink;
let worker: TestWorker;
const taskQueue = uniqueId('long-waits');

beforeAll(async () => {
  db = await testDatabase();
  await isolateCampaignIds(db.pool);
  env = await timeSkippingEnvironment();
  sink = await startSmtpSink();
  worker = await startCampaignWorker({ pool: db.pool, taskQueue, smtpUrl: sink.url, connection: env.nativeConnection });
});

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await sink?.close();
  await db?.drop();
});

/** A campaign over `emails` whose steps go `delaysDays` apart; window optional. */
async function campaign(emails: { email: string; country?: string }[], delaysDays: number[], window?: { days: number[]; start: string; end: string; timeZone: string }) {
  const source = uniqueId('long');
  await seedContacts(db.pool, source, emails);
  const { rows: [c] } = await db.pool.query(
    `insert into marketing.campaigns (name, from_email, criteria, rate_per_minute, time_zone, window_days, window_start, window_end)
     values ('long waits', 'sales@sender.example', $1, 100000, $2, $3, $4, $5) returning campaign_id`,
    [{ sources: [source] }, window?.timeZone ?? 'UTC', window?.days ?? null, window?.start ?? null, window?.end ?? null],
  );
  for (const [i, days] of [0, ...delaysDays].entries()) {
    const { rows: [t] } = await db.pool.query(`insert into marketing.templates (name, subject, text_body) values ($1, $1, 'x') returning template_id`, [`Step ${i + 1}`]);
    await db.pool.query('insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds) values ($1, $2, $3, $4)', [
      c.campaign_id, i + 1, t.template_id, days * 86_400,
    ]);
  }
  return c.campaign_id as number;
}

const start = (campaignId: number) =>
  env.client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', { taskQueue, workflowId: `campaign:${campaignId}`, args: [{ campaignId, batchSize: 100 }] });

/**
 * Per contact, its rows' send times in campaign time (epoch ms), by step, and in the recipient's
 * zone: the row's own, else the campaign's (as marketing.f_claim_sends reads it).
 */
async function sendTimes(campaignId: number) {
  const { rows } = await db.pool.query(
    `select h.email, h.step_no, h.status, h.sent_at,
            extract(isodow from h.sent_at at time zone coalesce(h.time_zone, c.time_zone))::int as local_dow,
            to_char(h.sent_at at time zone coalesce(h.time_zone, c.time_zone), 'HH24:MI') as local_time
       from marketing.outreach_history h join marketing.campaigns c using (campaign_id)
      where h.campaign_id = $1 order by h.email, h.step_no`,
    [campaignId],
  );
  return rows;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * Moves the time-skipping server's clock on to the next `weekday` at `hhmm` UTC, so campaign time
 * starts at the same point of the week whatever the wall clock says when the test runs.
 */
async function skipTo(weekday: string, hhmm: string): Promise<number> {
  const now = await env.currentTimeMs();
  const [h, m] = hhmm.split(':').map(Number);
  const today = new Date(now);
  const daysAhead = (WEEKDAYS.indexOf(weekday) - ((today.getUTCDay() + 6) % 7) + 7) % 7;
  let target = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + daysAhead, h, m);
  if (target <= now) target += 7 * DAY;
  await env.sleep(target - now);
  return env.currentTimeMs();
}

describe('campaigns over days of campaign time (time-skipping server)', () => {
  // Campaign starts before, at the edge of, inside and after the windows of New York (the
  // campaign's zone, for the recipient without a country), Berlin and London.
  it.each([
    ['Mon', '00:30'],
    ['Wed', '08:59'],
    ['Fri', '18:49'],
    ['Sun', '23:30'],
  ])('sends step 2 two days and step 3 three days later, only inside the Mon–Fri 09:00–17:00 window of each recipient (start %s %s UTC)', async (weekday, hhmm) => {
    const at = `${weekday.toLowerCase()}-${hhmm.replace(':', '')}`;
    const recipients = [{ email: `ny.${at}@long.example` }, { email: `berlin.${at}@long.example`, country: 'DE' }, { email: `london.${at}@long.example`, country: 'GB' }];
    const campaignId = await campaign(recipients, [2, 3], { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', timeZone: 'America/New_York' });
    const startedAt = await skipTo(weekday, hhmm);
    const realStart = Date.now();
    const handle = await start(campaignId);
    const progress: CampaignProgress = await handle.result();
    const realSeconds = (Date.now() - realStart) / 1000;

    expect(progress).toMatchObject({ phase: 'completed', sent: 9, remaining: 0 });
    expect(sink.messages.filter((m) => recipients.some((r) => m.to.includes(r.email)))).toHaveLength(9);
    expect(sink.duplicates()).toBe(0);
    const rows = await sendTimes(campaignId);
    for (const r of rows) {
      expect(r.status).toBe('sent');
      expect(r.local_dow).toBeLessThanOrEqual(5); // a weekday where the recipient is
      expect(r.local_time >= '09:00' && r.local_time < '17:00', `${r.email} step ${r.step_no} at ${r.local_time}`).toBe(true);
    }
    for (const email of recipients.map((r) => r.email)) {
      const [s1, s2, s3] = rows.filter((r) => r.email === email).map((r) => new Date(r.sent_at).getTime());
      expect(s2 - s1).toBeGreaterThanOrEqual(2 * DAY);
      expect(s3 - s2).toBeGreaterThanOrEqual(3 * DAY);
    }
    const first = Math.min(...rows.map((r) => new Date(r.sent_at).getTime()));
    const last = Math.max(...rows.map((r) => new Date(r.sent_at).getTime()));
    console.log(`long waits from ${new Date(startedAt).toISOString()}: campaign time ${((last - first) / DAY).toFixed(1)} days in ${realSeconds.toFixed(1)} s of real time, ${progress.batches} batches`);
    expect(last - first).toBeGreaterThanOrEqual(5 * DAY);
  }, 150_000); // a week of hourly re-checks: 20–40 s alone, more on a busy machine

  it('a reply during a three-day wait stops that contact’s next step; the others get it three days on', async () => {
    const campaignId = await campaign([{ email: 'replies@long.example' }, { email: 'quiet@long.example' }], [3]);
    const handle = await start(campaignId);
    // step 1 goes out at once (no window); time is not skipped until the test awaits the result
    const mine = ['replies@long.example', 'quiet@long.example'];
    await waitUntil(async () => sink.messages.filter((m) => mine.includes(m.to[0]) && m.subject === 'Step 1').length === 2, 30_000, 'step 1');
    const { rows: [row] } = await db.pool.query(
      `select outreach_id from marketing.outreach_history where campaign_id = $1 and email = 'replies@long.example' and step_no = 1`,
      [campaignId],
    );
    await db.pool.query(`select marketing.f_record_reply($1, '{"from": "replies@long.example"}')`, [row.outreach_id]);

    const progress: CampaignProgress = await handle.result();
    expect(progress).toMatchObject({ phase: 'completed', sent: 3, stopped: 1 });
    const rows = await sendTimes(campaignId);
    expect(rows.map((r) => [r.email, r.step_no, r.status])).toEqual([
      ['quiet@long.example', 1, 'sent'],
      ['quiet@long.example', 2, 'sent'],
      ['replies@long.example', 1, 'sent'],
      ['replies@long.example', 2, 'stopped'],
    ]);
    const quiet = rows.filter((r) => r.email === 'quiet@long.example').map((r) => new Date(r.sent_at).getTime());
    expect(quiet[1] - quiet[0]).toBeGreaterThanOrEqual(3 * DAY);
    expect(sink.messages.filter((m) => m.to.includes('replies@long.example'))).toHaveLength(1);
  });
});
