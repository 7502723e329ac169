// POST /api/conversions (single, batch, CSV), idempotent by external_id; bad input is a 400
// naming the field with nothing stored; GET /api/conversions/:id with touches and credits;
// campaign attribution totals; a human reply as a conversion when the settings say so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, type TestDatabase } from './support/harness';
import { api } from './support/campaign-fixtures';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let app: App;
let http: ReturnType<typeof api>;
let campaignId: number;
const contacts = new Map<string, number>();
const outreach = new Map<string, number>();

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal });
  http = api(app, await bearer(db.pool, ['read', 'write']));
  const { rows } = await db.pool.query(
    `insert into vault.contacts (email, first_name, source) select e, 'Pat', 'conv' from unnest($1::text[]) e returning contact_id, email`,
    [['ada@example.com', 'bob@example.com', 'cy@example.com', 'dee@example.com']],
  );
  for (const r of rows) contacts.set(r.email, r.contact_id);
  const { rows: [t] } = await db.pool.query(`insert into marketing.templates (name, subject, text_body) values ('t', 's', 'b') returning template_id`);
  const { rows: [k] } = await db.pool.query(`insert into marketing.campaigns (name, from_email, status) values ('conv', 'a@sender.example', 'running') returning campaign_id`);
  campaignId = k.campaign_id;
  await db.pool.query('insert into marketing.campaign_steps (campaign_id, step_no, template_id) values ($1, 1, $2)', [campaignId, t.template_id]);
  // every contact got step 1 on June 1st
  const { rows: sent } = await db.pool.query(
    `insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status, sent_at)
     select $1, contact_id, 1, email, 'sent', '2026-06-01T09:00:00Z' from vault.contacts where source = 'conv' returning outreach_id, email`,
    [campaignId],
  );
  for (const r of sent) outreach.set(r.email, r.outreach_id);
  // ada clicked on June 2nd
  await db.pool.query(
    `insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, url, occurred_at)
     values ($1, $2, 1, $3, 'click', 'human', 'https://example.org/offer', '2026-06-02T09:00:00Z')`,
    [outreach.get('ada@example.com'), campaignId, contacts.get('ada@example.com')],
  );
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const count = async () => (await db.pool.query('select count(*)::int as n from marketing.conversions')).rows[0].n;

