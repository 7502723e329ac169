// Target selection over contact and golden-record fields: contacts arrive through the real
// ingest → promote → resolution path, then the campaign's audience filter is evaluated as the
// audience snapshot evaluates it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import { audienceFilter, type CampaignCriteria } from '../db/campaigns';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
const taskQueue = uniqueId('targeting');

const person = (email: string, seniority: string, industry: string, employees: number, departments: string[]) => ({
  id: `id-${email}`,
  first_name: email.split('@')[0],
  last_name: 'Example',
  name: `${email.split('@')[0]} Example`,
  title: 'Head of Things',
  email,
  linkedin_url: `https://www.linkedin.com/in/${email.split('@')[0]}`,
  seniority,
  departments,
  organization: { id: `org-${email.split('@')[1]}`, name: email.split('@')[1], primary_domain: email.split('@')[1], industry, estimated_num_employees: employees },
});

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
  const res = await app.inject({
    method: 'POST',
    url: '/api/ingest?wait=true',
    headers: await bearer(db.pool, ['read', 'write']),
    payload: {
      source: 'apollo',
      format: 'apollo_api',
      batch_id: uniqueId('targets'),
      promote: true,
      rows: [
        person('vera@bigsoft.com', 'vp', 'Computer Software', 5000, ['master_sales']),
        person('dan@bigsoft.com', 'director', 'Computer Software', 5000, ['master_engineering_technical']),
        person('mia@smallbank.com', 'vp', 'Banking', 40, ['master_finance']),
      ],
    },
  });
  expect(res.json().promotion).toMatchObject({ promoted: 3, failed: 0 });
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

async function audience(criteria: CampaignCriteria): Promise<string[]> {
  const params: unknown[] = [];
  const filter = audienceFilter({ min_score: 0, ...criteria }, params);
  const { rows } = await db.pool.query(
    `select c.email from vault.contacts c, (select null::timestamptz as last_run_at) k where ${filter} order by c.email`,
    params,
  );
  return rows.map((r) => r.email);
}

it('selects by the golden person record: seniority and departments', async () => {
  expect(await audience({ seniorities: ['VP'] })).toEqual(['mia@smallbank.com', 'vera@bigsoft.com']);
  expect(await audience({ departments_contains: 'engineering' })).toEqual(['dan@bigsoft.com']);
});

it('selects by the golden company record: industry and size, combined with contact fields', async () => {
  expect(await audience({ industries: ['computer software'] })).toEqual(['dan@bigsoft.com', 'vera@bigsoft.com']);
  expect(await audience({ min_employees: 1000 })).toEqual(['dan@bigsoft.com', 'vera@bigsoft.com']);
  expect(await audience({ max_employees: 100, seniorities: ['vp'] })).toEqual(['mia@smallbank.com']);
  expect(await audience({ seniorities: ['vp'], company_domains: ['bigsoft.com'] })).toEqual(['vera@bigsoft.com']);
});

it('still leaves out suppressed addresses', async () => {
  await db.pool.query(`insert into marketing.suppressions (email, reason) values ('vera@bigsoft.com', 'manual')`);
  expect(await audience({ seniorities: ['vp'] })).toEqual(['mia@smallbank.com']);
});
