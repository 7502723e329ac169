// Every tracking path writes one marketing.engagement_events row per event with its verdict:
// opens from mail proxies or on delivery are machine opens, scanner clicks and honeypot clicks
// are bot clicks, and only people's opens and clicks mark a send opened or clicked. Replies,
// unsubscribes and bounces delivered twice are recorded once. Through the real API and Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { uniqueId } from './support/harness';
import { result, seedContacts, startCampaignStack, TRACKING_SECRET, type CampaignStack } from './support/campaign-fixtures';
import { verifyTrackingToken } from '../common/tracking-tokens';

let stack: CampaignStack;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'engagement' });
});

afterAll(async () => {
  await stack?.close();
});

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const APPLE_MPP = 'Mozilla/5.0';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const path = (url: string) => new URL(url).pathname;

/** Sends one HTML message to `email`; its outreach row, pixel, links (template's first) and honeypot. */
async function mailTo(email: string) {
  const source = uniqueId('eng');
  await seedContacts(stack.db.pool, source, [{ email }]);
  const t = await stack.http.template({ subject: 'Hello', html: '<html><body><p><a href="https://example.org/offer">offer</a></p></body></html>' });
  const campaignId = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
  await result(stack.temporal, await stack.http.start(campaignId));
  const message = stack.sink.messages.find((m) => m.to.includes(email))!;
  const html = (await simpleParser(message.raw)).html as string;
  const clicks = [...html.matchAll(/href="([^"]+\/t\/c\/[^"]+)"/g)].map((m) => m[1]);
  const honeypot = clicks.find((c) => verifyTrackingToken(TRACKING_SECRET, c.slice(c.lastIndexOf('/') + 1), 'click')?.honeypot)!;
  const { rows: [row] } = await stack.db.pool.query('select outreach_id, message_id from marketing.outreach_history where campaign_id = $1', [campaignId]);
  return {
    campaignId, outreachId: Number(row.outreach_id), messageId: row.message_id as string,
    pixel: path(/src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1]), offer: path(clicks[0]), honeypot: path(honeypot), html,
  };
}

const get = (url: string, userAgent: string) => stack.app.inject({ method: 'GET', url, headers: { 'user-agent': userAgent } });
const events = async (outreachId: number) => (await stack.db.pool.query(
  `select kind, verdict, agent_class, url, seconds_after_send, details, dedupe_key from marketing.engagement_events where outreach_id = $1 order by event_id`,
  [outreachId])).rows;
const counters = async (outreachId: number) => (await stack.db.pool.query(
  'select open_count, click_count, opened_at is not null as opened, clicked_at is not null as clicked from marketing.outreach_history where outreach_id = $1',
  [outreachId])).rows[0];
/** The send went out `seconds` ago (as if the recipient came back to it later). */
const sentAgo = (outreachId: number, seconds: number) =>
  stack.db.pool.query(`update marketing.outreach_history set sent_at = now() - make_interval(secs => $2) where outreach_id = $1`, [outreachId, seconds]);

