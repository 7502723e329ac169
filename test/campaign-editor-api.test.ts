// The endpoints behind the web app's campaign screens, through the real API, Temporal and Postgres:
// the audience's live count equals what a start snapshots, unsaved template content previews for a
// contact with a save's per-field checks, and the outreach history filters by the funnel's events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { result, seedContacts, startCampaignStack, type CampaignStack } from './support/campaign-fixtures';

let stack: CampaignStack;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'campaign-editor' });
});

afterAll(async () => {
  await stack?.close();
});

const count = (body: unknown) => stack.http.call('POST', '/api/campaigns/audience-count', body);

describe('POST /api/campaigns/audience-count', () => {
  it('counts what the campaign would snapshot at start: active, scored, not suppressed, matching', async () => {
    await seedContacts(stack.db.pool, 'aud-a', [
      { email: 'a1@aud.example', title: 'VP Sales' }, { email: 'a2@aud.example', title: 'VP Marketing' }, { email: 'a3@aud.example', title: 'Engineer' },
      { email: 'a4@aud.example', partial: true }, // scores 55: under the default 80
      { email: 'a5@aud.example', title: 'VP Suppressed' },
    ]);
    await seedContacts(stack.db.pool, 'aud-b', [{ email: 'b1@aud.example', title: 'VP Sales' }]);
    await stack.db.pool.query(`insert into marketing.suppressions (email, reason) values ('a5@aud.example', 'manual')`);

    expect((await count({ criteria: { sources: ['aud-a'] } })).body).toEqual({ count: 3, capped: false });
    expect((await count({ criteria: { sources: ['aud-a'], min_score: 0 } })).body).toEqual({ count: 4, capped: false });
    expect((await count({ criteria: { sources: ['aud-a', 'aud-b'], title_contains: 'vp' } })).body).toEqual({ count: 3, capped: false });

    // the same criteria, started: the snapshot queues exactly the counted contacts
    const criteria = { sources: ['aud-a', 'aud-b'], title_contains: 'vp' };
    const t = await stack.http.template({ subject: 'Hi', text_body: 'Hello' });
    const id = await stack.http.campaign({ criteria, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(id));
    const { rows: [n] } = await stack.db.pool.query('select count(distinct contact_id)::int as n from marketing.outreach_history where campaign_id = $1', [id]);
    expect(n.n).toBe(3);
  });

  it('refuses criteria the campaign would refuse, naming the field, and counts {} as the default audience', async () => {
    const bad = await count({ criteria: { min_score: 101 } });
    expect(bad.status).toBe(400);
    expect(bad.body.details.issues.map((i: { field: string }) => i.field)).toContain('criteria.min_score');
    const unknown = await count({ criteria: { colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('colour');
    const { rows: [n] } = await stack.db.pool.query(
      `select count(*)::int as n from vault.contacts c where status = 'active' and score >= 80
          and not exists (select 1 from marketing.suppressions s where s.email = c.email)`);
    expect((await count({})).body).toEqual({ count: n.n, capped: false });
  });
});

describe('POST /api/templates/preview (unsaved content)', () => {
  it('renders subject and body for the chosen contact', async () => {
    const ids = await seedContacts(stack.db.pool, 'preview', [{ email: 'grace@preview.example', first_name: 'Grace', company_name: 'Navy' }]);
    const res = await stack.http.call('POST', '/api/templates/preview', {
      subject: 'Hi {{ contact.first_name }}', text_body: 'How is {{ contact.company_name }}?', contact_id: ids.get('grace@preview.example'),
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ subject: 'Hi Grace', html: null, text: 'How is Navy?' });
    // no contact chosen yet: a sample one
    const sample = await stack.http.call('POST', '/api/templates/preview', { subject: 'Hi {{ contact.first_name }}', text_body: 'x' });
    expect(sample.body).toEqual({ subject: 'Hi Alexandra', html: null, text: 'x' });
  });

  it('answers 400 per field for unknown variables and syntax errors, 404 naming contact_id for a missing contact', async () => {
    const ids = await seedContacts(stack.db.pool, 'preview-bad', [{ email: 'x@preview.example' }]);
    const contact_id = ids.get('x@preview.example');
    const res = await stack.http.call('POST', '/api/templates/preview', { subject: 'Hi {{ contact.nickname }}', html: '<p>{% if %}</p>', contact_id });
    expect(res.status).toBe(400);
    const issues = res.body.details.issues as { field: string; message: string }[];
    expect(issues).toContainEqual({ field: 'subject', message: 'unknown variable "contact.nickname"' });
    expect(issues.some((i) => i.field === 'html' && /syntax/.test(i.message))).toBe(true);

    const noBody = await stack.http.call('POST', '/api/templates/preview', { subject: 'Hi', contact_id });
    expect(noBody.status).toBe(400);
    expect(noBody.body.details.issues.map((i: { field: string }) => i.field)).toContain('html');

    const missing = await stack.http.call('POST', '/api/templates/preview', { subject: 'Hi', text_body: 'x', contact_id: 999_999_999 });
    expect(missing.status).toBe(404);
    expect(missing.body.details.issues).toEqual([{ field: 'contact_id', message: 'contact 999999999 does not exist' }]);
  });
});

describe('GET /api/campaigns/:id/outreach?event=', () => {
  it('keeps the rows a funnel number counts', async () => {
    await seedContacts(stack.db.pool, 'events', [{ email: 'e1@events.example' }, { email: 'e2@events.example' }, { email: 'e3@events.example' }]);
    const t = await stack.http.template({ subject: 'Hello', html: '<p>Hello <a href="https://example.org/offer">offer</a></p>' });
    const id = await stack.http.campaign({ criteria: { sources: ['events'] }, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(id));
    // e2 opens it a while after delivery (an open at delivery would be a machine's)
    const message = stack.sink.messages.find((m) => m.to.includes('e2@events.example'))!;
    const pixel = new URL(/src="([^"]+\/t\/o\/[^"]+)"/.exec((await simpleParser(message.raw)).html as string)![1]).pathname;
    await stack.db.pool.query(`update marketing.outreach_history set sent_at = now() - interval '5 minutes' where campaign_id = $1`, [id]);
    const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    expect((await stack.app.inject({ method: 'GET', url: pixel, headers: { 'user-agent': chrome } })).statusCode).toBe(200);

    const page = async (q: string) => (await stack.http.call('GET', `/api/campaigns/${id}/outreach${q}`)).body;
    expect((await page('?event=sent')).rows.map((r: { email: string }) => r.email).sort()).toEqual(['e1@events.example', 'e2@events.example', 'e3@events.example']);
    expect((await page('?event=opened')).rows.map((r: { email: string }) => r.email)).toEqual(['e2@events.example']);
    expect((await page('?event=replied')).rows).toEqual([]);
    const metrics = (await stack.http.call('GET', `/api/campaigns/${id}/metrics`)).body;
    expect(metrics.steps[0]).toMatchObject({ sent: 3, opened: 1, replied: 0 });

    // keyset pages under the filter
    const first = await page('?event=sent&limit=2');
    expect(first.rows).toHaveLength(2);
    const second = await page(`?event=sent&limit=2&cursor=${first.next_cursor}`);
    expect(second).toMatchObject({ next_cursor: null });
    expect(second.rows).toHaveLength(1);

    const bad = await stack.http.call('GET', `/api/campaigns/${id}/outreach?event=forwarded`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('event');
  });
});
