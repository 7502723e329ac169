// Issue 13, items 3, 5, 8 and 9 (campaign routes): imported data cannot inject markup or get a
// link signed, inbound events must prove they answer our mail, suppressions can be lifted by an
// admin, bad campaign input is a 400 naming the field, and a campaign that cannot run can still
// be cancelled. Each exploit or bad input: answered as it should, nothing stored or sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { bearer, uniqueId } from './support/harness';
import { api, result, seedContacts, startCampaignStack, TRACKING_SECRET, waitUntil, type CampaignStack } from './support/campaign-fixtures';
import { verifyTrackingToken } from '../common/tracking-tokens';
import { createCampaignsRepository } from '../db/campaigns';
import type { CampaignProgress } from '../contracts/campaign';

let stack: CampaignStack;
let admin: ReturnType<typeof api>;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'hardening' });
  admin = api(stack.app, await bearer(stack.db.pool, ['admin'], 100_000, 'hardening-admin'));
});

afterAll(async () => {
  await stack?.close();
});

const to = (email: string) => stack.sink.messages.filter((m) => m.to.includes(email));
const count = async (sql: string, params: unknown[] = []) => (await stack.db.pool.query(`select count(*)::int as n from ${sql}`, params)).rows[0].n as number;
const issueFields = (body: { details?: { issues?: { field: string }[] } }) => body.details?.issues?.map((i) => i.field) ?? [];