describe('opens and clicks: human, machine, bot', () => {
  it('each HTML message carries one hidden honeypot link to the sending domain', async () => {
    const m = await mailTo('honeypot-markup@example.com');
    expect(m.html).toMatch(/<div style="display:none;[^"]*" aria-hidden="true"><a href="[^"]+\/t\/c\/[^"]+" tabindex="-1">&#8203;<\/a><\/div><img src="[^"]+\/t\/o\//);
    const go = await get(m.honeypot, CHROME);
    expect(go.statusCode).toBe(302);
    expect(go.headers.location).toBe('https://sender.example/');
  });

  it('proxy and on-delivery opens are machine opens; scanner, early and honeypot clicks are bot clicks; none count as opened or clicked', async () => {
    const m = await mailTo('machines@example.com');
    await sentAgo(m.outreachId, 1); // just delivered
    expect((await get(m.pixel, CHROME)).statusCode).toBe(200); // a gateway fetching on delivery
    expect((await get(m.offer, CHROME)).statusCode).toBe(302); // a scanner ~12 s after delivery, in a browser's clothes
    await sentAgo(m.outreachId, 3600);
    await get(m.pixel, APPLE_MPP);
    await get(m.pixel, GMAIL_PROXY);
    await get(m.pixel, ''); // no user agent at all
    await get(m.offer, 'python-requests/2.32.3');
    await get(m.honeypot, CHROME);

    const got = await events(m.outreachId);
    expect(got.map((e) => [e.kind, e.verdict, e.agent_class])).toEqual([
      ['open', 'machine', 'browser'],
      ['click', 'bot', 'browser'],
      ['open', 'machine', 'apple_mpp'],
      ['open', 'machine', 'gmail_proxy'],
      ['open', 'machine', 'none'],
      ['click', 'bot', 'scanner'],
      ['click', 'bot', 'browser'],
    ]);
    expect(got[0].seconds_after_send).toBeLessThan(5);
    expect(got[2].seconds_after_send).toBeGreaterThanOrEqual(3600);
    expect(got[5].url).toBe('https://example.org/offer');
    expect(got[6]).toMatchObject({ url: 'https://sender.example/', details: { honeypot: true } });
    expect(await counters(m.outreachId)).toEqual({ open_count: 0, click_count: 0, opened: false, clicked: false });
  });

  it('a person opening and clicking later counts: opened_at, clicked_at and the counts move; the IP is kept nowhere', async () => {
    const m = await mailTo('person@example.com');
    await sentAgo(m.outreachId, 90);
    await get(m.pixel, CHROME);
    await get(m.offer, CHROME);
    await get(m.pixel, CHROME);
    const got = await events(m.outreachId);
    expect(got.map((e) => [e.kind, e.verdict, e.agent_class])).toEqual([['open', 'human', 'browser'], ['click', 'human', 'browser'], ['open', 'human', 'browser']]);
    expect(got.every((e) => e.seconds_after_send >= 90 && e.seconds_after_send < 150)).toBe(true);
    expect(await counters(m.outreachId)).toEqual({ open_count: 2, click_count: 1, opened: true, clicked: true });

    const metrics = await stack.http.call('GET', `/api/campaigns/${m.campaignId}/metrics`);
    expect(metrics.body.steps[0]).toMatchObject({ opened: 1, clicked: 1 });
    // light-my-request connects from 127.0.0.1: nothing stored anywhere says so
    const stored = await stack.db.pool.query(
      `select (select json_agg(e) from marketing.engagement_events e where outreach_id = $1)::text as events,
              (select json_agg(a) from intake.audit_log a where entity_id = $2)::text as audit`, [m.outreachId, String(m.outreachId)]);
    expect(stored.rows[0].events).not.toContain('127.0.0.1');
    expect(stored.rows[0].audit).not.toContain('127.0.0.1');
  });
});

describe('replies, unsubscribes and bounces: one event each, however often delivered', () => {
  it('a reply webhook posted twice with its Message-ID is one reply, one response, one audit row', async () => {
    const m = await mailTo('replier@example.com');
    const reply = { from: 'replier@example.com', in_reply_to: m.messageId, subject: 'Re: Hello', message_id: '<reply-1@example.com>' };
    for (let i = 0; i < 2; i++) expect(await stack.http.call('POST', '/api/webhooks/replies', reply)).toMatchObject({ status: 202, body: { matched: true } });
    expect((await events(m.outreachId)).map((e) => [e.kind, e.verdict, e.dedupe_key])).toEqual([['reply', 'human', 'reply:<reply-1@example.com>']]);
    const c = await stack.http.call('GET', `/api/campaigns/${m.campaignId}`);
    expect(c.body.response_count).toBe(1);
    const audit = await stack.db.pool.query(`select count(*)::int as n from intake.audit_log where action = 'reply_received' and entity_id = $1`, [String(m.outreachId)]);
    expect(audit.rows[0].n).toBe(1);
  });

  it('an out-of-office reply through the webhook is an auto_reply: it neither counts as a response nor stops the sequence', async () => {
    const m = await mailTo('away@example.com');
    const res = await stack.http.call('POST', '/api/webhooks/replies', { from: 'away@example.com', in_reply_to: m.messageId, subject: 'Out of Office: Hello' });
    expect(res).toMatchObject({ status: 202, body: { matched: true } });
    expect((await events(m.outreachId)).map((e) => [e.kind, e.verdict])).toEqual([['auto_reply', 'machine']]);
    const { rows: [row] } = await stack.db.pool.query('select replied_at from marketing.outreach_history where outreach_id = $1', [m.outreachId]);
    expect(row.replied_at).toBeNull();
    expect((await stack.http.call('GET', `/api/campaigns/${m.campaignId}`)).body.response_count).toBe(0);
  });

  it('one-click unsubscribe posted twice: one unsubscribe event; a hard bounce is a machine event', async () => {
    const m = await mailTo('leaving@example.com');
    const unsubscribe = path(/<(https:[^>]+\/u\/[^>]+)>/.exec(stack.sink.messages.find((x) => x.to.includes('leaving@example.com'))!.headers.get('list-unsubscribe') as string)![1]);
    for (let i = 0; i < 2; i++) {
      const post = await stack.app.inject({ method: 'POST', url: unsubscribe, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
      expect(post.statusCode).toBe(200);
    }
    const b = await mailTo('bouncing@example.com');
    expect((await stack.http.call('POST', '/api/webhooks/bounces', { type: 'hard', message_id: b.messageId, diagnostic: '550 5.1.1 unknown' })).status).toBe(202);
    expect((await events(m.outreachId)).map((e) => [e.kind, e.verdict, e.dedupe_key])).toEqual([['unsubscribe', 'human', `unsubscribe:${m.outreachId}`]]);
    expect((await events(b.outreachId)).map((e) => [e.kind, e.verdict, e.details])).toEqual([['hard_bounce', 'machine', { diagnostic: '550 5.1.1 unknown', source: 'webhook' }]]);
  });
});
