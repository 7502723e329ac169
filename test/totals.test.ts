// Issue 11, Dashboard: GET /api/totals (contacts, golden people and companies, campaigns running)
// from the rollups, equal to counting the tables after promotions, merges and a campaign start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let writer: Record<string, string>;
const taskQueue = uniqueId('totals');

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
  writer = await bearer(db.pool, ['read', 'write'], 10_000, 'totals-writer');
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
  const res = await app.inject({ method, url, headers: writer, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.json() };
};
const counted = async () => (await db.pool.query(`select
    (select count(*) from vault.contacts)::int as contacts,
    (select count(*) from people.master where merged_into is null)::int as golden_people,
    (select count(*) from company.master where merged_into is null)::int as golden_companies,
    (select count(*) from marketing.campaigns where status = 'running')::int as campaigns_running`)).rows[0];

describe('GET /api/totals', () => {
  it('starts at zero', async () => {
    const res = await call('GET', '/api/totals');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ contacts: 0, golden_people: 0, golden_companies: 0, campaigns_running: 0 });
  });

  it('counts what promotion made, less what merges retired, and the running campaigns, as counting the tables does', async () => {
    const batch = uniqueId('t');
    const rows = [
      { email: 'ann@alpha.example', first_name: 'Ann', last_name: 'Able', company_name: 'Alpha', company_domain: 'alpha.example' },
      { email: 'ann.able@beta.example', first_name: 'Ann', last_name: 'Able', company_name: 'Beta', company_domain: 'beta.example' },
      { email: 'cy@gamma.example', first_name: 'Cy', last_name: 'Cole', company_name: 'Gamma', company_domain: 'gamma.example' },
    ];
    expect((await call('POST', '/api/ingest?wait=true', { source: 'totals', batch_id: batch, rows })).status).toBe(200);
    expect((await call('POST', '/api/promote?wait=true', { batch_id: batch })).status).toBe(200);
    const before = await counted();
    expect(before.contacts).toBe(3);
    expect(before.golden_people).toBeGreaterThanOrEqual(2);
    expect(before.golden_companies).toBeGreaterThanOrEqual(2);
    expect((await call('GET', '/api/totals')).body).toEqual(before);

    // two people and two companies merged: one of each retired
    const people = (await db.pool.query(`select person_id from people.master where merged_into is null order by person_id limit 2`)).rows;
    const companies = (await db.pool.query(`select company_id from company.master where merged_into is null order by company_id limit 2`)).rows;
    expect((await call('POST', `/api/people/${people[1].person_id}/merge`, { into: people[0].person_id })).status).toBe(200);
    expect((await call('POST', `/api/companies/${companies[1].company_id}/merge`, { into: companies[0].company_id })).status).toBe(200);

    // a running campaign
    const template = (await call('POST', '/api/templates', { name: 't', subject: 'Hi', text_body: 'Hello' })).body.template_id;
    const campaign = (await call('POST', '/api/campaigns', { name: 'Totals', from_email: 'sales@sender.example', steps: [{ template_id: template }, { template_id: template, delay: { days: 3 } }], criteria: { sources: ['none'] } })).body.campaign_id;
    await db.pool.query(`update marketing.campaigns set status = 'running' where campaign_id = $1`, [campaign]);

    const after = await counted();
    expect(after).toMatchObject({ contacts: 3, golden_people: before.golden_people - 1, golden_companies: before.golden_companies - 1, campaigns_running: 1 });
    expect((await call('GET', '/api/totals')).body).toEqual(after);
  });
});
