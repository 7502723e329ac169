// Responses between steps (reply, unsubscribe, bounce), sending windows, throttles and control
// signals, against real Temporal, Postgres and SMTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { uniqueId, type TestDatabase } from './support/harness';
import { api, result, seedContacts, waitUntil, startCampaignStack, type CampaignStack } from './support/campaign-fixtures';
import type { SmtpSink } from './fakes/smtp';
import type { App } from '../api/app';
import type { CampaignProgress } from '../contracts/campaign';

let db: TestDatabase;
let temporal: Client;
let app: App;
let sink: SmtpSink;
let http: ReturnType<typeof api>;

let stack: CampaignStack;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'responses' });
  ({ db, temporal, app, sink, http } = stack);
});

afterAll(async () => {
  await stack?.close();
});

const to = (email: string) => sink.messages.filter((m) => m.to.includes(email));
const twoStep = async (source: string, delaySeconds: number, extra: Record<string, unknown> = {}) => {
  const [a, b] = await Promise.all([
    http.template({ subject: 'First {{ contact.first_name }}', text_body: 'one {{ unsubscribe_url }}' }),
    http.template({ subject: 'Second {{ contact.first_name }}', text_body: 'two' }),
  ]);
  return http.campaign({ criteria: { sources: [source] }, rate_per_minute: 6000, steps: [{ template_id: a }, { template_id: b, delay: { seconds: delaySeconds } }], ...extra });
};

