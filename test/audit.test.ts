// Issue 10, audit every operation: each audited action performed through the API (or by a run it
// started) finds its row in GET /api/audit, with actor, before/after, request id and workflow id;
// the filters and the keyset cursor; the log refuses UPDATE, DELETE and TRUNCATE; the audit
// context of one transaction never reaches the next on the same connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, result, seedContacts, startCampaignStack, waitUntil, type CampaignStack } from './support/campaign-fixtures';
import { bearer, uniqueId } from './support/harness';

let stack: CampaignStack;
let admin: ReturnType<typeof api>;
const WRITER = 'audit-test'; // the stack's key: `${name}-test`
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'audit' });
  admin = api(stack.app, await bearer(stack.db.pool, ['admin'], 100_000, 'audit-admin'));
});

afterAll(async () => {
  await stack?.close();
});

interface Entry {
  audit_id: number;
  at: string;
  actor: string | null;
  action: string;
  entity: string;
  entity_id: string | null;
  before: any;
  after: any;
  request_id: string | null;
  workflow_id: string | null;
}

/** Every row GET /api/audit gives for these filters, following the cursor. */
async function entries(filters: Record<string, string>): Promise<Entry[]> {
  const all: Entry[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ ...filters, ...(cursor ? { cursor } : {}) });
    const res = await admin.call('GET', `/api/audit?${query}`);
    expect(res.status, res.raw).toBe(200);
    all.push(...res.body.entries);
    cursor = res.body.next_cursor;
  } while (cursor);
  return all;
}

/** The one row of this action on this entity. */
async function entry(entity: string, entityId: string | number, action: string): Promise<Entry> {
  const rows = (await entries({ entity, entity_id: String(entityId) })).filter((e) => e.action === action);
  expect(rows.map((r) => r.action), `${action} on ${entity} ${entityId}`).toEqual([action]);
  return rows[0];
}

const byWriter = { actor: WRITER, request_id: expect.stringMatching(UUID) };

describe('templates', () => {
  it('create, update and delete each write a row: the template after, the changed fields, the template before', async () => {
    const id = await stack.http.template({ name: 'welcome', subject: 'Hello {{ contact.first_name }}', text_body: 'Hi' });
    expect(await entry('template', id, 'template_created')).toMatchObject({
      ...byWriter, before: null, after: { template_id: id, name: 'welcome', subject: 'Hello {{ contact.first_name }}', text_body: 'Hi' },
    });

    const put = await stack.http.call('PUT', `/api/templates/${id}`, { name: 'welcome', subject: 'Welcome', text_body: 'Hi' });
    expect(put.status).toBe(200);
    const updated = await entry('template', id, 'template_updated');
    expect(updated).toMatchObject(byWriter);
    expect(updated.request_id).toBe(put.headers['x-request-id']); // the answer names its request
    expect(updated.before).toEqual({ subject: 'Hello {{ contact.first_name }}' }); // only what changed
    expect(updated.after).toEqual({ subject: 'Welcome' });

    expect((await stack.http.call('DELETE', `/api/templates/${id}`)).status).toBe(204);
    expect(await entry('template', id, 'template_deleted')).toMatchObject({
      ...byWriter, before: { template_id: id, name: 'welcome', subject: 'Welcome' }, after: null,
    });
  });
});

