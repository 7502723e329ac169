// Golden records through the real API, a real Temporal server and real Postgres: an Apollo export
// (CSV, streamed) and other sources → slots → masters with history, merges, idempotent re-runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';
import { apolloCsv, apolloFixtureRows, csvLine } from './fixtures/apollo-export';

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let writer: Record<string, string>;
const taskQueue = uniqueId('master');

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  // chunks of 50: the fixture crosses chunk boundaries, and the same company spans chunks
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, INGEST_CHUNK_SIZE: '50', PROMOTE_CHUNK_SIZE: '50' } });
  writer = await bearer(db.pool, ['read', 'write'], 10_000, 'master-test-writer');
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  await db?.drop();
});

const q = async (sql: string, params: unknown[] = []) => (await db.pool.query(sql, params)).rows;

function uploadCsv(csv: string | Buffer, params: Record<string, string>) {
  const query = new URLSearchParams({ wait: 'true', promote: 'true', ...params });
  return app.inject({ method: 'POST', url: `/api/ingest?${query}`, headers: { ...writer, 'content-type': 'text/csv' }, payload: csv });
}
const ingestJson = (body: object) =>
  app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers: writer, payload: { promote: true, ...body } });

const fixture = apolloFixtureRows(300);
const fixtureCsv = apolloCsv(fixture);
let firstBatch: string;

async function personByEmail(email: string) {
  const [row] = await q(
    `select m.* from people.master m join people.master_key k on k.person_id = m.person_id
     where k.kind = 'email' and k.value = people.f_email_key($1)`,
    [email],
  );
  return row;
}