describe('contact data in HTML mail (item 3)', () => {
  const phish = '<a href="https://evil.example/phish">Update your account</a>';

  it('is escaped, never becomes a tracked link, and yields no click token for its URL', async () => {
    const email = 'victim-html@example.com';
    const source = uniqueId('html');
    const ids = await seedContacts(stack.db.pool, source, [{ email, first_name: phish }]);
    await stack.db.pool.query(`update vault.contacts set linkedin_url = 'https://evil.example/profile' where contact_id = $1`, [ids.get(email)]);
    const t = await stack.http.template({
      subject: 'Hi {{ contact.first_name }}',
      html: '<p>Hi {{ contact.first_name }} / {{ contact.first_name | raw }}</p>'
        + '<p><a href="https://example.org/offer?a=1&amp;b=2">offer</a> <a href="{{ contact.linkedin_url }}">profile</a> <a href="{{ unsubscribe_url }}">unsubscribe</a></p>',
      text_body: 'Hi {{ contact.first_name }}',
    });
    const campaignId = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(campaignId));
    const [message] = to(email);
    const parsed = await simpleParser(message.raw);
    const html = parsed.html as string;

    // escaped in HTML (even through | raw), as it is in the subject and the text part (not HTML)
    const escaped = '&lt;a href=&#34;https://evil.example/phish&#34;&gt;Update your account&lt;/a&gt;';
    expect(html).toContain(`<p>Hi ${escaped} / ${escaped}</p>`);
    expect(html).not.toContain('<a href="https://evil.example/phish"');
    expect(parsed.subject).toBe(`Hi ${phish}`);
    expect(parsed.text?.trim()).toBe(`Hi ${phish}`);

    // the template's own links are tracked; the href that came out of contact data is not; last
    // comes the hidden honeypot link for link scanners
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs).toHaveLength(4);
    expect(hrefs[0]).toMatch(/^https:\/\/track\.example\.test\/t\/c\//);
    expect(hrefs[1]).toBe('https://evil.example/profile');
    expect(hrefs[2]).toMatch(/^https:\/\/track\.example\.test\/t\/c\//);
    expect(hrefs[3]).toMatch(/^https:\/\/track\.example\.test\/t\/c\//);

    // every click token anywhere in the message (HTML, text, headers) leads to the template's links
    // or the honeypot (the sending domain's home page) only
    const everything = [html, parsed.text ?? '', ...[...parsed.headers.values()].map((v) => JSON.stringify(v))].join('\n');
    const tokens = [...everything.matchAll(/\/t\/c\/([\w.-]+)/g)].map((m) => m[1]);
    expect(tokens).toHaveLength(3);
    const claims = tokens.map((token) => verifyTrackingToken(TRACKING_SECRET, token, 'click'));
    expect(claims[0]).toMatchObject({ url: 'https://example.org/offer?a=1&b=2' });
    expect(claims[0]?.honeypot).toBeUndefined();
    expect(claims[1]?.url).toMatch(/^https:\/\/track\.example\.test\/u\//);
    expect(claims[2]).toMatchObject({ url: 'https://sender.example/', honeypot: true });
    for (const token of tokens) {
      const go = await stack.app.inject({ method: 'GET', url: `/t/c/${token}` });
      expect(go.statusCode).toBe(302);
      expect(new URL(go.headers.location as string).hostname).not.toBe('evil.example');
    }
  });

  it('previews escape too, with links as written', async () => {
    const t = await stack.http.template({ subject: 's', html: '<b>{{ contact.title }}</b><a href="https://example.org/x">x</a>' });
    const [contactId] = (await seedContacts(stack.db.pool, uniqueId('preview'), [{ email: 'preview-html@example.com', title: '<script>alert(1)</script>' }])).values();
    const res = await stack.http.call('POST', `/api/templates/${t}/preview`, { contact_id: contactId });
    expect(res.status).toBe(200);
    expect(res.body.html).toBe('<b>&lt;script&gt;alert(1)&lt;/script&gt;</b><a href="https://example.org/x">x</a>');
  });
});

describe('inbound events (item 5)', () => {
  const twoStep = async (source: string, delaySeconds: number) => {
    const [a, b] = await Promise.all([
      stack.http.template({ subject: 'First', text_body: 'one' }),
      stack.http.template({ subject: 'Second', text_body: 'two' }),
    ]);
    return stack.http.campaign({ criteria: { sources: [source] }, rate_per_minute: 6000, steps: [{ template_id: a }, { template_id: b, delay: { seconds: delaySeconds } }] });
  };

  it('Message-IDs are unguessable; a reply counts only from the recipient, quoting our Message-ID', async () => {
    const source = uniqueId('reply');
    await seedContacts(stack.db.pool, source, [{ email: 'victim-reply@example.com' }, { email: 'real-replier@example.com' }]);
    const campaignId = await twoStep(source, 3);
    const workflowId = await stack.http.start(campaignId);
    const victim = await waitUntil(async () => to('victim-reply@example.com')[0], 15_000, 'step 1 to the victim');
    const replier = await waitUntil(async () => to('real-replier@example.com')[0], 15_000, 'step 1 to the replier');
    expect(victim.messageId).toMatch(/^<oh\.\d+\.[0-9a-f]{32}@sender\.example>$/);
    const { rows: [row] } = await stack.db.pool.query(`select outreach_id from marketing.outreach_history where email = 'victim-reply@example.com' and step_no = 1`);
    const reply = (body: Record<string, unknown>) => stack.http.call('POST', '/api/webhooks/replies', body);

    // someone who saw (or guessed) a Message-ID, from another address; the old guessable form; no Message-ID at all
    for (const forged of [
      { from: 'attacker@evil.test', in_reply_to: victim.messageId },
      { from: 'victim-reply@example.com', in_reply_to: `<oh.${row.outreach_id}.c${campaignId}@sender.example>` },
      { from: 'victim-reply@example.com', references: [`<oh.${row.outreach_id}.${'0'.repeat(32)}@sender.example>`] },
      { from: 'victim-reply@example.com', subject: 'Re: First' },
    ]) {
      expect(await reply(forged)).toMatchObject({ status: 202, body: { matched: false } });
    }
    // the recipient answering our message
    expect(await reply({ from: 'Real-Replier@Example.com', in_reply_to: replier.messageId })).toMatchObject({ status: 202, body: { matched: true } });

    const final = (await result(stack.temporal, workflowId)) as CampaignProgress;
    expect(to('victim-reply@example.com').map((m) => m.subject)).toEqual(['First', 'Second']);
    expect(to('real-replier@example.com').map((m) => m.subject)).toEqual(['First']);
    expect(final.steps[1]).toMatchObject({ sent: 1, stopped: 1 });
    expect(await count(`marketing.outreach_history where campaign_id = $1 and replied_at is not null and email = 'victim-reply@example.com'`, [campaignId])).toBe(0);
    expect(await count(`intake.audit_log where action = 'reply_received' and entity_id = $1`, [String(row.outreach_id)])).toBe(0);
  });

  it('a bounce or complaint for mail we never sent is a 422 naming the field; nothing is stored', async () => {
    const source = uniqueId('never');
    const ids = await seedContacts(stack.db.pool, source, [{ email: 'never-mailed@example.com' }]);
    const before = {
      suppressions: await count('marketing.suppressions'),
      audit: await count(`intake.audit_log where action in ('bounce_received', 'complaint_received')`),
    };
    const bounce = (body: Record<string, unknown>) => stack.http.call('POST', '/api/webhooks/bounces', body);
    for (const [body, field] of [
      [{ type: 'hard', email: 'never-mailed@example.com' }, 'email'],
      [{ type: 'complaint', email: 'never-mailed@example.com' }, 'email'],
      [{ type: 'soft', email: 'nobody-at-all@example.com' }, 'email'],
      [{ type: 'hard', message_id: '0' }, 'message_id'],
      [{ type: 'complaint', message_id: '<oh.1.c1@sender.example>' }, 'message_id'],
      [{ type: 'hard', message_id: `<oh.1.${'a'.repeat(32)}@sender.example>` }, 'message_id'],
    ] as const) {
      const res = await bounce(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(issueFields(res.body)).toEqual([field]);
    }
    expect(await count('marketing.suppressions')).toBe(before.suppressions);
    expect(await count(`intake.audit_log where action in ('bounce_received', 'complaint_received')`)).toBe(before.audit);
    const { rows: [contact] } = await stack.db.pool.query('select status from vault.contacts where contact_id = $1', [ids.get('never-mailed@example.com')]);
    expect(contact.status).toBe('active');
  });

  it('an admin lifts a complaint\'s suppression and do_not_contact, audited; a write key cannot', async () => {
    const source = uniqueId('lift');
    const ids = await seedContacts(stack.db.pool, source, [{ email: 'complainer@example.com' }]);
    const t = await stack.http.template({ subject: 'Hello', text_body: 'x' });
    const campaignId = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(campaignId));
    const [sent] = to('complainer@example.com');
    expect((await stack.http.call('POST', '/api/webhooks/bounces', { type: 'complaint', message_id: sent.messageId })).status).toBe(202);
    const status = async () => (await stack.db.pool.query('select status from vault.contacts where contact_id = $1', [ids.get('complainer@example.com')])).rows[0].status;
    expect(await status()).toBe('do_not_contact');
    expect((await stack.http.call('GET', '/api/suppressions/complainer@example.com')).body).toMatchObject({ reason: 'complained' });

    const refused = await stack.http.call('DELETE', '/api/suppressions/complainer@example.com');
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/admin/);
    expect(await status()).toBe('do_not_contact');

    const lifted = await admin.call('DELETE', '/api/suppressions/Complainer@Example.com?note=asked%20to%20hear%20from%20us%20again');
    expect(lifted.status).toBe(204);
    expect((await stack.http.call('GET', '/api/suppressions/complainer@example.com')).status).toBe(404);
    expect(await status()).toBe('active');
    const { rows: audit } = await stack.db.pool.query(`select actor, before, after from intake.audit_log where action = 'suppression_lifted' and entity_id = 'complainer@example.com'`);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'hardening-admin',
      before: { suppression: { reason: 'complained', source: 'webhook' }, contact_status: 'do_not_contact' },
      after: { suppression: null, contact_status: 'active', note: 'asked to hear from us again' },
    });
    // a manual entry still comes off with write scope, audited too
    await stack.http.call('POST', '/api/suppressions', { emails: ['manual-lift@example.com'] });
    expect((await stack.http.call('DELETE', '/api/suppressions/manual-lift@example.com')).status).toBe(204);
    expect(await count(`intake.audit_log where action = 'suppression_lifted' and entity_id = 'manual-lift@example.com'`)).toBe(1);
    expect((await admin.call('DELETE', '/api/suppressions/manual-lift@example.com')).status).toBe(404);
  });
});