describe('campaigns', () => {
  let templateId: number;
  beforeAll(async () => {
    templateId = await stack.http.template({ subject: 'Hi', text_body: 'Hello' });
  });

  it('create, update and delete each write a row', async () => {
    const id = await stack.http.campaign({ name: 'spring', criteria: { sources: ['nobody'] }, steps: [{ template_id: templateId }] });
    expect(await entry('campaign', id, 'campaign_created')).toMatchObject({
      ...byWriter, before: null,
      after: { campaign_id: id, name: 'spring', status: 'draft', from_email: 'sales@sender.example', steps: [{ step_no: 1, template_id: templateId, delay_seconds: 0 }] },
    });

    const patched = await stack.http.call('PATCH', `/api/campaigns/${id}`, { name: 'summer', rate_per_minute: 30 });
    expect(patched.status, patched.raw).toBe(200);
    const updated = await entry('campaign', id, 'campaign_updated');
    expect(updated).toMatchObject(byWriter);
    expect(updated.before).toEqual({ name: 'spring', rate_per_minute: 60 });
    expect(updated.after).toEqual({ name: 'summer', rate_per_minute: 30 });

    expect((await stack.http.call('DELETE', `/api/campaigns/${id}`)).status).toBe(204);
    expect(await entry('campaign', id, 'campaign_deleted')).toMatchObject({
      ...byWriter, before: { campaign_id: id, name: 'summer', steps: [{ template_id: templateId }] }, after: null,
    });
  });

  it('an update of the sending window and the steps records both, and the campaign reads them back', async () => {
    const id = await stack.http.campaign({ criteria: { sources: ['nobody'] }, from_name: 'Sales', steps: [{ template_id: templateId }] });
    const window = { days: [1, 2, 3], start: '09:00', end: '17:30' };
    const patched = await stack.http.call('PATCH', `/api/campaigns/${id}`, {
      window, from_name: null, steps: [{ template_id: templateId }, { template_id: templateId, delay: { hours: 2 } }],
    });
    expect(patched.status, patched.raw).toBe(200);
    expect(patched.body).toMatchObject({ window: { days: [1, 2, 3], start: '09:00:00', end: '17:30:00' }, from_name: null, steps: [{ step_no: 1 }, { step_no: 2, delay_seconds: 7200 }] });
    const updated = await entry('campaign', id, 'campaign_updated');
    expect(updated.before).toEqual({ window_days: null, window_start: null, window_end: null, from_name: 'Sales', steps: [{ step_no: 1, template_id: templateId, delay_seconds: 0 }] });
    expect(updated.after).toMatchObject({ window_days: [1, 2, 3], window_start: '09:00:00', window_end: '17:30:00', from_name: null, steps: [{ step_no: 1 }, { step_no: 2, delay_seconds: 7200 }] });
  });

  it('start, pause, resume and cancel name the key and the workflow; the run\'s own moves name the campaign', async () => {
    const source = uniqueId('lifecycle');
    await seedContacts(stack.db.pool, source, [{ email: `${source}@example.com` }]);
    // step 2 waits a day after step 1: the run stays running, with nothing left to send now
    const id = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: templateId }, { template_id: templateId, delay: { days: 1 } }] });
    const workflowId = await stack.http.start(id);
    expect(await entry('campaign', id, 'campaign_start_requested')).toMatchObject({ ...byWriter, workflow_id: workflowId });
    await waitUntil(async () => stack.sink.messages.length > 0 && (await stack.db.pool.query(
      `select 1 from marketing.outreach_history where campaign_id = $1 and status = 'sent'`, [id])).rowCount, 30_000, 'step 1 sent');
    expect(await entry('campaign', id, 'campaign_started')).toMatchObject({
      actor: 'campaign', workflow_id: workflowId, before: { status: 'draft' }, after: { status: 'running' },
    });
    expect(await entry('campaign', id, 'campaign_audience_queued')).toMatchObject({ actor: 'campaign', workflow_id: workflowId, after: { rows_queued: 2 } });

    for (const [control, action, from, to] of [['pause', 'campaign_paused', 'running', 'paused'], ['resume', 'campaign_resumed', 'paused', 'running'], ['cancel', 'campaign_cancelled', 'running', 'cancelled']]) {
      const res = await stack.http.call('POST', `/api/campaigns/${id}/${control}`);
      expect(res.status, res.raw).toBe(202);
      expect(await entry('campaign', id, action)).toMatchObject({ ...byWriter, workflow_id: workflowId, before: { status: from }, after: { status: to } });
      // the run acts on the signal before the next control (its own move then finds the status there)
      if (control !== 'cancel') {
        await waitUntil(async () => (await stack.http.call('GET', `/api/campaigns/${id}/progress`)).body.progress.phase === (control === 'pause' ? 'paused' : 'waiting'),
          30_000, `the run to act on ${control}`);
      }
    }
    await result(stack.temporal, workflowId);
  });

  it('a run that finishes writes campaign_completed', async () => {
    const id = await stack.http.campaign({ criteria: { sources: ['nobody'] }, steps: [{ template_id: templateId }] });
    const workflowId = await stack.http.start(id);
    await result(stack.temporal, workflowId);
    expect(await entry('campaign', id, 'campaign_completed')).toMatchObject({
      actor: 'campaign', workflow_id: workflowId, before: { status: 'running' }, after: { status: 'completed' },
    });
  });

  it('schedule create, pause, trigger and delete each write a row, with the status moves they make', async () => {
    const id = await stack.http.campaign({ criteria: { sources: ['nobody'] }, steps: [{ template_id: templateId }] });
    const created = await stack.http.call('POST', `/api/campaigns/${id}/schedule`, { every_minutes: 1440, paused: true, note: 'nightly' });
    expect(created.status, created.raw).toBe(201);
    const row = await entry('campaign_schedule', id, 'schedule_created');
    expect(row).toMatchObject({ ...byWriter, after: { every_minutes: 1440, paused: true, note: 'nightly' } });
    // the status move is audited in the same request
    expect(await entry('campaign', id, 'campaign_scheduled')).toMatchObject({ ...byWriter, request_id: row.request_id, before: { status: 'draft' }, after: { status: 'scheduled' } });

    for (const [control, action] of [['pause', 'schedule_paused'], ['unpause', 'schedule_unpaused'], ['trigger', 'schedule_triggered']]) {
      const res = await stack.http.call('POST', `/api/campaigns/${id}/schedule/${control}`);
      expect(res.status, res.raw).toBe(200);
      expect(await entry('campaign_schedule', id, action)).toMatchObject(byWriter);
    }
    expect((await stack.http.call('DELETE', `/api/campaigns/${id}/schedule`)).status).toBe(204);
    expect(await entry('campaign_schedule', id, 'schedule_deleted')).toMatchObject(byWriter);
  });
});