describe('Apollo export → golden records', () => {
  it('streams the CSV, maps the real export headers and resolves people and companies by the rules', async () => {
    firstBatch = uniqueId('apollo');
    const res = await uploadCsv(fixtureCsv, { source: 'apollo', batch_id: firstBatch, format: 'apollo_csv' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ counts: { inserted: fixture.length, skipped: 0 }, promotion: { promoted: fixture.length, failed: 0 } });

    // one people.slot per promoted contact, with lineage
    const slots = await q(`select s.* from people.slot s join intake.raw_loads l on l.load_id = s.load_id where l.batch_id = $1`, [firstBatch]);
    expect(slots).toHaveLength(fixture.length);
    for (const s of slots) {
      expect(s.source).toBe('apollo');
      expect(s.contact_id).toBeTypeOf('number');
      expect(s.seen_at).toBeInstanceOf(Date);
    }
    expect(slots.find((s) => s.email === 'ada.lovelace+conf@acme.com')).toMatchObject({ source_id: 'c-ada', source_key: 'id:c-ada' });

    // Ada: plus-addressed, mixed-case email normalized; LinkedIn tracking params gone
    const ada = await personByEmail('ada.lovelace@acme.com');
    expect(ada).toMatchObject({
      email: 'ada.lovelace+conf@acme.com', first_name: 'Ada', last_name: 'Lovelace', title: 'CTO',
      linkedin_url: 'https://www.linkedin.com/in/ada-lovelace', phone: '+14155552671', seniority: 'c suite',
    });
    // Acme: "https://www.acme.com/" and "acme.com" are one company, with Ada and Bob
    const acme = await q(`select * from company.master where domain = 'acme.com'`);
    expect(acme).toHaveLength(1);
    expect(acme[0]).toMatchObject({ linkedin_url: 'https://www.linkedin.com/company/acme-inc', employee_count: 1200, merged_into: null });
    const acmePeople = await q(`select full_name from people.master where company_id = $1 order by full_name`, [acme[0].company_id]);
    expect(acmePeople.map((p) => p.full_name)).toEqual(['Ada Lovelace', 'Bob Smith']);
    // Globex came as "https://www.globex.com/" and "globex.com" with two spellings of its name
    const globex = await q(`select company_id, name from company.master where domain = 'globex.com'`);
    expect(globex).toHaveLength(1);
    expect((await q(`select count(*)::int as n from people.master where company_id = $1`, [globex[0].company_id]))[0].n).toBe(2);

    // unicode names, "DOE, JOHN", blank cells
    expect(await personByEmail('zoe@buecher.de')).toMatchObject({ first_name: 'Zoë', last_name: 'Ångström', phone: '+4915123456789', company_id: expect.any(Number) });
    const jose = await personByEmail('jose.nunez@example.org');
    expect(jose).toMatchObject({ first_name: 'José', last_name: 'Núñez' });
    // a blank Company cell: the company comes from the (non-free-mail) email domain
    expect((await q(`select domain, name from company.master where company_id = $1`, [jose.company_id]))[0]).toEqual({ domain: 'example.org', name: null });
    expect(await personByEmail('jdoe@globex.com')).toMatchObject({ first_name: 'John', last_name: 'Doe', full_name: 'John Doe' });
    const blank = await personByEmail('blank.cells@initrode.com');
    expect(blank).toMatchObject({ first_name: null, title: null, phone: null });
    // a company derived from the email domain
    expect((await q(`select domain from company.master where company_id = $1`, [blank.company_id]))[0].domain).toBe('initrode.com');

    // 40 generated companies + Acme, Bücher, Globex, Initrode (José's example.org is a company too)
    expect((await q(`select count(*)::int as n from company.master where merged_into is null`))[0].n).toBe(45);
    // every generated person is one master; Ada's plus address shares her master with nobody else yet
    expect((await q(`select count(*)::int as n from people.master where merged_into is null`))[0].n).toBe(fixture.length);

    // unknown export columns stay in the raw payload
    const [raw] = await q(`select raw from intake.raw_loads where batch_id = $1 and email = 'ada.lovelace+conf@acme.com'`, [firstBatch]);
    expect(raw.raw['Keywords']).toBe('widgets, "gears", springs');
    expect(raw.raw['Email Bounced']).toBe('false');
  });

  it('writes one history row per field a master got, from the promotion workflow', async () => {
    const ada = await personByEmail('ada.lovelace@acme.com');
    const history = await q(`select field, old_value, new_value, source, workflow_id, slot_id from people.history where person_id = $1 order by field`, [ada.person_id]);
    expect(history.map((h) => h.field)).toEqual(
      ['city', 'company_id', 'country', 'departments', 'email', 'first_name', 'full_name', 'last_name', 'linkedin_url', 'phone', 'seniority', 'title'],
    );
    expect(history.every((h) => h.old_value === null && h.source === 'apollo' && h.workflow_id === `promote:${firstBatch}`)).toBe(true);
    expect(history.find((h) => h.field === 'title').new_value).toBe('CTO');
  });

  it('the same person from a second source joins the same master; history only for the fields that changed', async () => {
    const before = await personByEmail('ada.lovelace@acme.com');
    const batch = uniqueId('apify');
    const res = await ingestJson({
      source: 'apify',
      batch_id: batch,
      format: 'apify_linkedin',
      rows: [
        {
          linkedinUrl: 'https://www.linkedin.com/in/ada-lovelace/?originalSubdomain=uk', firstName: 'Ada', lastName: 'Lovelace',
          fullName: 'Ada Lovelace', headline: 'Poet of science', jobTitle: 'Chief Technology Officer', companyName: 'Acme',
          companyWebsite: 'https://acme.com', email: 'Ada.Lovelace@acme.com', addressCountryOnly: 'United Kingdom',
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const after = await personByEmail('ada.lovelace@acme.com');
    expect(after.person_id).toBe(before.person_id);
    // apify outranks apollo for title/headline only (common/survivorship.ts); apollo keeps the email
    expect(after).toMatchObject({ title: 'Chief Technology Officer', headline: 'Poet of science', email: 'ada.lovelace+conf@acme.com', version: before.version + 1 });
    const history = await q(`select field, old_value, new_value, source from people.history where person_id = $1 and workflow_id = $2 order by field`, [before.person_id, `promote:${batch}`]);
    expect(history).toEqual([
      { field: 'headline', old_value: null, new_value: 'Poet of science', source: 'apify' },
      { field: 'title', old_value: 'CTO', new_value: 'Chief Technology Officer', source: 'apify' },
    ]);
    // two vault contacts (two addresses), one golden person keeping both sources
    const sources = await q(`select source, source_id, contact_id from people.slot where person_id = $1 order by source`, [before.person_id]);
    expect(sources.map((s) => s.source)).toEqual(['apify', 'apollo']);
    expect(new Set(sources.map((s) => s.contact_id)).size).toBe(2);
    // the company resolved to Acme by domain from "https://acme.com"
    expect(after.company_id).toBe(before.company_id);
    expect((await q(`select count(*)::int as n from company.master where domain = 'acme.com'`))[0].n).toBe(1);
  });

  it('promoting the same data again changes no master and writes no history', async () => {
    const snapshot = async () => ({
      people: await q(`select * from people.master order by person_id`),
      companies: await q(`select * from company.master order by company_id`),
      history: (await q(`select (select count(*) from people.history) + (select count(*) from company.history) as n`))[0].n,
      slots: (await q(`select (select count(*) from people.slot) + (select count(*) from company.slot) as n`))[0].n,
    });
    const before = await snapshot();
    // the same export, a month later (older than the 30-day duplicate window)
    await q(`update intake.raw_loads set created_at = created_at - interval '31 days'`);
    const res = await uploadCsv(fixtureCsv, { source: 'apollo', batch_id: uniqueId('apollo-again'), format: 'apollo_csv' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().promotion).toMatchObject({ promoted: 0, updated: fixture.length, failed: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it('imports never change consent, suppression or bounce status', async () => {
    await q(`update vault.contacts set status = 'unsubscribed' where email = 'bob@acme.com'`);
    await q(`update intake.raw_loads set created_at = created_at - interval '31 days'`);
    const res = await ingestJson({
      source: 'manual',
      batch_id: uniqueId('status'),
      rows: [{ email: 'bob@acme.com', title: 'VP Sales', status: 'active', unsubscribed: false, email_bounced: false }],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await q(`select status, title from vault.contacts where email = 'bob@acme.com'`))[0]).toEqual({ status: 'unsubscribed', title: 'VP Sales' });
    expect(Object.keys(await personByEmail('bob@acme.com'))).not.toContain('status');
  });

  it('merges two masters that new data shows are one person (and one company), auditable', async () => {
    // two people and two companies that look unrelated so far
    let res = await ingestJson({
      source: 'manual', batch_id: uniqueId('m1'),
      rows: [{ email: 'grace@initech.com', full_name: 'Grace Hopper', company_name: 'Initech', company_domain: 'initech.com' }],
    });
    expect(res.statusCode, res.body).toBe(200);
    res = await ingestJson({
      source: 'apify', batch_id: uniqueId('m2'), format: 'apify_linkedin',
      rows: [{ email: 'ghopper@initech-mail.net', fullName: 'Grace M. Hopper', linkedinUrl: 'https://linkedin.com/in/gracehopper', companyName: 'Initech Software', companyLinkedin: 'https://www.linkedin.com/company/initech' }],
    });
    expect(res.statusCode, res.body).toBe(200);
    const a = await personByEmail('grace@initech.com');
    const b = await personByEmail('ghopper@initech-mail.net');
    expect(a.person_id).not.toBe(b.person_id);
    expect(a.company_id).not.toBe(b.company_id);
    const slotsB = await q(`select slot_id from people.slot where person_id = $1`, [b.person_id]);

    // Apollo knows both: Grace's email and her LinkedIn; Initech's domain and its LinkedIn page
    // (next month: the same email within 30 days would be skipped at staging as a duplicate)
    await q(`update intake.raw_loads set created_at = created_at - interval '31 days'`);
    const batch = uniqueId('m3');
    res = await ingestJson({
      source: 'apollo', batch_id: batch, format: 'apollo_api',
      rows: [{ id: 'p-grace', email: 'grace@initech.com', name: 'Grace Hopper', linkedin_url: 'http://www.linkedin.com/in/gracehopper',
        organization: { id: 'o-initech', name: 'Initech', primary_domain: 'initech.com', linkedin_url: 'http://www.linkedin.com/company/initech' } }],
    });
    expect(res.statusCode, res.body).toBe(200);

    const loser = (await q(`select * from people.master where person_id = $1`, [Math.max(a.person_id, b.person_id)]))[0];
    const survivor = Math.min(a.person_id, b.person_id);
    expect(loser.merged_into).toBe(survivor);
    expect((await q(`select count(*)::int as n from people.slot where person_id = $1`, [loser.person_id]))[0].n).toBe(0);
    expect((await q(`select count(*)::int as n from people.slot where person_id = $1`, [survivor]))[0].n).toBe(3);
    const [merge] = await q(`select * from people.history where person_id = $1 and action = 'merge'`, [survivor]);
    expect(merge).toMatchObject({ field: 'person_id', old_value: loser.person_id, new_value: survivor, workflow_id: `promote:${batch}` });
    expect(merge.details.loser).toMatchObject({ person_id: loser.person_id, linkedin_url: 'https://www.linkedin.com/in/gracehopper' });
    expect(merge.details.moved_slot_ids).toEqual(loser.person_id === b.person_id ? slotsB.map((s) => s.slot_id) : expect.any(Array));
    expect(merge.details.reason).toMatchObject({ key: expect.stringMatching(/email|linkedin/) });
    expect(await q(`select action, new_value from people.history where person_id = $1 and action = 'merged_into'`, [loser.person_id])).toEqual([
      { action: 'merged_into', new_value: survivor },
    ]);

    // the companies merged too, and the people's company links moved with them
    const companies = await q(`select company_id, merged_into from company.master where company_id in ($1, $2) order by company_id`, [a.company_id, b.company_id]);
    expect(companies[1].merged_into).toBe(companies[0].company_id);
    // automatic merges are audited too, as the promotion's actor and workflow (issue 10)
    const [audit] = await q(`select actor, before, after, workflow_id from intake.audit_log where action = 'person_merged' and entity_id = $1`, [String(loser.person_id)]);
    expect(audit).toMatchObject({ actor: 'master-test-writer', workflow_id: `promote:${batch}`, before: { merged_into: null }, after: { merged_into: survivor, reason: { key: expect.any(String) } } });
    const [caudit] = await q(`select actor, after from intake.audit_log where action = 'company_merged' and entity_id = $1`, [String(companies[1].company_id)]);
    expect(caudit).toMatchObject({ actor: 'master-test-writer', after: { merged_into: companies[0].company_id } });
    const [cmerge] = await q(`select details from company.history where company_id = $1 and action = 'merge'`, [companies[0].company_id]);
    expect(cmerge.details.loser.company_id).toBe(companies[1].company_id);
    expect(cmerge.details.moved_keys).toContainEqual({ kind: 'linkedin', value: 'https://www.linkedin.com/company/initech' });
    expect((await q(`select company_id from people.master where person_id = $1`, [survivor]))[0].company_id).toBe(companies[0].company_id);
    expect((await q(`select count(*)::int as n from people.slot where company_id = $1`, [companies[1].company_id]))[0].n).toBe(0);
  });
});

describe('merging golden records through the API', () => {
  it('POST /api/people/:id/merge moves slots and keys, records the merge, and is idempotent; conflicts are named', async () => {
    const res = await ingestJson({
      source: 'manual', batch_id: uniqueId('hand'),
      rows: [
        { email: 'k.johnson@nasa.example', full_name: 'Katherine Johnson', title: 'Mathematician' },
        { email: 'katherine@home.example', full_name: 'Katherine G. Johnson', phone: '+1 415 555 0199' },
        { email: 'dorothy@nasa.example', full_name: 'Dorothy Vaughan' },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const work = await personByEmail('k.johnson@nasa.example');
    const home = await personByEmail('katherine@home.example');
    const dorothy = await personByEmail('dorothy@nasa.example');
    const merge = (id: number, body: unknown) => app.inject({ method: 'POST', url: `/api/people/${id}/merge`, headers: writer, payload: body as object });

    const merged = await merge(home.person_id, { into: work.person_id });
    expect(merged.statusCode, merged.body).toBe(200);
    expect(merged.json()).toEqual({ survivor_id: work.person_id, merged_id: home.person_id, already_merged: false });
    // one person now: both addresses, the phone from the merged record, history of the merge
    const detail = (await app.inject({ method: 'GET', url: `/api/people/${work.person_id}`, headers: writer })).json();
    expect(detail.contacts.map((c: { email: string }) => c.email).sort()).toEqual(['k.johnson@nasa.example', 'katherine@home.example']);
    expect(detail).toMatchObject({ phone: '+14155550199', title: 'Mathematician' });
    expect(detail.history).toContainEqual(expect.objectContaining({ action: 'merge', old_value: home.person_id, new_value: work.person_id }));
    expect((await personByEmail('katherine@home.example')).person_id).toBe(work.person_id); // the email key moved
    const [audit] = await q(`select actor, after from intake.audit_log where action = 'person_merged' and entity_id = $1`, [String(home.person_id)]);
    expect(audit).toEqual({ actor: 'master-test-writer', after: { merged_into: work.person_id, reason: { by: 'api', actor: 'master-test-writer' } } });

    // a repeat changes nothing
    const again = await merge(home.person_id, { into: work.person_id });
    expect(again.json()).toMatchObject({ already_merged: true });
    expect(await q(`select count(*)::int as n from people.history where person_id = $1 and action = 'merge'`, [work.person_id])).toEqual([{ n: 1 }]);

    // conflicts and bad input name what is wrong, and change nothing
    expect((await merge(home.person_id, { into: dorothy.person_id })).statusCode).toBe(409);
    const intoMerged = await merge(dorothy.person_id, { into: home.person_id });
    expect(intoMerged.statusCode).toBe(409);
    expect(intoMerged.json().message).toContain(`merged into ${work.person_id}`);
    const self = await merge(dorothy.person_id, { into: dorothy.person_id });
    expect(self.statusCode).toBe(400);
    expect(self.json().details.issues[0].field).toBe('into');
    const missing = await merge(dorothy.person_id, { into: 999_999_999 });
    expect([missing.statusCode, missing.json().details.issues[0].field]).toEqual([400, 'into']);
    expect((await merge(999_999_999, { into: dorothy.person_id })).statusCode).toBe(404);
    expect((await merge(dorothy.person_id, { into: 'two' })).statusCode).toBe(400);
    expect((await q(`select merged_into from people.master where person_id = $1`, [dorothy.person_id]))[0].merged_into).toBeNull();
  });

  it('POST /api/companies/:id/merge moves the company\'s people with it', async () => {
    const res = await ingestJson({
      source: 'manual', batch_id: uniqueId('hand-co'),
      rows: [
        { email: 'a@globex.example', full_name: 'Hank Scorpio', company_name: 'Globex', company_domain: 'globex.example' },
        { email: 'b@globex-corp.example', full_name: 'Frank Grimes', company_name: 'Globex Corporation', company_domain: 'globex-corp.example' },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const [survivor] = await q(`select company_id from company.master where domain = 'globex.example'`);
    const [loser] = await q(`select company_id from company.master where domain = 'globex-corp.example'`);
    const merged = await app.inject({ method: 'POST', url: `/api/companies/${loser.company_id}/merge`, headers: writer, payload: { into: survivor.company_id } });
    expect(merged.statusCode, merged.body).toBe(200);
    const company = (await app.inject({ method: 'GET', url: `/api/companies/${survivor.company_id}`, headers: writer })).json();
    expect(company.people.map((p: { full_name: string }) => p.full_name).sort()).toEqual(['Frank Grimes', 'Hank Scorpio']);
    expect((await q(`select merged_into from company.master where company_id = $1`, [loser.company_id]))[0].merged_into).toBe(survivor.company_id);
  });
});

describe('CSV uploads', () => {
  const header = csvLine(['First Name', 'Last Name', 'Email']);
  const staged = async (batch: string) => (await q(`select (select count(*) from intake.batches where batch_id = $1) + (select count(*) from intake.batch_rows where batch_id = $1) as n`, [batch]))[0].n;

  it.each([
    ['a ragged row', header + csvLine(['A', 'B', 'a@x.com']) + csvLine(['C', 'c@x.com']) + csvLine(['D', 'E', 'd@x.com']), 3],
    ['bad quoting', header + csvLine(['A', 'B', 'a@x.com']) + csvLine(['A', 'B', 'b@x.com']) + 'C,"D"x,c@x.com\r\n', 4],
    ['an unclosed quote', header + csvLine(['A', 'B', 'a@x.com']) + 'C,"D,c@x.com\r\n' + csvLine(['E', 'F', 'e@x.com']), 3],
    ['wrong encoding (Latin-1)', Buffer.concat([Buffer.from(header + csvLine(['A', 'B', 'a@x.com'])), Buffer.from('Jos\xe9,N,j@x.com\r\n', 'latin1')]), 3],
    ['a row that names nobody', header + csvLine(['A', 'B', 'a@x.com']) + csvLine([' ', '', '']), 3],
  ])('rejects %s with 400 naming the line, and stages nothing', async (_name, csv, line) => {
    const batch = uniqueId('bad');
    const res = await uploadCsv(csv, { source: 'manual', batch_id: batch, format: 'apollo_csv' });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().message).toContain(`line ${line}`);
    expect(res.json().details.line).toBe(line);
    expect(await staged(batch)).toBe(0);
  });

  it('rejects an upload over CSV_UPLOAD_LIMIT_MB with 413 (text/csv and multipart), staging nothing', async () => {
    const small = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, CSV_UPLOAD_LIMIT_MB: '1' } });
    try {
      const csv = header + Array.from({ length: 40_000 }, (_, i) => csvLine(['A', `B${i}`, `limit${i}@x.com`])).join('');
      expect(csv.length).toBeGreaterThan(1048576);
      const batch = uniqueId('big');
      const res = await small.inject({ method: 'POST', url: `/api/ingest?source=manual&batch_id=${batch}`, headers: { ...writer, 'content-type': 'text/csv' }, payload: csv });
      expect(res.statusCode, res.body).toBe(413);
      expect(await staged(batch)).toBe(0);

      const boundary = '----bartonlimit';
      const multi = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`;
      const batch2 = uniqueId('big');
      const res2 = await small.inject({
        method: 'POST', url: `/api/ingest?source=manual&batch_id=${batch2}`,
        headers: { ...writer, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: multi,
      });
      expect(res2.statusCode, res2.body).toBe(413);
      expect(await staged(batch2)).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('accepts a multipart upload with a caller mapping, and names a bad setting', async () => {
    const batch = uniqueId('multi');
    const csv = csvLine(['E-Mail', 'Who', 'Org']) + csvLine(['Carol@Example.net', 'carol jones', 'Example Net']);
    const boundary = '----bartontest';
    const form = (fields: Record<string, string>) =>
      Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="contacts.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`;
    const headers = { ...writer, 'content-type': `multipart/form-data; boundary=${boundary}` };
    const mapping = JSON.stringify({ 'E-Mail': 'email', Who: 'full_name', Org: 'company_name' });
    const res = await app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers, payload: form({ source: 'manual', batch_id: batch, mapping, promote: 'true' }) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().promotion).toMatchObject({ promoted: 1 });
    expect(await personByEmail('carol@example.net')).toMatchObject({ full_name: 'Carol Jones', first_name: 'Carol' });

    const bad = await app.inject({ method: 'POST', url: '/api/ingest', headers, payload: form({ source: 'manual', batch_id: uniqueId('m'), mapping: '{"E-Mail":"emial"}' }) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.issues[0].field).toBe('mapping');
  });
});

describe('contact, person and company records', () => {
  const contactId = async (email: string) => (await q(`select contact_id from vault.contacts where email = $1`, [email]))[0].contact_id as number;
  const patch = (id: number, body: object, headers: Record<string, string> = {}) =>
    app.inject({ method: 'PATCH', url: `/api/contacts/${id}`, headers: { ...writer, ...headers }, payload: body });

  it('GET /api/contacts/:id shows the golden record, its sources, history and intelligence, with an ETag', async () => {
    const id = await contactId('ada.lovelace+conf@acme.com');
    const res = await app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: writer });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(res.headers.etag).toBe(`W/"${body.version}"`);
    expect(body).toMatchObject({
      email: 'ada.lovelace+conf@acme.com',
      master: { full_name: 'Ada Lovelace', title: 'Chief Technology Officer', field_sources: { title: { source: 'apify' } } },
      company: { domain: 'acme.com' },
      intelligence: [],
    });
    expect(body.sources.map((s: { source: string }) => s.source).sort()).toEqual(['apify', 'apollo']);
    expect(body.history[0]).toMatchObject({ action: 'set', field: expect.any(String) });
    expect((await app.inject({ method: 'GET', url: '/api/contacts/999999999', headers: writer })).statusCode).toBe(404);
    // enrichment's intelligence (people.intelligence, keyed by contact) shows with the contact
    await q(
      `insert into people.intelligence (contact_id, provider, matched, payload, expires_at) values ($1, 'apify', true, $2, now() + interval '30 days')`,
      [id, { headline: 'Poet of science' }],
    );
    const enriched = (await app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: writer })).json();
    expect(enriched.intelligence).toEqual([expect.objectContaining({ contact_id: id, provider: 'apify', payload: { headline: 'Poet of science' } })]);
  });

  it('PATCH /api/contacts/:id: validated fields, 412/409 on stale writes, audit before/after, history from the edit', async () => {
    const id = await contactId('bob@acme.com');
    const current = await app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: writer });
    const { version, master } = current.json();

    expect((await patch(id, { title: 'Head of Sales' })).statusCode).toBe(428);
    const stale412 = await patch(id, { title: 'Head of Sales' }, { 'if-match': `W/"${version - 1}"` });
    expect(stale412.statusCode).toBe(412);
    const stale409 = await patch(id, { title: 'Head of Sales', version: version - 1 });
    expect(stale409.statusCode).toBe(409);
    const invalid = await patch(id, { phone: 'call me', linkedin_url: 'https://example.com/bob', email: 'x@y.z' }, { 'if-match': current.headers.etag as string });
    expect(invalid.statusCode).toBe(400);
    const invalid2 = await patch(id, { phone: 'call me', linkedin_url: 'https://example.com/bob' }, { 'if-match': current.headers.etag as string });
    expect(invalid2.json().details.issues.map((i: { field: string }) => i.field)).toEqual(['phone', 'linkedin_url']);

    // bob unsubscribed (above): an edit does not make him active again
    const reactivate = await patch(id, { title: 'Head of Sales', status: 'active' }, { 'if-match': current.headers.etag as string });
    expect(reactivate.statusCode).toBe(409);
    expect(reactivate.json().details).toEqual({ field: 'status', status: 'unsubscribed' });

    const ok = await patch(id, { title: 'Head of Sales', phone: '617-555-0199', status: 'unsubscribed' }, { 'if-match': current.headers.etag as string });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ title: 'Head of Sales', phone: '+16175550199', status: 'unsubscribed', version: version + 1 });
    expect(ok.headers.etag).toBe(`W/"${version + 1}"`);
    // the same ETag again is now stale
    expect((await patch(id, { title: 'x' }, { 'if-match': current.headers.etag as string })).statusCode).toBe(412);

    const [audit] = await q(`select actor, before, after from intake.audit_log where action = 'contact_updated' and entity_id = $1`, [String(id)]);
    expect(audit).toMatchObject({
      actor: 'master-test-writer',
      before: { title: 'VP Sales', status: 'unsubscribed', version },
      after: { title: 'Head of Sales', phone: '+16175550199', status: 'unsubscribed', version: version + 1 },
    });
    // the edit outranks every import in the golden record, and its history says so
    const edits = await q(`select field, old_value, new_value from people.history where person_id = $1 and source = 'manual_edit' order by field`, [master.person_id]);
    expect(edits).toEqual([
      { field: 'phone', old_value: '+16175550134', new_value: '+16175550199' },
      { field: 'title', old_value: 'VP Sales', new_value: 'Head of Sales' } // the manual import's title,
    ]);
  });

  it('GET /api/people/:id and /api/companies/:id (with its people); GET /api/companies searches', async () => {
    const ada = await personByEmail('ada.lovelace@acme.com');
    const person = await app.inject({ method: 'GET', url: `/api/people/${ada.person_id}`, headers: writer });
    expect(person.statusCode, person.body).toBe(200);
    expect(person.json()).toMatchObject({ person_id: ada.person_id, company: { domain: 'acme.com' } });
    expect(person.json().contacts.map((c: { email: string }) => c.email).sort()).toEqual(['ada.lovelace+conf@acme.com', 'ada.lovelace@acme.com']);

    const company = await app.inject({ method: 'GET', url: `/api/companies/${ada.company_id}`, headers: writer });
    expect(company.statusCode, company.body).toBe(200);
    expect(company.json().people.map((p: { full_name: string }) => p.full_name).sort()).toEqual(['Ada Lovelace', 'Bob Smith']);
    expect(company.json().sources.length).toBeGreaterThanOrEqual(2);

    const search = await app.inject({ method: 'GET', url: '/api/companies?q=acme', headers: writer });
    expect(search.json().data.map((c: { domain: string }) => c.domain)).toEqual(['acme.com']);
    const paged = await app.inject({ method: 'GET', url: '/api/companies?limit=10', headers: writer });
    const next = await app.inject({ method: 'GET', url: `/api/companies?limit=10&cursor=${paged.json().next_cursor}`, headers: writer });
    expect(next.json().data[0].company_id).toBeGreaterThan(paged.json().data[9].company_id);
  });

  it('documents the data API in OpenAPI', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json', headers: writer })).json();
    for (const path of ['/api/contacts', '/api/contacts/{id}', '/api/companies', '/api/companies/{id}', '/api/people/{id}', '/api/ingest',
      '/api/people/{id}/merge', '/api/companies/{id}/merge']) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
    expect(Object.keys(doc.paths['/api/contacts/{id}'])).toEqual(expect.arrayContaining(['get', 'patch']));
    expect(JSON.stringify(doc.paths['/api/contacts'].get.parameters)).toContain('updated_since');
  });
});

describe('how golden records are stored', () => {
  it("keeps a new person's first values as one creation record that reads as one history row per field", async () => {
    const ada = await personByEmail('ada.lovelace@acme.com');
    const entries = await q(`select action, new_value, source, slot_id, workflow_id from people.history_entries where person_id = $1 and action = 'create'`, [ada.person_id]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ source: 'apollo', slot_id: expect.any(Number), workflow_id: `promote:${firstBatch}` });
    expect(Object.keys(entries[0].new_value).sort()).toEqual(
      ['city', 'company_id', 'country', 'departments', 'email', 'first_name', 'full_name', 'last_name', 'linkedin_url', 'phone', 'seniority', 'title'],
    );
    // the API answers per field: who set it, when, from which source
    const detail = (await app.inject({ method: 'GET', url: `/api/people/${ada.person_id}`, headers: writer })).json();
    const created = detail.history.filter((h: { workflow_id: string }) => h.workflow_id === `promote:${firstBatch}`);
    expect(created).toHaveLength(12);
    expect(created).toContainEqual(expect.objectContaining({ action: 'set', field: 'email', old_value: null, new_value: 'ada.lovelace+conf@acme.com', source: 'apollo', at: expect.any(String) }));
  });

  it('refuses a reference to a record that does not exist, and the delete of a record something names', async () => {
    const ada = await personByEmail('ada.lovelace@acme.com');
    const refused = async (sql: string, params: unknown[] = []) => {
      const err = await db.pool.query(sql, params).then(() => undefined, (e: { code?: string; message?: string }) => e);
      expect(err, sql).toMatchObject({ code: '23503' });
      return err?.message;
    };
    const slots = (await q(`select count(*)::int as n from people.slot`))[0].n;
    expect(await refused(`insert into people.slot (source, source_key, seen_at, last_seen_at, person_id) values ('manual', 'dangling', now(), now(), 999999999)`))
      .toContain('person_id = 999999999 names no row of people.master');
    await refused(`update people.slot set company_id = 999999999 where person_id = $1`, [ada.person_id]);
    await refused(`insert into people.master_key (kind, value, person_id) values ('email', 'nobody@nowhere.example', 999999999)`);
    expect((await q(`select count(*)::int as n from people.slot`))[0].n).toBe(slots);
    expect(await refused(`delete from vault.contacts where email = 'ada.lovelace@acme.com'`)).toContain('still named by people.slot.contact_id');
    await refused(`delete from company.master where company_id = $1`, [ada.company_id]);
    await refused(`truncate people.master cascade`);
    expect(await personByEmail('ada.lovelace@acme.com')).toMatchObject({ person_id: ada.person_id, company_id: ada.company_id });
  });
});
