// Audit-log reconstruction: contacts, golden records and campaigns deleted or overwritten by
// mistake come back exactly as they were, from the row images intake.audit_log holds.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import { isolateCampaignIds } from './support/campaign-fixtures';
import type { App } from '../api/app';
import { createAuditRepository, RestoreRefused } from '../db/audit';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let headers: Record<string, string>;
let audit: ReturnType<typeof createAuditRepository>;
const taskQueue = uniqueId('audit');

beforeAll(async () => {
  db = await testDatabase();
  await isolateCampaignIds(db.pool);
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
  headers = await bearer(db.pool, ['read', 'write']);
  audit = createAuditRepository(db.pool);
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

/** The whole stored row, generated columns included. */
async function rowOf(table: string, key: string, id: number) {
  const { rows } = await db.pool.query(`select to_jsonb(t) as row from ${table} t where ${key} = $1`, [id]);
  return rows[0]?.row ?? null;
}
const stepsOf = async (campaignId: number) =>
  (await db.pool.query('select * from marketing.campaign_steps where campaign_id = $1 order by step_no', [campaignId])).rows;
const restoreBy = (entity: 'contact' | 'person' | 'company' | 'campaign', id: number, at?: Date) => audit.restore({ entity, id, at, actor: 'test' });

/** A contact promoted through the API, with its golden person and company. */
async function promotedContact(email: string) {
  const batch = uniqueId('audit');
  const who = email.split('@')[0]; // a person and company of its own per test (no match across tests)
  const res = await app.inject({
    method: 'POST', url: '/api/ingest?wait=true', headers,
    payload: { source: 'manual', batch_id: batch, promote: true, rows: [{ email, first_name: 'Ada', last_name: `Lovelace-${who}`, title: 'CTO', company_name: `Engines ${who}`, company_domain: `${who}-engines.example`, phone: '+442071234567' }] },
  });
  expect(res.statusCode).toBe(200);
  const { rows: [r] } = await db.pool.query(
    `select c.contact_id, s.person_id, p.company_id from vault.contacts c
       join people.slot s on s.contact_id = c.contact_id join people.master p on p.person_id = s.person_id where c.email = $1`,
    [email],
  );
  return r as { contact_id: number; person_id: number; company_id: number };
}

describe('contacts', () => {
  it('an overwritten contact comes back exactly as it was', async () => {
    const { contact_id } = await promotedContact('overwritten@audit.example');
    const original = await rowOf('vault.contacts', 'contact_id', contact_id);
    // the accident: a bulk update with a missing WHERE narrowing, straight in SQL
    await db.pool.query(`update vault.contacts set title = null, phone = null, company_name = 'WRONG', version = version + 1, updated_at = now() where contact_id = $1`, [contact_id]);
    expect((await rowOf('vault.contacts', 'contact_id', contact_id)).company_name).toBe('WRONG');

    const outcome = await restoreBy('contact', contact_id);
    expect(outcome).toMatchObject({ entity: 'contact', id: contact_id, outcome: 'restored', before: { company_name: 'WRONG' } });
    expect(await rowOf('vault.contacts', 'contact_id', contact_id)).toEqual(original);
    const { rows } = await db.pool.query(`select actor from intake.audit_log where action = 'entity_restored' and entity = 'contact' and entity_id = $1`, [String(contact_id)]);
    expect(rows).toEqual([{ actor: 'test' }]);
  });

  it('a deleted contact comes back with its own id and every column', async () => {
    const { rows: [c] } = await db.pool.query(
      `insert into vault.contacts (email, first_name, title, company_name, country, source) values ('deleted@audit.example', 'Grace', 'Admiral', 'Navy', 'US', 'manual') returning contact_id`,
    );
    const patched = await app.inject({ method: 'PATCH', url: `/api/contacts/${c.contact_id}`, headers: { ...headers, 'if-match': 'W/"1"' }, payload: { title: 'Rear Admiral' } });
    expect(patched.statusCode).toBe(200);
    const original = await rowOf('vault.contacts', 'contact_id', c.contact_id);
    await db.pool.query('delete from vault.contacts where contact_id = $1', [c.contact_id]);
    expect(await rowOf('vault.contacts', 'contact_id', c.contact_id)).toBeNull();

    await restoreBy('contact', c.contact_id);
    expect(await rowOf('vault.contacts', 'contact_id', c.contact_id)).toEqual(original);
  });

  it('--at: the contact as it was at that time, between two edits', async () => {
    const { contact_id } = await promotedContact('twice@audit.example');
    const edit = async (title: string) => {
      const { version } = await rowOf('vault.contacts', 'contact_id', contact_id);
      const res = await app.inject({ method: 'PATCH', url: `/api/contacts/${contact_id}`, headers, payload: { title, version } });
      expect(res.statusCode).toBe(200);
    };
    await edit('VP Engineering');
    const middle = await rowOf('vault.contacts', 'contact_id', contact_id);
    const between = new Date((await db.pool.query('select now() as t')).rows[0].t);
    await edit('Chief Scientist');
    await restoreBy('contact', contact_id, between);
    expect(await rowOf('vault.contacts', 'contact_id', contact_id)).toEqual(middle);
  });

  it('refuses what the log cannot give, and writes nothing', async () => {
    const { rows: [c] } = await db.pool.query(`insert into vault.contacts (email, source) values ('untouched@audit.example', 'manual') returning contact_id, created_at`);
    await expect(restoreBy('contact', c.contact_id)).rejects.toThrow(/has no recorded change/);
    await expect(restoreBy('contact', c.contact_id, new Date(c.created_at.getTime() - 60_000))).rejects.toThrow(RestoreRefused);
    await expect(restoreBy('contact', 999_999_999)).rejects.toThrow(/has no recorded change/);
    // an image is written in the changing transaction: a rolled-back change leaves none
    const client = await db.pool.connect();
    await client.query('begin');
    await client.query(`update vault.contacts set title = 'never' where contact_id = $1`, [c.contact_id]);
    await client.query('rollback');
    client.release();
    await expect(restoreBy('contact', c.contact_id)).rejects.toThrow(/has no recorded change/);
  });
});

describe('golden records', () => {
  it('an overwritten person and company master come back exactly as they were', async () => {
    const { person_id, company_id } = await promotedContact('golden@audit.example');
    const person = await rowOf('people.master', 'person_id', person_id);
    const company = await rowOf('company.master', 'company_id', company_id);
    expect(person.title).toBe('CTO');
    await db.pool.query(`update people.master set title = 'Intern', full_name = null, field_sources = '{}', version = version + 1 where person_id = $1`, [person_id]);
    await db.pool.query(`update company.master set name = 'Someone Else', domain = null where company_id = $1`, [company_id]);

    await restoreBy('person', person_id);
    await restoreBy('company', company_id);
    expect(await rowOf('people.master', 'person_id', person_id)).toEqual(person);
    expect(await rowOf('company.master', 'company_id', company_id)).toEqual(company);
  });
});

describe('campaigns', () => {
  const template = async () => {
    const res = await app.inject({ method: 'POST', url: '/api/templates', headers, payload: { name: 't', subject: 'Hi', text_body: 'Hello' } });
    return res.json().template_id as number;
  };
  const campaignBody = async () => ({
    name: 'Audit campaign', from_email: 'sales@sender.example', criteria: { min_score: 60, countries: ['GB'] },
    window: { days: [1, 2, 3], start: '09:00', end: '17:00' }, time_zone: 'Europe/London', rate_per_minute: 120,
    steps: [{ template_id: await template() }, { template_id: await template(), delay: { days: 2 } }],
  });

  it('a deleted campaign comes back with its steps', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/campaigns', headers, payload: await campaignBody() });
    expect(created.statusCode).toBe(201);
    const id = created.json().campaign_id as number;
    const original = await rowOf('marketing.campaigns', 'campaign_id', id);
    const steps = await stepsOf(id);
    expect(steps).toHaveLength(2);
    expect((await app.inject({ method: 'DELETE', url: `/api/campaigns/${id}`, headers })).statusCode).toBe(204);

    await restoreBy('campaign', id);
    expect(await rowOf('marketing.campaigns', 'campaign_id', id)).toEqual(original);
    expect(await stepsOf(id)).toEqual(steps);
    expect((await app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers })).json()).toMatchObject({ name: 'Audit campaign', steps: [{ step_no: 1 }, { step_no: 2 }] });
  });

  it('an overwritten campaign (fields and steps) comes back, through npm run audit:restore', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/campaigns', headers, payload: await campaignBody() });
    const id = created.json().campaign_id as number;
    const original = await rowOf('marketing.campaigns', 'campaign_id', id);
    const steps = await stepsOf(id);
    const patched = await app.inject({
      method: 'PATCH', url: `/api/campaigns/${id}`, headers,
      payload: { name: 'Overwritten', criteria: {}, window: null, steps: [{ template_id: await template() }] },
    });
    expect(patched.statusCode).toBe(200);

    const cli = spawnSync('npx', ['tsx', 'scripts/audit-restore.ts', '--entity', `campaign:${id}`, '--actor', 'cli-test'], {
      cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8',
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ entity: 'campaign', id, outcome: 'restored', dry_run: false });
    expect(await rowOf('marketing.campaigns', 'campaign_id', id)).toEqual(original);
    expect(await stepsOf(id)).toEqual(steps);

    const refused = spawnSync('npx', ['tsx', 'scripts/audit-restore.ts', '--entity', 'campaign:abc'], {
      cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('--entity');
  });
});