describe('suppressions, merges and API keys', () => {
  it('a manual suppression writes one row per address added; lifting it writes suppression_lifted', async () => {
    const email = `${uniqueId('hand')}@example.com`;
    const res = await stack.http.call('POST', '/api/suppressions', { emails: [email, email.toUpperCase()] });
    expect(res.body).toEqual({ added: 1, already: 0 });
    expect(await entry('suppression', email, 'suppression_added')).toMatchObject({ ...byWriter, before: null, after: { email, reason: 'manual' } });
    // listed again: nothing added, nothing audited
    await stack.http.call('POST', '/api/suppressions', { emails: [email] });
    expect((await entries({ entity: 'suppression', entity_id: email })).length).toBe(1);

    expect((await stack.http.call('DELETE', `/api/suppressions/${email}?note=typo`)).status).toBe(204);
    expect(await entry('suppression', email, 'suppression_lifted')).toMatchObject({
      ...byWriter, before: { suppression: { reason: 'manual' } }, after: { suppression: null, note: 'typo' },
    });
  });

  it('a manual merge writes person_merged naming the key', async () => {
    const { rows: [a, b] } = await stack.db.pool.query(`insert into people.master (full_name) values ('Ada One'), ('Ada Two') returning person_id`);
    const res = await stack.http.call('POST', `/api/people/${b.person_id}/merge`, { into: a.person_id });
    expect(res.status, res.raw).toBe(200);
    expect(await entry('person', b.person_id, 'person_merged')).toMatchObject({
      ...byWriter, before: { merged_into: null }, after: { merged_into: a.person_id, reason: { by: 'api' } },
    });
  });

  it('API key create, rotate and revoke each write a row (never a secret)', async () => {
    const created = await admin.call('POST', '/api/keys', { name: 'ci-deployer', scopes: ['read'] });
    expect(created.status, created.raw).toBe(201);
    const prefix = created.body.prefix;
    const row = await entry('api_key', prefix, 'api_key_created');
    expect(row).toMatchObject({ actor: 'audit-admin', after: { name: 'ci-deployer', prefix, scopes: ['read'], expires_at: null } });
    expect(JSON.stringify(row)).not.toContain(created.body.key.slice(16)); // the secret after bo_<prefix>_
    expect(JSON.stringify(row)).not.toContain('secret_hash');

    const rotated = await admin.call('POST', `/api/keys/${prefix}/rotate`);
    expect(rotated.status, rotated.raw).toBe(201);
    expect(await entry('api_key', prefix, 'api_key_rotated')).toMatchObject({
      actor: 'audit-admin', before: { prefix, revoked_at: null }, after: { prefix: rotated.body.prefix, key_id: rotated.body.key_id },
    });
    expect((await admin.call('POST', `/api/keys/${rotated.body.prefix}/revoke`)).status).toBe(200);
    expect(await entry('api_key', rotated.body.prefix, 'api_key_revoked')).toMatchObject({
      actor: 'audit-admin', before: { revoked_at: null }, after: { revoked_at: expect.any(String) },
    });
  });
});

