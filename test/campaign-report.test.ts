// GET /api/campaigns/:id/report on a seeded campaign equals the counts made by hand below; its
// CSV exports escape formula cells (OWASP); a real run writes the same report into
// marketing.feedback_reports when it completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { result, seedContacts, startCampaignStack, type CampaignStack } from './support/campaign-fixtures';

let stack: CampaignStack;
let campaignId: number;
const T0 = Date.parse('2026-03-02T09:00:00Z');
const HOUR = 3_600_000;
const at = (hours: number) => new Date(T0 + hours * HOUR);
const EVIL_TITLE = '=HYPERLINK("http://evil.example","x")';

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'report' });
  const q = (sql: string, params: unknown[] = []) => stack.db.pool.query(sql, params);
  const ids = await seedContacts(stack.db.pool, 'report-seed', [
    { email: 'ada@acme.io' }, { email: 'bob@acme.io' }, { email: 'cy@globex.com', title: EVIL_TITLE }, { email: 'dee@initech.com' },
  ]);
  await q(`update vault.contacts set company_domain = split_part(email, '@', 2) where source = 'report-seed'`);
  // golden records: seniority and industry for the breakdowns (C has no seniority)
  const golden: [string, string | null, string][] = [
    ['ada@acme.io', 'VP', 'Software'], ['bob@acme.io', 'Director', 'Software'], ['cy@globex.com', null, '@SUM(1)'], ['dee@initech.com', 'VP', 'Finance'],
  ];
  for (const [email, seniority, industry] of golden) {
    const { rows: [c] } = await q(`insert into company.master (name, domain, industry) values ($1, split_part($1, '@', 2), $2) returning company_id`, [email, industry]);
    const { rows: [p] } = await q(`insert into people.master (email, seniority, company_id) values ($1, $2, $3) returning person_id`, [email, seniority, c.company_id]);
    await q(`insert into people.slot (source, source_key, contact_id, seen_at, last_seen_at, person_id) values ('test', $1, $2, now(), now(), $3)`,
      [email, ids.get(email), p.person_id]);
  }
  const { rows: [t] } = await q(`insert into marketing.templates (name, subject, text_body) values ('t', 's', 'b') returning template_id`);
  const { rows: [k] } = await q(`insert into marketing.campaigns (name, from_email, status) values ('Seeded', 'a@sender.example', 'running') returning campaign_id`);
  campaignId = k.campaign_id;
  await q('insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds) values ($1, 1, $2, 0), ($1, 2, $2, 86400)', [campaignId, t.template_id]);
  // the send ledger: step 1 to everyone at T0; step 2 to ada and bob a day later; cy's failed, dee's stopped
  await q(
    `insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status, sent_at)
     select $1, c.contact_id, s.step_no, c.email, 'queued', null from vault.contacts c cross join (values (1), (2)) s(step_no)
      where c.source = 'report-seed'`,
    [campaignId],
  );
  await q(`update marketing.outreach_history set status = 'sent', sent_at = $2 where campaign_id = $1 and step_no = 1`, [campaignId, at(0)]);
  await q(`update marketing.outreach_history set status = 'sent', sent_at = $2 where campaign_id = $1 and step_no = 2 and email like '%@acme.io'`, [campaignId, at(24)]);
  await q(`update marketing.outreach_history set status = 'failed' where campaign_id = $1 and step_no = 2 and email = 'cy@globex.com'`, [campaignId]);
  await q(`update marketing.outreach_history set status = 'stopped' where campaign_id = $1 and step_no = 2 and email = 'dee@initech.com'`, [campaignId]);
  const events: [string, number, string, string, string | null, number][] = [
    // email, step, kind, verdict, url, hours after T0
    ['ada@acme.io', 1, 'open', 'machine', null, 0.001], // Apple Mail Privacy Protection fetching images at delivery
    ['ada@acme.io', 1, 'click', 'bot', 'https://example.org/a', 0.003], // a link scanner
    ['ada@acme.io', 1, 'open', 'human', null, 1],
    ['ada@acme.io', 1, 'open', 'human', null, 2],
    ['ada@acme.io', 1, 'click', 'human', 'https://example.org/a', 3],
    ['ada@acme.io', 1, 'click', 'human', 'https://example.org/b', 4],
    ['ada@acme.io', 2, 'reply', 'human', null, 48],
    ['bob@acme.io', 1, 'open', 'human', null, 5],
    ['bob@acme.io', 1, 'complaint', 'human', null, 6],
    ['bob@acme.io', 2, 'unsubscribe', 'human', null, 30],
    ['cy@globex.com', 1, 'hard_bounce', 'human', null, 0.01],
    ['dee@initech.com', 1, 'soft_bounce', 'human', null, 0.01],
    ['dee@initech.com', 1, 'auto_reply', 'human', null, 0.02],
  ];
  for (const [email, step, kind, verdict, url, hours] of events) {
    await q(
      `insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, url, occurred_at)
       select outreach_id, campaign_id, step_no, contact_id, $3, $4, $5, $6 from marketing.outreach_history
        where campaign_id = $1 and email = $2 and step_no = $7`,
      [campaignId, email, kind, verdict, url, at(hours), step],
    );
  }
  const res = await stack.http.call('POST', '/api/conversions', {
    external_id: 'won-ada', email: 'ada@acme.io', type: 'closed_won', value: '1000.00', currency: 'USD', occurred_at: at(72).toISOString(),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
});