describe('responses between steps', () => {
  it('stop-on-reply: a reply webhook stops that contact\'s later steps, others continue', async () => {
    const source = uniqueId('reply');
    await seedContacts(db.pool, source, [{ email: 'replier@example.com' }, { email: 'silent@example.com' }]);
    const campaignId = await twoStep(source, 3);
    const workflowId = await http.start(campaignId);
    const first = await waitUntil(async () => to('replier@example.com')[0], 15_000, 'step 1');
    const res = await http.call('POST', '/api/webhooks/replies', { from: 'replier@example.com', in_reply_to: first.messageId, subject: 'Re: First' });
    expect(res).toMatchObject({ status: 202, body: { matched: true } });

    const final = (await result(temporal, workflowId)) as CampaignProgress;
    expect(to('replier@example.com').map((m) => m.subject)).toEqual(['First Pat']);
    expect(to('silent@example.com').map((m) => m.subject)).toEqual(['First Pat', 'Second Pat']);
    expect(final.steps[1]).toMatchObject({ step: 2, sent: 1, stopped: 1 });
    expect(final.steps[0]).toMatchObject({ replied: 1 });
    const c = await http.call('GET', `/api/campaigns/${campaignId}`);
    expect(c.body).toMatchObject({ response_count: 1, sent_count: 3 });
  });

  it('one-click unsubscribe (POST) between steps is honoured; the GET page never unsubscribes', async () => {
    const source = uniqueId('unsub');
    const ids = await seedContacts(db.pool, source, [{ email: 'leaver@example.com' }, { email: 'stayer@example.com' }]);
    const campaignId = await twoStep(source, 3);
    const workflowId = await http.start(campaignId);
    const first = await waitUntil(async () => to('leaver@example.com')[0], 15_000, 'step 1');
    const https = /<(https:[^>]+)>/.exec(first.headers.get('list-unsubscribe')!)![1];
    const path = new URL(https).pathname;

    const page = await app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post">');
    const status = async () => (await db.pool.query('select status from vault.contacts where contact_id = $1', [ids.get('leaver@example.com')])).rows[0].status;
    expect(await status()).toBe('active'); // a link scanner's GET changes nothing

    const post = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(post.statusCode).toBe(200);
    expect(await status()).toBe('unsubscribed');

    await result(temporal, workflowId);
    expect(to('leaver@example.com')).toHaveLength(1);
    expect(to('stayer@example.com')).toHaveLength(2);
    const sup = await db.pool.query(`select reason from marketing.suppressions where email = 'leaver@example.com'`);
    expect(sup.rows).toEqual([{ reason: 'unsubscribed' }]);
    const audit = await db.pool.query(`select before, after from intake.audit_log where action = 'contact_unsubscribed' and entity_id = $1`, [String(ids.get('leaver@example.com'))]);
    expect(audit.rows[0]).toMatchObject({ before: { status: 'active' }, after: { status: 'unsubscribed', via: 'one-click' } });
  });

  it('a hard bounce suppresses the address in every campaign; a soft bounce is only counted', async () => {
    const source = uniqueId('bounce');
    await seedContacts(db.pool, source, [{ email: 'hard@example.com' }, { email: 'soft@example.com' }, { email: 'fine@example.com' }]);
    const t = await http.template({ subject: 'Hello', text_body: 'x' });
    const first = await http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(temporal, await http.start(first));
    const hardMsg = to('hard@example.com')[0];
    expect((await http.call('POST', '/api/webhooks/bounces', { type: 'hard', message_id: hardMsg.messageId, diagnostic: '550 5.1.1 no such user' })).status).toBe(202);
    expect((await http.call('POST', '/api/webhooks/bounces', { type: 'soft', email: 'soft@example.com', diagnostic: '452 mailbox full' })).status).toBe(202);
    const bad = await http.call('POST', '/api/webhooks/bounces', { type: 'hard' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.issues[0].field).toBe('email');

    const second = await http.campaign({ name: 'another campaign', from_email: 'news@other-sender.example', criteria: { sources: [source] }, steps: [{ template_id: t }] });
    const final = (await result(temporal, await http.start(second))) as CampaignProgress;
    expect(final.audience).toBe(2); // the hard-bounced address is not even selected
    expect(to('hard@example.com')).toHaveLength(1);
    expect(to('soft@example.com')).toHaveLength(2);
    expect(to('fine@example.com')).toHaveLength(2);
    const contact = await db.pool.query(`select email, status from vault.contacts where email in ('hard@example.com', 'soft@example.com') order by email`);
    expect(contact.rows).toEqual([{ email: 'hard@example.com', status: 'bounced' }, { email: 'soft@example.com', status: 'active' }]);
    const rows = await db.pool.query(`select email, bounce_type, soft_bounces from marketing.outreach_history where campaign_id = $1 and bounce_type is not null order by email`, [first]);
    expect(rows.rows).toEqual([{ email: 'hard@example.com', bounce_type: 'hard', soft_bounces: 0 }, { email: 'soft@example.com', bounce_type: 'soft', soft_bounces: 1 }]);
  });

  it('a bounce arriving after the snapshot suppresses the not-yet-sent step', async () => {
    const source = uniqueId('late');
    await seedContacts(db.pool, source, [{ email: 'late-bounce@example.com' }]);
    const campaignId = await twoStep(source, 2);
    const workflowId = await http.start(campaignId);
    await waitUntil(async () => to('late-bounce@example.com')[0], 15_000, 'step 1');
    await http.call('POST', '/api/webhooks/bounces', { type: 'complaint', email: 'late-bounce@example.com' });
    const final = (await result(temporal, workflowId)) as CampaignProgress;
    expect(to('late-bounce@example.com')).toHaveLength(1);
    expect(final.steps[1]).toMatchObject({ suppressed: 1, sent: 0 });
    const c = await db.pool.query(`select status from vault.contacts where email = 'late-bounce@example.com'`);
    expect(c.rows[0].status).toBe('do_not_contact');
  });
});

/** A fixed-offset zone where it is around noon now, so a test window never wraps midnight. */
function noonZone(now = new Date()) {
  const k = 12 - now.getUTCHours(); // UTC+k; Etc/GMT signs are inverted
  return { zone: k === 0 ? 'Etc/GMT' : `Etc/GMT${k > 0 ? '-' : '+'}${Math.abs(k)}`, offsetHours: k };
}
const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);

