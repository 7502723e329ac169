// The seed's "Campaign Outreach Flow" through the real API, a real Temporal server, real Postgres
// and real SMTP (nodemailer to a local smtp-server that records every message).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { simpleParser } from 'mailparser';
import { historyRecorder, uniqueId, type TestDatabase } from './support/harness';
import { api, PUBLIC_BASE_URL, result, seedContacts, waitUntil, startCampaignStack, type CampaignStack } from './support/campaign-fixtures';
import type { SmtpSink } from './fakes/smtp';
import { signTrackingToken } from '../common/tracking-tokens';
import type { App } from '../api/app';
import type { CampaignProgress } from '../contracts/campaign';

let db: TestDatabase;
let temporal: Client;
let app: App;
let sink: SmtpSink;
let http: ReturnType<typeof api>;

let stack: CampaignStack;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'campaign', sink: { rejectRecipients: ['nobody@gone.example'] } });
  ({ db, temporal, app, sink, http } = stack);
});

// RECORD_HISTORIES=1 refreshes the campaign history in test/histories/ (see test/replay.test.ts)
const histories = historyRecorder();

afterAll(async () => {
  histories.save();
  await stack?.close();
});

const to = (email: string) => sink.messages.filter((m) => m.to.includes(email));
const outreach = async (campaignId: number) =>
  (await db.pool.query('select * from marketing.outreach_history where campaign_id = $1 order by contact_id, step_no', [campaignId])).rows;
const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

describe('templates', () => {
  it('refuses unknown variables and CR/LF in the subject at save, naming the field', async () => {
    const unknown = await http.call('POST', '/api/templates', { name: 't', subject: 'Hi {{ contact.first_name }}', html: '<p>{{ contact.favourite_colour }}</p>' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('contact.favourite_colour');
    expect(unknown.body.details.issues).toEqual([{ field: 'html', message: 'unknown variable "contact.favourite_colour"' }]);

    const crlf = await http.call('POST', '/api/templates', { name: 't', subject: 'Hi\r\nBcc: victim@example.com', text_body: 'x' });
    expect(crlf.status).toBe(400);
    expect(crlf.body.details.issues[0].field).toBe('subject');

    const syntax = await http.call('POST', '/api/templates', { name: 't', subject: 'ok', text_body: '{% if %}' });
    expect(syntax.status).toBe(400);
    expect(syntax.body.details.issues[0].field).toBe('text_body');
    expect((await db.pool.query('select count(*)::int as n from marketing.templates')).rows[0].n).toBe(0);
  });

  it('previews a template for a contact; header fields of campaigns reject CR/LF', async () => {
    const ids = await seedContacts(db.pool, uniqueId('src'), [{ email: 'preview@example.com', first_name: 'Ada', title: 'CTO'}]);
    const id = await http.template({ subject: 'Hello {{ contact.first_name }}', text_body: '{{ contact.title }} at {{ contact.company_name }}{{ contact.phone | default: " (no phone)" }}' });
    const res = await http.call('POST', `/api/templates/${id}/preview`, { contact_id: ids.get('preview@example.com') });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ subject: 'Hello Ada', text: 'CTO at Acme (no phone)' });

    const bad = await http.call('POST', '/api/campaigns', { name: 'c', from_email: 'a@b.example', from_name: 'Evil\r\nBcc: x@y.z', steps: [{ template_id: id }] });
    expect(bad.status).toBe(400);
    expect(bad.body.details.issues[0].field).toBe('from_name');
    const missing = await http.call('POST', '/api/campaigns', { name: 'c', from_email: 'a@b.example', steps: [{ template_id: id }, { template_id: 999_999 }] });
    expect(missing.status).toBe(400);
    expect(missing.body.details.issues[0].field).toBe('steps[1].template_id');
  });
});