describe('bad campaign input (items 8 and 9)', () => {
  let templateId: number;
  beforeAll(async () => {
    templateId = await stack.http.template({ subject: 'x', text_body: 'x' });
  });

  it('criteria Postgres cannot use are a 400 naming the field, at create and at edit; nothing is stored', async () => {
    const draft = await stack.http.campaign({ steps: [{ template_id: templateId }] });
    const before = await count('marketing.campaigns');
    for (const [criteria, field] of [
      [{ created_after: '0000-01-01T00:00:00Z' }, 'criteria.created_after'],
      [{ created_after: '2020-01-01T00:00:00-19:32' }, 'criteria.created_after'],
      [{ created_after: '2020-01-01T00:00:00+14:01' }, 'criteria.created_after'],
      [{ created_after: '2021-02-29T00:00:00Z' }, 'criteria.created_after'],
      [{ min_employees: 2 ** 53 }, 'criteria.min_employees'],
      [{ min_employees: 2 ** 31 }, 'criteria.min_employees'],
      [{ max_employees: 2 ** 53 - 1 }, 'criteria.max_employees'],
    ] as const) {
      const created = await stack.http.call('POST', '/api/campaigns', { name: 'bad', from_email: 'a@sender.example', criteria, steps: [{ template_id: templateId }] });
      expect(created.status, JSON.stringify(criteria)).toBe(400);
      expect(new Set(issueFields(created.body))).toEqual(new Set([field]));
      const edited = await stack.http.call('PATCH', `/api/campaigns/${draft}`, { criteria });
      expect(edited.status).toBe(400);
      expect(new Set(issueFields(edited.body))).toEqual(new Set([field]));
    }
    expect(await count('marketing.campaigns')).toBe(before);
    expect((await stack.http.call('GET', `/api/campaigns/${draft}`)).body.criteria).toEqual({});
    // the bounds themselves are accepted
    const ok = await stack.http.call('POST', '/api/campaigns', {
      name: 'edges', from_email: 'a@sender.example', steps: [{ template_id: templateId }],
      criteria: { created_after: '0001-01-01T00:00:00-14:00', min_employees: 0, max_employees: 2 ** 31 - 1 },
    });
    expect(ok.status).toBe(201);
  });

  it('an out-of-range step filter and a malformed cron are 400s naming the field', async () => {
    const id = await stack.http.campaign({ steps: [{ template_id: templateId }] });
    const outreach = await stack.http.call('GET', `/api/campaigns/${id}/outreach?step=2147483648`);
    expect(outreach.status).toBe(400);
    expect(issueFields(outreach.body)).toEqual(['step']);
    for (const cron of [['0'], ['61 * * * *']]) {
      const res = await stack.http.call('POST', `/api/campaigns/${id}/schedule`, { cron });
      expect(res.status).toBe(400);
      expect(issueFields(res.body)).toEqual(['cron']);
    }
    expect((await stack.http.call('GET', `/api/campaigns/${id}/schedule`)).status).toBe(404);
    expect((await stack.http.call('GET', `/api/campaigns/${id}`)).body.status).toBe('draft');
  });

  it('criteria that got into the database anyway fail the start at once, without retrying', async () => {
    const campaigns = createCampaignsRepository(stack.db.pool);
    const source = uniqueId('dbbad');
    await seedContacts(stack.db.pool, source, [{ email: 'dbbad@example.com' }]);
    for (const criteria of [
      { sources: [source], created_after: '0000-01-01T00:00:00Z' },
      { sources: [source], created_after: '2020-01-01T00:00:00-19:32' },
      { sources: [source], min_employees: 2 ** 53 },
      { sources: [source], min_score: 'many' },
      { sources: source },
    ]) {
      const id = await stack.http.campaign({ steps: [{ template_id: templateId }] });
      await stack.db.pool.query('update marketing.campaigns set criteria = $2 where campaign_id = $1', [id, criteria]);
      const started = await campaigns.startRun(id, `campaign:${id}`, new Date());
      expect(started, JSON.stringify(criteria)).toMatchObject({ outcome: 'invalid-criteria', reason: expect.stringContaining('invalid criteria') });
      expect(await campaigns.status(id)).toBe('draft');
      expect(await count('marketing.outreach_history where campaign_id = $1', [id])).toBe(0);
    }
  });
});