describe('suppression list', () => {
  it('an address on the explicit list is left out of every campaign; only manual entries come off it', async () => {
    const source = uniqueId('list');
    await seedContacts(db.pool, source, [{ email: 'listed@example.com' }, { email: 'open@example.com' }]);
    const add = await http.call('POST', '/api/suppressions', { emails: ['Listed@Example.com', 'listed@example.com'] });
    expect(add).toMatchObject({ status: 200, body: { added: 1, already: 0 } });
    expect((await http.call('POST', '/api/suppressions', { emails: ['not-an-email'] })).body.details.issues[0].field).toBe('emails[0]');
    const t = await http.template({ subject: 'Listed?', text_body: 'x' });
    const campaignId = await http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    const final = (await result(temporal, await http.start(campaignId))) as CampaignProgress;
    expect(final.audience).toBe(1);
    expect(to('listed@example.com')).toHaveLength(0);
    expect(to('open@example.com')).toHaveLength(1);

    expect((await http.call('GET', '/api/suppressions/listed@example.com')).body).toMatchObject({ reason: 'manual' });
    expect((await http.call('DELETE', '/api/suppressions/listed@example.com')).status).toBe(204);
    await db.pool.query(`insert into marketing.suppressions (email, reason) values ('bounced-one@example.com', 'bounced')`);
    expect((await http.call('DELETE', '/api/suppressions/bounced-one@example.com')).status).toBe(409);
  });
});

describe('sending windows', () => {
  it('defers sends to the window in the recipient\'s time zone, falling back to the campaign\'s', async () => {
    const source = uniqueId('window');
    const { zone, offsetHours } = noonZone();
    // A recipient in Tokyo (UTC+9) is far outside a window around noon campaign time, unless noon
    // campaign time is within two hours of noon in Tokyo: then use India (UTC+5:30).
    const farCountry = Math.abs(9 - offsetHours) >= 2 ? 'JP' : 'IN';
    await seedContacts(db.pool, source, [{ email: 'local@example.com' }, { email: 'far@example.com', country: farCountry }]);
    const t = await http.template({ subject: 'Windowed', text_body: 'x' });
    const localNow = Date.now() + offsetHours * 3_600_000;
    const opensAt = Date.now() + 4000;
    const campaignId = await http.campaign({
      criteria: { sources: [source] },
      time_zone: zone,
      window: { days: [1, 2, 3, 4, 5, 6, 7], start: hhmmss(localNow + 4000), end: hhmmss(localNow + 3_600_000) },
      steps: [{ template_id: t }],
    });
    const workflowId = await http.start(campaignId);
    const got = await waitUntil(async () => to('local@example.com')[0], 20_000, 'the window to open');
    expect(got.receivedAt).toBeGreaterThanOrEqual(opensAt - 1000); // Postgres and this process share a clock here

    const handle = temporal.workflow.getHandle(workflowId);
    const progress = await waitUntil(async () => {
      const p = (await http.call('GET', `/api/campaigns/${campaignId}/progress`)).body.progress as CampaignProgress;
      return p.phase === 'waiting' && p.nextDueAt ? p : undefined;
    }, 15_000, 'the far recipient to be deferred');
    // the far recipient waits for the window to open in their own zone, hours away (the
    // workflow's durable timer re-checks at least hourly)
    expect(progress.nextDueAt! - Date.now()).toBeGreaterThan(50 * 60 * 1000);
    const outlook = await db.pool.query('select remaining, wait_ms from marketing.f_campaign_outlook($1)', [campaignId]);
    expect(outlook.rows[0].remaining).toBe(1);
    expect(Number(outlook.rows[0].wait_ms)).toBeGreaterThan(50 * 60 * 1000);
    expect(to('far@example.com')).toHaveLength(0);

    expect((await http.call('POST', `/api/campaigns/${campaignId}/cancel`)).status).toBe(202);
    const final = (await handle.result()) as CampaignProgress;
    expect(final.phase).toBe('cancelled');
    const rows = await db.pool.query('select email, status from marketing.outreach_history where campaign_id = $1 order by email', [campaignId]);
    expect(rows.rows).toEqual([{ email: 'far@example.com', status: 'cancelled' }, { email: 'local@example.com', status: 'sent' }]);
  });
});