describe('campaign workflow', () => {
  it('sends a 3-step sequence with its delays, once per contact and step, with RFC 8058 headers', async () => {
    const source = uniqueId('seq');
    const ids = await seedContacts(db.pool, source, [
      { email: 'seq1@example.com', first_name: 'One' },
      { email: 'seq2@example.com', first_name: 'Two' },
      { email: 'seq3@example.com', first_name: 'Three' },
      { email: 'lowscore@example.com', first_name: 'Low', partial: true }, // below the default score >= 80
    ]);
    const steps = await Promise.all([1, 2, 3].map((n) => http.template({ subject: `Step ${n} for {{ contact.first_name }}`, html: `<p>Hi {{ contact.first_name }}, step ${n}. <a href="https://example.org/offer?a=1&amp;b=${n}">offer</a></p>`, text_body: `step ${n}` })));
    const campaignId = await http.campaign({
      criteria: { sources: [source] },
      rate_per_minute: 6000,
      steps: [{ template_id: steps[0] }, { template_id: steps[1], delay: { seconds: 1 } }, { template_id: steps[2], delay: { seconds: 2 } }],
    });
    const workflowId = await http.start(campaignId);
    expect(workflowId).toBe(`campaign:${campaignId}`);
    histories.record('campaign-three-steps.json', workflowId);
    const final = (await result(temporal, workflowId)) as CampaignProgress;
    expect(final).toMatchObject({ phase: 'completed', audience: 3, sent: 9, failed: 0, remaining: 0 });
    expect(final.steps.map((s) => [s.step, s.sent])).toEqual([[1, 3], [2, 3], [3, 3]]);

    const rows = await outreach(campaignId);
    expect(rows).toHaveLength(9);
    for (const email of ['seq1@example.com', 'seq2@example.com', 'seq3@example.com']) {
      const got = to(email);
      expect(got.map((m) => m.subject?.replace(/ for .*/, ''))).toEqual(['Step 1', 'Step 2', 'Step 3']);
      const mine = rows.filter((r) => r.email === email);
      // Message-ID comes from the row; each step waited its delay after the previous one
      expect(got.map((m) => m.messageId)).toEqual(mine.map((r) => r.message_id));
      expect(mine[1].sent_at - mine[0].sent_at).toBeGreaterThanOrEqual(1000);
      expect(mine[2].sent_at - mine[1].sent_at).toBeGreaterThanOrEqual(2000);
    }
    expect(to('lowscore@example.com')).toHaveLength(0);
    expect(sink.duplicates()).toBe(0);

    const first = to('seq1@example.com')[0];
    expect(first.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(first.headers.get('list-unsubscribe')).toMatch(new RegExp(`^<mailto:unsubscribe@sender\\.example\\?subject=unsubscribe%20[\\w.-]+>, <${PUBLIC_BASE_URL}/u/[\\w.-]+>$`));
    const parsed = await simpleParser(first.raw);
    expect(parsed.html).toContain(`${PUBLIC_BASE_URL}/t/c/`);
    expect(parsed.html).not.toContain('https://example.org/offer'); // links go through the signed redirect
    expect(parsed.html).toMatch(/\/t\/o\/[\w.-]+\.gif/);

    const campaign = await http.call('GET', `/api/campaigns/${campaignId}`);
    expect(campaign.body).toMatchObject({ status: 'completed', sent_count: 9 });
    const metrics = await http.call('GET', `/api/campaigns/${campaignId}/metrics`);
    expect(metrics.body.steps.map((s: { sent: number }) => s.sent)).toEqual([3, 3, 3]);
    const report = await db.pool.query('select report from marketing.feedback_reports where campaign_id = $1', [campaignId]);
    expect(report.rows[0].report.outcome).toBe('completed');

    // outreach history pages by cursor without gaps or repeats
    const page1 = await http.call('GET', `/api/campaigns/${campaignId}/outreach?limit=4`);
    const page2 = await http.call('GET', `/api/campaigns/${campaignId}/outreach?limit=4&cursor=${page1.body.next_cursor}`);
    const page3 = await http.call('GET', `/api/campaigns/${campaignId}/outreach?limit=4&cursor=${page2.body.next_cursor}`);
    const all = [...page1.body.rows, ...page2.body.rows, ...page3.body.rows].map((r: { outreach_id: number }) => r.outreach_id);
    expect(all).toEqual(rows.map((r) => r.outreach_id).sort((a, b) => a - b));
    expect(page3.body.next_cursor).toBeNull();

    // starting again finds the finished run instead of sending again
    const again = await http.call('POST', `/api/campaigns/${campaignId}/start`);
    expect(again.body).toMatchObject({ existing: true, status: 'COMPLETED' });
    expect(ids.size).toBe(4);
  });

  it('tracks opens and clicks; a tampered or unsigned click token never redirects', async () => {
    const source = uniqueId('trk');
    await seedContacts(db.pool, source, [{ email: 'tracked@example.com', first_name: 'T' }]);
    const t = await http.template({ subject: 'Hi', html: '<p><a href="https://example.org/landing">go</a></p>' });
    const campaignId = await http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(temporal, await http.start(campaignId));
    const [row] = await outreach(campaignId);
    const html = (await simpleParser(to('tracked@example.com')[0].raw)).html as string;
    const pixel = /src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1];
    const click = /href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1];

    // a person, a minute after the send (sooner, or from a mail proxy, would be a machine: test/engagement-tracking.test.ts)
    await db.pool.query(`update marketing.outreach_history set sent_at = sent_at - interval '1 minute' where outreach_id = $1`, [row.outreach_id]);
    const headers = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' };
    const open = await app.inject({ method: 'GET', url: new URL(pixel).pathname, headers });
    expect(open.statusCode).toBe(200);
    expect(open.headers['content-type']).toBe('image/gif');
    const go = await app.inject({ method: 'GET', url: new URL(click).pathname, headers });
    expect(go.statusCode).toBe(302);
    expect(go.headers.location).toBe('https://example.org/landing');

    const token = tokenOf(click);
    const [body, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify(['c', row.outreach_id, 'https://evil.example/phish'])).toString('base64url');
    for (const bad of [`${forged}.${sig}`, forged, `${body}.${sig.slice(0, -2)}AA`, signTrackingToken('another-secret-0123456789', { purpose: 'click', outreachId: row.outreach_id, url: 'https://evil.example' })]) {
      const res = await app.inject({ method: 'GET', url: `/t/c/${bad}` });
      expect(res.statusCode).toBe(400);
      expect(res.headers.location).toBeUndefined();
    }
    const [after] = await outreach(campaignId);
    expect(after.open_count).toBe(1);
    expect(after.click_count).toBe(1);
    expect(after.opened_at).not.toBeNull();
    expect(after.clicked_at).not.toBeNull();
    const audit = await db.pool.query(`select action from intake.audit_log where entity = 'outreach' and entity_id = $1 order by audit_id`, [String(row.outreach_id)]);
    expect(audit.rows.map((r) => r.action)).toEqual(['email_opened', 'email_clicked']);
  });
});