describe('cancel always ends a campaign (item 8)', () => {
  let templateId: number;
  beforeAll(async () => {
    templateId = await stack.http.template({ subject: 'never', text_body: 'never' });
  });

  const campaignIn = async (source: string) => {
    await seedContacts(stack.db.pool, source, [{ email: `${source}@example.com` }]);
    return stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: templateId }] });
  };
  const expectCancelled = async (id: number, workflowId: string) => {
    expect((await stack.http.call('GET', `/api/campaigns/${id}`)).body.status).toBe('cancelled');
    const { rows: [audit] } = await stack.db.pool.query(`select actor, after, workflow_id from intake.audit_log where action = 'campaign_cancelled' and entity_id = $1`, [String(id)]);
    expect(audit).toMatchObject({ actor: 'hardening-test', after: { status: 'cancelled' }, workflow_id: workflowId });
    const { rows: [report] } = await stack.db.pool.query('select report from marketing.feedback_reports where campaign_id = $1', [id]);
    expect(report.report.outcome).toBe('cancelled');
    // a cancelled campaign never starts again
    expect((await stack.http.call('POST', `/api/campaigns/${id}/start`)).status).toBe(409);
  };

  it('a run whose start failed for good (criteria made invalid in the database)', async () => {
    const source = uniqueId('failed-start');
    const id = await campaignIn(source);
    await stack.db.pool.query(`update marketing.campaigns set criteria = criteria || '{"created_after": "0000-01-01T00:00:00Z"}' where campaign_id = $1`, [id]);
    const workflowId = await stack.http.start(id);
    await expect(result(stack.temporal, workflowId)).rejects.toThrow(); // CampaignInvalid: not retried
    const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
    const failures = history.events!.filter((e) => e.activityTaskFailedEventAttributes);
    expect(failures).toHaveLength(1);
    expect(failures[0].activityTaskFailedEventAttributes!.failure!.applicationFailureInfo).toMatchObject({ type: 'CampaignInvalid', nonRetryable: true });

    const res = await stack.http.call('POST', `/api/campaigns/${id}/cancel`);
    expect(res).toMatchObject({ status: 202, body: { workflow_id: workflowId, signal: 'cancel' } });
    await expectCancelled(id, workflowId);
    expect(to(`${source}@example.com`)).toHaveLength(0);
  });

  it('a run stuck retrying its start is terminated, and the campaign ends cancelled', async () => {
    const source = uniqueId('stuck');
    const id = await campaignIn(source);
    // an error retrying cannot fix but that looks transient: the snapshot's insert is refused
    const constraint = `stuck_${id}`;
    await stack.db.pool.query(`alter table marketing.outreach_history add constraint ${constraint} check (campaign_id <> ${id}) not valid`);
    try {
      const workflowId = await stack.http.start(id);
      const handle = stack.temporal.workflow.getHandle(workflowId);
      await waitUntil(async () => ((await handle.describe()).raw.pendingActivities?.[0]?.attempt ?? 0) >= 2, 20_000, 'the start activity to retry');

      const res = await stack.http.call('POST', `/api/campaigns/${id}/cancel`);
      expect(res).toMatchObject({ status: 202, body: { workflow_id: workflowId, signal: 'cancel', terminated: true } });
      expect((await handle.describe()).status.name).toBe('TERMINATED');
      await expectCancelled(id, workflowId);
    } finally {
      await stack.db.pool.query(`alter table marketing.outreach_history drop constraint ${constraint}`);
    }
    expect(to(`${source}@example.com`)).toHaveLength(0);
  });
});