describe('GET /api/audit', () => {
  it('filters by actor, action and time, newest first, through a keyset cursor', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    const names = ['f1', 'f2', 'f3'];
    const ids: number[] = [];
    for (const name of names) ids.push(await stack.http.template({ name, subject: 's', text_body: 't' }));
    const mine = await entries({ actor: WRITER, action: 'template_created', since: before, limit: '1' });
    // newest first, one per page, each page's cursor leading to the next
    expect(mine.map((e) => Number(e.entity_id))).toEqual([...ids].reverse());
    expect(mine.every((e) => e.actor === WRITER && e.action === 'template_created')).toBe(true);
    expect(mine.map((e) => e.audit_id)).toEqual([...mine.map((e) => e.audit_id)].sort((x, y) => y - x));
    expect(await entries({ action: 'template_created', until: before, entity_id: String(ids[0]), entity: 'template' })).toEqual([]);
    expect(await entries({ actor: 'nobody-at-all' })).toEqual([]);
  });

  it('answers admin keys only, and 400 for a cursor it did not write or a bad time', async () => {
    expect((await stack.http.call('GET', '/api/audit')).status).toBe(403);
    const forged = await admin.call('GET', `/api/audit?cursor=${Buffer.from('{"id":"1 or 1=1"}').toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(forged.body.details.issues[0].field).toBe('cursor');
    const badTime = await admin.call('GET', '/api/audit?since=yesterday');
    expect(badTime.status).toBe(400);
    expect(badTime.body.details.issues[0].field).toBe('since');
  });
});

describe('the log itself', () => {
  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    const q = (sql: string) => stack.db.pool.query(sql);
    await expect(q(`update intake.audit_log set actor = 'someone else'`)).rejects.toThrow(/append-only: UPDATE is refused/);
    await expect(q(`delete from intake.audit_log`)).rejects.toThrow(/append-only: DELETE is refused/);
    await expect(q(`truncate intake.audit_log`)).rejects.toThrow(/append-only: TRUNCATE is refused/);
    expect((await q(`select count(*)::int as n from intake.audit_log`)).rows[0].n).toBeGreaterThan(0);
  });

  it('an audit context lasts one transaction: the next one on the same connection names nobody', async () => {
    const client = await stack.db.pool.connect();
    try {
      await client.query('begin');
      await client.query(`select intake.f_set_audit_context('leaky', 'req-1', 'wf-1')`);
      await client.query(`select intake.f_audit('context_probe', 'probe', 'in', null, null)`);
      await client.query('commit');
      await client.query(`select intake.f_audit('context_probe', 'probe', 'after', null, null)`);
    } finally {
      client.release();
    }
    const { rows } = await stack.db.pool.query(
      `select entity_id, actor, request_id, workflow_id from intake.audit_log where action = 'context_probe' order by audit_id`);
    expect(rows).toEqual([
      { entity_id: 'in', actor: 'leaky', request_id: 'req-1', workflow_id: 'wf-1' },
      { entity_id: 'after', actor: null, request_id: null, workflow_id: null },
    ]);
  });
});