describe('recording conversions', () => {
  it('one by email: 201 and attributed; the same external_id again answers the stored conversion, unchanged', async () => {
    const first = await http.call('POST', '/api/conversions', {
      external_id: 'crm-1', email: 'Ada@Example.com', type: 'meeting_booked', value: '1200.50', currency: 'USD', occurred_at: '2026-06-03T10:00:00Z',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ external_id: 'crm-1', contact_id: contacts.get('ada@example.com'), value: '1200.50', currency: 'USD', created: true, source: 'api' });
    const again = await http.call('POST', '/api/conversions', {
      external_id: 'crm-1', contact_id: contacts.get('bob@example.com'), type: 'closed_won', value: 9, currency: 'EUR', occurred_at: '2026-06-05T10:00:00Z',
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, created: false });

    const detail = await http.call('GET', `/api/conversions/${first.body.conversion_id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.touches.map((t: { kind: string }) => t.kind)).toEqual(['send', 'click']);
    expect(detail.body.touches[0]).toMatchObject({ campaign_id: campaignId, step_no: 1, outreach_id: outreach.get('ada@example.com'),
      credits: { first_touch: '1200.50', last_touch: '0.00', linear: '600.25', position_based: '600.25' } });
    expect(detail.body.models).toEqual(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based'].map((model) => ({ model, total: '1200.50' })));
    expect((await http.call('GET', '/api/conversions/999999')).status).toBe(404);
  });

  it('a batch: new and known external_ids (a repeat inside the batch counts once); JPY has no decimals', async () => {
    const res = await http.call('POST', '/api/conversions', {
      conversions: [
        { external_id: 'crm-1', email: 'ada@example.com', type: 'meeting_booked', value: 1, currency: 'USD', occurred_at: '2026-06-03T10:00:00Z' },
        { external_id: 'crm-2', contact_id: contacts.get('bob@example.com'), type: 'opportunity', value: 30000, currency: 'JPY', occurred_at: '2026-06-04T10:00:00Z' },
        { external_id: 'crm-2', contact_id: contacts.get('bob@example.com'), type: 'opportunity', value: 30000, currency: 'JPY', occurred_at: '2026-06-04T10:00:00Z' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 1, existing: 2 });
    expect(res.body.conversions.map((c: { external_id: string; created: boolean; value: string }) => [c.external_id, c.created, c.value]))
      .toEqual([['crm-1', false, '1200.50'], ['crm-2', true, '30000'], ['crm-2', false, '30000']]);
  });

  it('a CSV upload, and a CSV with a bad line: 400 naming the line and column, nothing stored', async () => {
    const csv = 'external_id,email,type,value,currency,occurred_at\r\n' +
      'csv-1,cy@example.com,closed_won,250.00,EUR,2026-06-06T00:00:00Z\r\n' +
      'csv-2,dee@example.com,closed_won,0.125,KWD,2026-06-06T00:00:00Z\r\n';
    const res = await app.inject({ method: 'POST', url: '/api/conversions', headers: { ...(await bearer(db.pool, ['write'])), 'content-type': 'text/csv' }, payload: csv });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ created: 2, existing: 0 });
    expect(res.json().conversions.map((c: { source: string; value: string }) => [c.source, c.value])).toEqual([['csv', '250.00'], ['csv', '0.125']]);

    const before = await count();
    const bad = 'external_id,email,type,value,currency,occurred_at\n' +
      'csv-3,cy@example.com,closed_won,10,EUR,2026-06-06T00:00:00Z\n' +
      'csv-4,cy@example.com,closed_won,ten,EUR,2026-06-06T00:00:00Z\n';
    const refused = await app.inject({ method: 'POST', url: '/api/conversions', headers: { ...(await bearer(db.pool, ['write'])), 'content-type': 'text/csv' }, payload: bad });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().details.issues[0].field).toBe('line 3.value');
    expect(await count()).toBe(before);
  });

  it('bad input is a 400 naming the field, and nothing of the batch is stored', async () => {
    const before = await count();
    const ok = { external_id: 'x-ok', email: 'cy@example.com', type: 'closed_won', value: '10.00', currency: 'USD', occurred_at: '2026-06-06T00:00:00Z' };
    const cases: [unknown, string][] = [
      [{ conversions: [ok, { ...ok, external_id: 'x-2', email: 'nobody@example.com' }] }, 'conversions[1].email'],
      [{ conversions: [ok, { ...ok, external_id: 'x-3', email: undefined, contact_id: 987654 }] }, 'conversions[1].contact_id'],
      [{ ...ok, value: '10.001' }, 'value'],
      [{ ...ok, currency: 'JPY', value: '10.5' }, 'value'],
      [{ ...ok, currency: 'XYZ' }, 'currency'],
      [{ ...ok, value: -5 }, 'value'],
      [{ ...ok, contact_id: contacts.get('cy@example.com') }, 'contact_id'],
      [{ ...ok, occurred_at: 'yesterday' }, 'occurred_at'],
      [{ conversions: [{ ...ok, type: '' }] }, 'conversions[0].type'],
    ];
    for (const [body, field] of cases) {
      const res = await http.call('POST', '/api/conversions', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.details.issues.map((i: { field: string }) => i.field), JSON.stringify(body)).toContain(field);
    }
    expect(await count()).toBe(before);
  });
});

describe('attribution per campaign and replies as conversions', () => {
  it('GET /api/campaigns/:id/attribution totals every model per currency', async () => {
    const res = await http.call('GET', `/api/campaigns/${campaignId}/attribution`);
    expect(res.status).toBe(200);
    const linear = res.body.models.find((m: { model: string }) => m.model === 'linear');
    // ada 1200.50 USD (half to the send, half to the click: both this campaign's), bob 30000 JPY, cy 250 EUR, dee 0.125 KWD
    expect(linear).toEqual({ model: 'linear', conversions: 4, values: [
      { currency: 'EUR', value: '250.00' }, { currency: 'JPY', value: '30000' }, { currency: 'KWD', value: '0.125' }, { currency: 'USD', value: '1200.50' },
    ] });
    expect((await http.call('GET', '/api/campaigns/999999/attribution')).status).toBe(404);
  });

  it('with reply_is_conversion on, a human reply becomes one conversion per contact and campaign; an auto-reply does not', async () => {
    const settings = await http.call('PATCH', '/api/attribution/settings', { reply_is_conversion: true, reply_value: '500', reply_currency: 'USD' });
    expect(settings.status).toBe(200);
    expect(settings.body).toMatchObject({ reply_is_conversion: true, reply_value: '500', reply_currency: 'USD', lookback_days: 30, half_life_days: 7 });
    const event = (email: string, kind: string, at: string) => db.pool.query(
      `insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, occurred_at)
       values ($1, $2, 1, $3, $4, 'human', $5)`,
      [outreach.get(email), campaignId, contacts.get(email), kind, at],
    );
    await event('dee@example.com', 'auto_reply', '2026-06-02T12:00:00Z');
    await event('dee@example.com', 'reply', '2026-06-02T13:00:00Z');
    await event('dee@example.com', 'reply', '2026-06-02T14:00:00Z'); // a second reply: the same conversion
    const { rows } = await db.pool.query(`select external_id, type, value::text, occurred_at from marketing.conversions where source = 'reply'`);
    expect(rows).toEqual([{ external_id: `reply:${campaignId}:${contacts.get('dee@example.com')}`, type: 'reply', value: '500', occurred_at: new Date('2026-06-02T13:00:00Z') }]);
    // the reply is itself a touch: last touch gets everything
    const { rows: credit } = await db.pool.query(
      `select touch_kind, credit::text from marketing.attribution a join marketing.conversions c using (conversion_id)
        where c.source = 'reply' and a.model = 'last_touch' order by touch_no`,
    );
    expect(credit).toEqual([{ touch_kind: 'send', credit: '0.00' }, { touch_kind: 'reply', credit: '500.00' }]);
    await http.call('PATCH', '/api/attribution/settings', { reply_is_conversion: false });
  });

  it('settings and recompute refuse bad values naming the field', async () => {
    expect((await http.call('PATCH', '/api/attribution/settings', { lookback_days: 0 })).body.details.issues[0].field).toBe('lookback_days');
    expect((await http.call('PATCH', '/api/attribution/settings', { reply_currency: 'JPY', reply_value: '1.5' })).body.details.issues[0].field).toBe('reply_value');
    const r = await http.call('POST', '/api/attribution/recompute', { from: '2026-06-10T00:00:00Z', to: '2026-06-01T00:00:00Z' });
    expect(r.status).toBe(400);
    expect(r.body.details.issues[0].field).toBe('to');
    const ok = await http.call('POST', '/api/attribution/recompute', { from: '2026-06-01T00:00:00Z', to: '2026-07-01T00:00:00Z' });
    expect(ok).toMatchObject({ status: 200, body: { conversions: 5 } });
  });
});