describe('throttles and control', () => {
  it('holds the campaign rate (messages per minute), measured at the SMTP sink', async () => {
    const source = uniqueId('rate');
    const n = 24;
    await seedContacts(db.pool, source, Array.from({ length: n }, (_, i) => ({ email: `rate${i}@example.com` })));
    const t = await http.template({ subject: 'Rate', text_body: 'x' });
    const campaignId = await http.campaign({ criteria: { sources: [source] }, rate_per_minute: 240, steps: [{ template_id: t }] }); // 4/s, burst 4
    await result(temporal, await http.start(campaignId));
    const times = sink.messages.filter((m) => m.to[0].startsWith('rate')).map((m) => m.receivedAt).sort((a, b) => a - b);
    expect(times).toHaveLength(n);
    const seconds = (times[n - 1] - times[0]) / 1000;
    const measured = (n - 4) / seconds; // after the initial burst
    console.log(`campaign throttle: ${n} messages in ${seconds.toFixed(2)} s, ${measured.toFixed(2)} msg/s after burst (limit 4/s)`);
    expect(measured).toBeLessThanOrEqual(4 * 1.1);
    expect(measured).toBeGreaterThan(4 * 0.6);
    for (let i = 0; i < n; i++) expect(times.filter((x) => x >= times[i] && x < times[i] + 1000).length).toBeLessThanOrEqual(8);
  });

  it('caps a sending domain across campaigns running at once', async () => {
    const source = uniqueId('domain');
    await seedContacts(db.pool, source, Array.from({ length: 20 }, (_, i) => ({ email: `dom${i}@example.com` })));
    await db.pool.query(`insert into marketing.sending_domains (domain, rate_per_minute) values ('capped.example', 180)`); // 3/s shared
    const t = await http.template({ subject: 'Cap', text_body: 'x' });
    const a = await http.campaign({ from_email: 'a@capped.example', criteria: { sources: [source] }, rate_per_minute: 6000, steps: [{ template_id: t }] });
    const b = await http.campaign({ from_email: 'b@capped.example', criteria: { sources: [source] }, rate_per_minute: 6000, steps: [{ template_id: t }] });
    await Promise.all([result(temporal, await http.start(a)), result(temporal, await http.start(b))]);
    const times = sink.messages.filter((m) => m.from.endsWith('@capped.example')).map((m) => m.receivedAt).sort((x, y) => x - y);
    expect(times).toHaveLength(40);
    const measured = (40 - 3) / ((times[39] - times[0]) / 1000);
    console.log(`domain cap: 40 messages from 2 campaigns, ${measured.toFixed(2)} msg/s (cap 3/s)`);
    expect(measured).toBeLessThanOrEqual(3 * 1.1);
  });

  it('pause stops sending, resume continues, cancel ends the campaign with nothing left queued', async () => {
    const source = uniqueId('ctl');
    const n = 30;
    await seedContacts(db.pool, source, Array.from({ length: n }, (_, i) => ({ email: `ctl${i}@example.com` })));
    const t = await http.template({ subject: 'Ctl', text_body: 'x' });
    const campaignId = await http.campaign({ criteria: { sources: [source] }, rate_per_minute: 300, steps: [{ template_id: t }] }); // 5/s
    const workflowId = await http.start(campaignId);
    const count = () => sink.messages.filter((m) => m.to[0].startsWith('ctl')).length;
    await waitUntil(async () => count() >= 6, 15_000, 'some sends');
    expect((await http.call('POST', `/api/campaigns/${campaignId}/pause`)).status).toBe(202);
    await waitUntil(async () => (await http.call('GET', `/api/campaigns/${campaignId}/progress`)).body.progress.phase === 'paused', 15_000, 'paused');
    const atPause = count();
    await new Promise((r) => setTimeout(r, 2000));
    expect(count()).toBe(atPause);
    expect((await http.call('GET', `/api/campaigns/${campaignId}`)).body.status).toBe('paused');

    expect((await http.call('POST', `/api/campaigns/${campaignId}/resume`)).status).toBe(202);
    await waitUntil(async () => count() >= atPause + 3, 15_000, 'sending to resume');
    expect((await http.call('POST', `/api/campaigns/${campaignId}/cancel`)).status).toBe(202);
    const final = (await result(temporal, workflowId)) as CampaignProgress;
    expect(final.phase).toBe('cancelled');
    const rows = await db.pool.query(`select status, count(*)::int as n from marketing.outreach_history where campaign_id = $1 group by status order by status`, [campaignId]);
    const by = Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
    expect(by.sent).toBe(count());
    expect(by.sent + by.cancelled).toBe(n);
    expect(by.cancelled).toBeGreaterThan(0);
    expect((await http.call('GET', `/api/campaigns/${campaignId}`)).body.status).toBe('cancelled');
    expect((await http.call('POST', `/api/campaigns/${campaignId}/resume`)).status).toBe(409);
  });
});