describe('schedules', () => {
  it('runs a campaign from a Temporal Schedule managed through the API; each run reaches only new contacts', async () => {
    const source = uniqueId('sched');
    await seedContacts(db.pool, source, [{ email: 'early@sched.example' }]);
    const t = await http.template({ subject: 'Weekly', text_body: 'x' });
    const campaignId = await http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    const base = `/api/campaigns/${campaignId}/schedule`;

    const bad = await http.call('POST', base, { cron: ['0 9 * * 1'], every_minutes: 5 });
    expect(bad.status).toBe(400);
    const created = await http.call('POST', base, { cron: ['0 9 * * 1'], paused: true, note: 'weekly Monday run' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ schedule_id: `campaign-schedule:${campaignId}`, paused: true, note: 'weekly Monday run' });
    expect((await http.call('POST', base, { every_minutes: 60 })).status).toBe(409);
    expect((await http.call('GET', `/api/campaigns/${campaignId}`)).body.status).toBe('scheduled');

    // "trigger now" starts a run even while paused; wait for it through the schedule's recent runs
    const runAndWait = async (runs: number) => {
      expect((await http.call('POST', `${base}/trigger`)).status).toBe(200);
      const view = await waitUntil(async () => {
        const v = (await http.call('GET', base)).body;
        return v.recent_runs.length >= runs ? v : undefined;
      }, 20_000, 'the scheduled run');
      const workflowId = view.recent_runs[runs - 1].workflow_id as string;
      expect(workflowId.startsWith(`campaign:${campaignId}`)).toBe(true);
      return (await result(temporal, workflowId)) as CampaignProgress;
    };
    const first = await runAndWait(1);
    expect(first).toMatchObject({ phase: 'completed', sent: 1 });

    await seedContacts(db.pool, source, [{ email: 'later@sched.example' }]);
    const second = await runAndWait(2);
    expect(second).toMatchObject({ phase: 'completed', audience: 2, sent: 1 });
    expect(to('early@sched.example')).toHaveLength(1);
    expect(to('later@sched.example')).toHaveLength(1);

    expect((await http.call('POST', `${base}/unpause`)).body.paused).toBe(false);
    expect((await http.call('POST', `${base}/pause`)).body.paused).toBe(true);
    expect((await http.call('DELETE', base)).status).toBe(204);
    expect((await http.call('GET', base)).status).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents the campaign, template, schedule and tracking routes', async () => {
    const res = await http.call('GET', '/docs/json');
    expect(res.status).toBe(200);
    const paths = Object.keys(res.body.paths);
    for (const p of ['/api/templates', '/api/templates/{id}/preview', '/api/campaigns', '/api/campaigns/{id}/start', '/api/campaigns/{id}/pause',
      '/api/campaigns/{id}/outreach', '/api/campaigns/{id}/metrics', '/api/campaigns/{id}/schedule', '/api/campaigns/{id}/schedule/trigger',
      '/t/c/{token}', '/u/{token}', '/api/webhooks/replies', '/api/webhooks/bounces']) {
      expect(paths).toContain(p);
    }
  });
});