describe('the campaign report', () => {
  it('equals the hand counts: delivery, opens, clicks per link, replies, funnel, medians, attribution, breakdowns', async () => {
    const res = await stack.http.call('GET', `/api/campaigns/${campaignId}/report`);
    expect(res.status).toBe(200);
    const r = res.body;
    // 6 sent (4 + 2); cy hard- and dee soft-bounced: 4 delivered; rates are over those 4
    expect(r.delivery).toEqual({ sent: 6, delivered: 4, bounced: 2, hard_bounces: 1, soft_bounces: 1, delivery_rate: 0.6667 });
    // 4 open events (1 machine); messages opened: ada's and bob's step 1
    expect(r.opens).toEqual({ total: 4, unique: 2, human: 3, unique_human: 2, machine: 1, rate: 0.5 });
    expect(r.clicks).toMatchObject({ total: 3, unique: 1, human: 2, unique_human: 1, bot: 1, ctr: 0.25, ctor: 0.5 });
    expect(r.clicks.links).toEqual([
      { url: 'https://example.org/a', total: 2, unique: 1, human: 1, unique_human: 1, bot: 1 },
      { url: 'https://example.org/b', total: 1, unique: 1, human: 1, unique_human: 1, bot: 0 },
    ]);
    // ada replied 2 days after her first send
    expect(r.replies).toEqual({ human: 1, auto: 1, rate: 0.25, median_seconds_to_first_reply: 172800 });
    expect(r.unsubscribes).toEqual({ count: 1, rate: 0.25 });
    expect(r.complaints).toEqual({ count: 1, rate: 0.25 });
    expect(r.funnel).toEqual([
      { step: 1, sent: 4, delivered: 2, unique_human_opens: 2, unique_human_clicks: 1, replies: 0, unsubscribes: 0, open_rate: 1, reply_rate: 0, drop_off: null },
      { step: 2, sent: 2, delivered: 2, unique_human_opens: 0, unique_human_clicks: 0, replies: 1, unsubscribes: 1, open_rate: 0, reply_rate: 0.5, drop_off: 0.5 },
    ]);
    // ada's conversion came 3 days after the campaign first touched her; every touch is this campaign's
    expect(r.conversions.count).toBe(1);
    expect(r.conversions.median_seconds_to_conversion).toBe(259200);
    for (const m of r.conversions.models) expect(m, m.model).toMatchObject({ conversions: 1, values: [{ currency: 'USD', value: '1000.00' }] });
    const seg = (rows: { value: string }[]) => Object.fromEntries(rows.map(({ value, ...rest }) => [value, rest]));
    expect(seg(r.breakdowns.company_domain)).toEqual({
      'acme.io': { sent: 4, delivered: 4, unique_human_opens: 2, unique_human_clicks: 1, replies: 1, unsubscribes: 1, open_rate: 0.5, click_rate: 0.25, reply_rate: 0.25 },
      'globex.com': { sent: 1, delivered: 0, unique_human_opens: 0, unique_human_clicks: 0, replies: 0, unsubscribes: 0, open_rate: 0, click_rate: 0, reply_rate: 0 },
      'initech.com': { sent: 1, delivered: 0, unique_human_opens: 0, unique_human_clicks: 0, replies: 0, unsubscribes: 0, open_rate: 0, click_rate: 0, reply_rate: 0 },
    });
    expect(Object.fromEntries(r.breakdowns.seniority.map((s: { value: string; sent: number; replies: number }) => [s.value, [s.sent, s.replies]])))
      .toEqual({ vp: [3, 1], director: [2, 0], '(none)': [1, 0] });
    expect(r.breakdowns.industry.map((s: { value: string; sent: number }) => [s.value, s.sent]).sort())
      .toEqual([['@sum(1)', 1], ['finance', 1], ['software', 4]]);
    // the attribution endpoint agrees
    const attribution = await stack.http.call('GET', `/api/campaigns/${campaignId}/attribution`);
    expect(attribution.body.models).toEqual(r.conversions.models);
    expect((await stack.http.call('GET', '/api/campaigns/999999999/report')).status).toBe(404);
  });

  it('CSV exports escape cells a spreadsheet would run as formulas', async () => {
    const recipients = await stack.http.call('GET', `/api/campaigns/${campaignId}/report?format=csv&rows=recipients`);
    expect(recipients.status).toBe(200);
    expect(recipients.headers['content-type']).toMatch(/^text\/csv/);
    const rows: Record<string, string>[] = parse(recipients.raw, { columns: true });
    expect(rows.map((x) => x.email)).toEqual(['ada@acme.io', 'bob@acme.io', 'cy@globex.com', 'dee@initech.com']);
    const cy = rows.find((x) => x.email === 'cy@globex.com')!;
    expect(cy.title).toBe(`'${EVIL_TITLE}`);
    expect(recipients.raw).not.toMatch(/(^|,)=HYPERLINK/m);
    expect(rows.find((x) => x.email === 'ada@acme.io')).toMatchObject({ messages_sent: '2', opened: 'true', clicked: 'true', replied: 'true', conversions: '1' });
    expect(cy).toMatchObject({ messages_sent: '1', bounced: 'true', industry: "'@sum(1)" });

    const summary = await stack.http.call('GET', `/api/campaigns/${campaignId}/report?format=csv`);
    expect(summary.status).toBe(200);
    const lines: string[][] = parse(summary.raw);
    expect(lines[0]).toEqual(['section', 'item', 'metric', 'value']);
    expect(lines).toContainEqual(['delivery', '', 'delivered', '4']);
    expect(lines).toContainEqual(['industry', "'@sum(1)", 'sent', '1']);
    expect(lines).toContainEqual(['attribution', 'linear', 'value USD', '1000.00']);
    for (const line of lines) for (const cell of line) expect(cell, line.join(',')).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('breakdowns keep the most-sent segments; a rebuild of the rollups from history answers the same report', async () => {
    const top = await stack.http.call('GET', `/api/campaigns/${campaignId}/report?breakdown_limit=1`);
    expect(top.body.breakdowns.company_domain.map((s: { value: string }) => s.value)).toEqual(['acme.io']);
    expect(top.body.breakdowns.seniority.map((s: { value: string }) => s.value)).toEqual(['vp']);
    // ties (globex.com and initech.com: 1 sent each) go by value
    const two = await stack.http.call('GET', `/api/campaigns/${campaignId}/report?breakdown_limit=2`);
    expect(two.body.breakdowns.company_domain.map((s: { value: string }) => s.value)).toEqual(['acme.io', 'globex.com']);
    const live = await stack.http.call('GET', `/api/campaigns/${campaignId}/report`);
    await stack.db.pool.query('select analytics.f_rebuild_rollups()');
    const rebuilt = await stack.http.call('GET', `/api/campaigns/${campaignId}/report`);
    expect({ ...rebuilt.body, generated_at: null }).toEqual({ ...live.body, generated_at: null });
  });

  it('a reply recorded before its send was confirmed counts from that send', async () => {
    const q = (sql: string, params: unknown[] = []) => stack.db.pool.query(sql, params);
    const ids = await seedContacts(stack.db.pool, 'report-early-reply', [{ email: 'early@example.com' }]);
    const { rows: [t] } = await q(`select template_id from marketing.templates limit 1`);
    const { rows: [k] } = await q(`insert into marketing.campaigns (name, from_email, status) values ('Early', 'a@sender.example', 'running') returning campaign_id`);
    await q('insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds) values ($1, 1, $2, 0)', [k.campaign_id, t.template_id]);
    const { rows: [h] } = await q(
      `insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status) values ($1, $2, 1, 'early@example.com', 'sending')
       returning outreach_id`,
      [k.campaign_id, ids.get('early@example.com')],
    );
    await q(
      `insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, occurred_at) values ($1, $2, 1, $3, 'reply', 'human', $4)`,
      [h.outreach_id, k.campaign_id, ids.get('early@example.com'), at(2)],
    );
    await q(`update marketing.outreach_history set status = 'sent', sent_at = $2 where outreach_id = $1`, [h.outreach_id, at(0)]);
    const r = await stack.http.call('GET', `/api/campaigns/${k.campaign_id}/report`);
    expect(r.body.replies).toMatchObject({ human: 1, median_seconds_to_first_reply: 7200 });
  });

  it('a run that completes writes its report to marketing.feedback_reports', async () => {
    await seedContacts(stack.db.pool, 'report-run', [{ email: 'run1@example.com' }, { email: 'run2@example.com' }]);
    const template = await stack.http.template({ subject: 'Hello {{ contact.first_name }}', text_body: 'hi' });
    const id = await stack.http.campaign({ criteria: { sources: ['report-run'] }, rate_per_minute: 6000, steps: [{ template_id: template }] });
    await result(stack.temporal, await stack.http.start(id));
    const { rows: [stored] } = await stack.db.pool.query('select report from marketing.feedback_reports where campaign_id = $1', [id]);
    expect(stored.report.outcome).toBe('completed');
    expect(stored.report.report).toMatchObject({ campaign_id: id, status: 'completed', delivery: { sent: 2, delivered: 2 }, funnel: [{ step: 1, sent: 2 }] });
    const live = await stack.http.call('GET', `/api/campaigns/${id}/report`);
    expect(live.body.delivery).toEqual(stored.report.report.delivery);
  });
});
