// Enrichment through the real API, a real Temporal server and real Postgres, with Apollo and Apify
// played by local fakes of their documented contracts.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { bearer, historyRecorder, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase } from './support/harness';
import { PROFILE_ACTOR, providerEnv, startEnrichStack } from './support/enrich-stack';
import { startApolloFake, type ApolloFake, type FakePerson } from './fakes/apollo';
import { startApifyFake, type ApifyFake } from './fakes/apify';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let apollo: ApolloFake;
let apify: ApifyFake;
let stack: Awaited<ReturnType<typeof startEnrichStack>>;
let app: App;
let writer: Record<string, string>;
const taskQueue = uniqueId('enrich');

/** Apify's fake LinkedIn actor: one item per known profile URL in its input. */
const linkedinProfiles = new Map<string, Record<string, unknown>>();
function profileActor(input: { profileUrls?: string[] }) {
  const items = (input.profileUrls ?? []).map((u) => linkedinProfiles.get(u.toLowerCase())).filter((x): x is Record<string, unknown> => Boolean(x));
  return { items, durationMs: 50 };
}

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  apollo = await startApolloFake();
  apify = await startApifyFake({ actors: { [PROFILE_ACTOR]: profileActor }, secondMs: 10 });
  const env = providerEnv(apollo, apify, taskQueue, { APIFY_PROFILES_PER_RUN: '5' });
  stack = await startEnrichStack(db.pool, env);
  app = await testApp({ pool: db.pool, temporal, config: env });
  writer = await bearer(db.pool, ['read', 'write'], 10_000, 'enrich-test-writer');
});

// RECORD_HISTORIES=1 refreshes the enrichment histories in test/histories/ (see test/replay.test.ts)
const histories = historyRecorder();

afterAll(async () => {
  histories.save();
  await app?.close();
  await stack?.stop();
  await temporal?.connection.close();
  await apollo?.close();
  await apify?.close();
  await db?.drop();
});

/** Contacts in the vault; returns their ids in order. */
async function contacts(rows: { email: string; linkedin_url?: string; title?: string }[]): Promise<number[]> {
  const { rows: out } = await db.pool.query(
    `insert into vault.contacts (email, linkedin_url, title, source)
     select x.email, x.linkedin_url, x.title, 'test' from jsonb_to_recordset($1::jsonb) as x(email text, linkedin_url text, title text)
     returning contact_id`,
    [JSON.stringify(rows)],
  );
  return out.map((r) => r.contact_id);
}

function apolloPerson(tag: string, extra: Partial<FakePerson> = {}): FakePerson {
  return {
    id: `ap-${tag}`, email: `${tag}@acme.example`, first_name: `First${tag}`, last_name: `Last${tag}`, title: `Apollo title ${tag}`,
    city: 'Berlin', country: 'Germany', organization: { name: 'Acme', primary_domain: 'acme.example' }, ...extra,
  };
}
const li = (tag: string) => `https://www.linkedin.com/in/${tag}`;
function linkedinProfile(tag: string, extra: Record<string, unknown> = {}) {
  linkedinProfiles.set(li(tag).toLowerCase(), { linkedinUrl: li(tag), firstName: `LiFirst${tag}`, lastName: `LiLast${tag}`, headline: `Headline ${tag}`, jobTitle: `LinkedIn title ${tag}`, companyName: 'Acme LinkedIn', ...extra });
}

const enrich = (body: object, wait = true) => app.inject({ method: 'POST', url: `/api/enrich${wait ? '?wait=true' : ''}`, headers: writer, payload: body });

describe('enrichment workflow', () => {
  it('targets golden records: everyone at a company, or listed people', async () => {
    const t = uniqueId('g').replace(/\W/g, '');
    const rows = [
      { email: `${t}x@globex.example`, first_name: 'Xena', last_name: 'Globex', company_name: 'Globex', company_domain: 'globex.example' },
      { email: `${t}y@globex.example`, first_name: 'Yuri', last_name: 'Globex', company_name: 'Globex', company_domain: 'globex.example' },
      { email: `${t}z@initech.example`, first_name: 'Zoe', last_name: 'Initech', company_name: 'Initech', company_domain: 'initech.example' },
    ];
    for (const r of rows) apollo.addPerson({ id: `ap-${r.email}`, email: r.email, first_name: r.first_name, last_name: r.last_name, title: 'Buyer' });
    const ingested = await app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers: writer, payload: { source: 'manual', batch_id: `golden-${t}`, promote: true, rows } });
    expect(ingested.json().promotion).toMatchObject({ promoted: 3, failed: 0 });
    const { rows: [globex] } = await db.pool.query(`select company_id from company.master where domain = 'globex.example'`);
    const { rows: [zoe] } = await db.pool.query(`select person_id from people.master where email = $1`, [`${t}z@initech.example`]);

    const byCompany = await enrich({ request_id: `company-${t}`, company_ids: [globex.company_id], providers: ['apollo'] });
    expect(byCompany.json().result).toMatchObject({ requested: 2, enriched_count: 2, failed: 0 });
    const byPerson = await enrich({ request_id: `person-${t}`, person_ids: [zoe.person_id], providers: ['apollo'] });
    expect(byPerson.json().result).toMatchObject({ requested: 1, enriched_count: 1 });
    const { rows: asked } = await db.pool.query(
      `select rc.request_id, c.email from enrich.request_contacts rc join vault.contacts c using (contact_id)
        where rc.request_id = any($1) order by rc.request_id, c.email`,
      [[`company-${t}`, `person-${t}`]],
    );
    expect(asked).toEqual([
      { request_id: `company-${t}`, email: `${t}x@globex.example` },
      { request_id: `company-${t}`, email: `${t}y@globex.example` },
      { request_id: `person-${t}`, email: `${t}z@initech.example` },
    ]);

    const both = await enrich({ contact_ids: [1], company_ids: [globex.company_id] });
    expect(both.statusCode).toBe(400);
    expect(both.json().details.issues[0]).toEqual({ field: 'contact_ids', message: 'give exactly one of contact_ids, person_ids, company_ids or filter' });
  });

  it('runs Apollo and LinkedIn (Apify) in parallel, falls through the waterfall, writes back and counts', async () => {
    const t = uniqueId('w').replace(/\W/g, '');
    // a: both providers know her; b: Apollo only, and Apollo finds her LinkedIn (Apify asked in round 2);
    // c: Apollo misses, LinkedIn has her (title falls through to Apify); d: nobody knows him.
    apollo.addPerson(apolloPerson(`${t}a`, { linkedin_url: li(`${t}a`) }));
    apollo.addPerson(apolloPerson(`${t}b`, { linkedin_url: li(`${t}b`) }));
    linkedinProfile(`${t}a`);
    linkedinProfile(`${t}b`);
    linkedinProfile(`${t}c`);
    const ids = await contacts([
      { email: `${t}a@acme.example`, linkedin_url: li(`${t}a`) },
      { email: `${t}b@acme.example` },
      { email: `${t}c@acme.example`, linkedin_url: li(`${t}c`) },
      { email: `${t}d@nowhere.example`, title: 'Kept title' },
    ]);
    const requestId = `req-${t}`;
    const res = await enrich({ request_id: requestId, contact_ids: ids });
    histories.record('enrich-two-providers.json', `enrich:${requestId}`);
    histories.record('enrich-apollo-branch.json', `enrich:${requestId}:apollo:r1`);
    expect(res.statusCode).toBe(200);
    const result = res.json().result;
    expect(result).toMatchObject({
      request_id: requestId, requested: 4, enriched_count: 3, promoted_count: 3, skipped_fresh: 0, failed: 0,
      providers: {
        apollo: { calls: 1, failed_calls: 0, contacts: 4, matched: 2, credits: 2 },
        apify: { failed_calls: 0, contacts: 3, matched: 3, credits: 3 },
      },
      credits: { budget: null, used: 5, budget_exhausted: false },
    });

    const { rows } = await db.pool.query(
      `select email, first_name, title, linkedin_url, company_name, company_domain, city, version from vault.contacts where contact_id = any($1) order by contact_id`,
      [ids],
    );
    // Apollo first for title and names; LinkedIn only where Apollo had nothing; existing values kept.
    expect(rows[0]).toMatchObject({ first_name: `First${t}a`, title: `Apollo title ${t}a`, company_domain: 'acme.example', city: 'Berlin', version: 2 });
    expect(rows[1]).toMatchObject({ title: `Apollo title ${t}b`, linkedin_url: li(`${t}b`) });
    expect(rows[2]).toMatchObject({ first_name: `LiFirst${t}c`, title: `LinkedIn title ${t}c`, company_name: 'Acme LinkedIn', company_domain: null });
    expect(rows[3]).toMatchObject({ title: 'Kept title', first_name: null, version: 1 });

    // The answers are source rows of the golden records too: one slot per provider that knew the
    // person, and survivorship picks the master's fields (a scraped profile wins the title).
    const { rows: slots } = await db.pool.query(
      `select s.contact_id, string_agg(s.source, ',' order by s.source) as sources from people.slot s
        where s.contact_id = any($1) group by s.contact_id order by s.contact_id`,
      [ids],
    );
    expect(slots).toEqual([
      { contact_id: ids[0], sources: 'apify,apollo' },
      { contact_id: ids[1], sources: 'apify,apollo' },
      { contact_id: ids[2], sources: 'apify' },
    ]);
    const { rows: masters } = await db.pool.query(
      `select distinct m.email, m.first_name, m.title from people.slot s join people.master m using (person_id)
        where s.contact_id = any($1) order by m.email`,
      [ids],
    );
    expect(masters).toEqual([
      { email: `${t}a@acme.example`, first_name: `First${t}a`, title: `LinkedIn title ${t}a` },
      { email: `${t}b@acme.example`, first_name: `First${t}b`, title: `LinkedIn title ${t}b` },
      { email: `${t}c@acme.example`, first_name: `LiFirst${t}c`, title: `LinkedIn title ${t}c` },
    ]);
    const { rows: [history] } = await db.pool.query(
      `select count(*)::int as n from people.history h join people.slot s using (person_id) where s.contact_id = $1 and h.field = 'title'`,
      [ids[0]],
    );
    expect(history.n).toBeGreaterThan(0);

    // Round 1: Apollo (all four) and Apify (a and c, who had LinkedIn URLs) in parallel; round 2: Apify for b.
    const calls = await db.pool.query(`select provider, round, cardinality(contact_ids) as n, status from enrich.provider_calls where request_id = $1 order by round, provider, chunk_no`, [requestId]);
    expect(calls.rows).toEqual([
      { provider: 'apify', round: 1, n: 2, status: 'done' },
      { provider: 'apollo', round: 1, n: 4, status: 'done' },
      { provider: 'apify', round: 2, n: 1, status: 'done' },
    ]);

    const intel = await db.pool.query(
      `select contact_id, provider, matched, round(extract(epoch from expires_at - fetched_at) / 86400) as ttl_days, payload ->> 'headline' as headline
       from people.intelligence where contact_id = any($1) order by contact_id, provider`,
      [ids],
    );
    expect(intel.rows.filter((r) => r.provider === 'apify').map((r) => r.headline)).toEqual([`Headline ${t}a`, `Headline ${t}b`, `Headline ${t}c`]);
    expect(new Set(intel.rows.map((r) => Number(r.ttl_days)))).toEqual(new Set([30]));
    expect(intel.rows.find((r) => r.contact_id === ids[3] && r.provider === 'apollo')).toMatchObject({ matched: false });

    const audit = await db.pool.query(`select count(*)::int as n from intake.audit_log where action = 'contact_enriched' and workflow_id = $1`, [`enrich:${requestId}`]);
    expect(audit.rows[0].n).toBe(3);

    const status = await app.inject({ method: 'GET', url: `/api/enrich/${requestId}`, headers: writer });
    expect(status.json()).toMatchObject({ status: 'COMPLETED', workflow_id: `enrich:${requestId}`, result: { enriched_count: 3 } });

    // Findable in Temporal by request id and provider (the provider branches are child workflows).
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of temporal.workflow.list({ query: `RequestId = "${requestId}" AND Provider = "apify"` })) ids.push(wf.workflowId);
      return ids.length >= 2 ? ids.sort() : undefined;
    });
    expect(found).toEqual([`enrich:${requestId}:apify:r1`, `enrich:${requestId}:apify:r2`]);
    const parent = await eventually(async () => {
      for await (const wf of temporal.workflow.list({ query: `RequestId = "${requestId}" AND WorkflowType = "enrichContactsWorkflow"` })) return wf.workflowId;
      return undefined;
    });
    expect(parent).toBe(`enrich:${requestId}`);

    // The recorded histories replay against the current workflow code (determinism).
    for (const id of [`enrich:${requestId}`, `enrich:${requestId}:apollo:r1`, `enrich:${requestId}:apify:r2`]) {
      const history = await temporal.workflow.getHandle(id).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, id);
    }
  });

  it('skips people whose intelligence has not expired, unless forced', async () => {
    const t = uniqueId('ttl').replace(/\W/g, '');
    for (const x of ['a', 'b', 'c']) apollo.addPerson(apolloPerson(`${t}${x}`));
    const ids = await contacts(['a', 'b', 'c'].map((x) => ({ email: `${t}${x}@acme.example` })));
    const first = await enrich({ request_id: `${t}-1`, contact_ids: ids, providers: ['apollo'] });
    expect(first.json().result).toMatchObject({ requested: 3, enriched_count: 3, skipped_fresh: 0 });

    const before = apollo.stats.byEndpoint['people/bulk_match'];
    const again = await enrich({ request_id: `${t}-2`, contact_ids: ids, providers: ['apollo'] });
    expect(again.json().result).toMatchObject({ requested: 3, enriched_count: 0, skipped_fresh: 3, credits: { used: 0 } });
    expect(apollo.stats.byEndpoint['people/bulk_match']).toBe(before); // no provider call at all

    // one person's intelligence expires: only she is asked again
    await db.pool.query(`update people.intelligence set expires_at = now() - interval '1 minute' where contact_id = $1`, [ids[1]]);
    const expired = await enrich({ request_id: `${t}-3`, contact_ids: ids, providers: ['apollo'] });
    expect(expired.json().result).toMatchObject({ enriched_count: 1, skipped_fresh: 2, providers: { apollo: { contacts: 1 } } });
    expect(apollo.stats.bulkSizes.at(-1)).toBe(1);

    const forced = await enrich({ request_id: `${t}-4`, contact_ids: ids, providers: ['apollo'], force: true });
    expect(forced.json().result).toMatchObject({ enriched_count: 3, skipped_fresh: 0, providers: { apollo: { contacts: 3, credits: 3 } } });
    const { rows } = await db.pool.query(`select count(*)::int as n from people.intelligence where contact_id = any($1) and request_id = $2`, [ids, `${t}-4`]);
    expect(rows[0].n).toBe(3);
  });

  it('lists requests newest first with their ledgers\' counts, keyset paged', async () => {
    const t = uniqueId('list').replace(/\W/g, '');
    for (const x of ['a', 'b']) apollo.addPerson(apolloPerson(`${t}${x}`));
    const ids = await contacts([{ email: `${t}a@acme.example` }, { email: `${t}b@acme.example` }, { email: `${t}c@nowhere.example` }]);
    await enrich({ request_id: `${t}-1`, contact_ids: ids, providers: ['apollo'] });
    await enrich({ request_id: `${t}-2`, contact_ids: ids.slice(0, 1), providers: ['apollo'] });
    const list = async (q: string) => (await app.inject({ method: 'GET', url: `/api/enrich${q}`, headers: writer })).json();
    const first = await list('?limit=1');
    expect(first.runs.map((r: { request_id: string }) => r.request_id)).toEqual([`${t}-2`]);
    expect(first.runs[0]).toMatchObject({ requested: 1, skipped_fresh: 1, calls_planned: 0, workflow_id: `enrich:${t}-2` });
    const second = await list(`?limit=1&cursor=${first.next_cursor}`);
    expect(second.runs[0]).toMatchObject({
      request_id: `${t}-1`, providers: ['apollo'], requested: 3, skipped_fresh: 0, calls_planned: 1, calls_done: 1, calls_failed: 0, matched: 2,
    });
    expect(second.runs[0].written_back_at).not.toBeNull();
    const bad = await app.inject({ method: 'GET', url: '/api/enrich?limit=0', headers: writer });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('limit');
  });

  it('follows the requested waterfall order per field', async () => {
    const t = uniqueId('order').replace(/\W/g, '');
    apollo.addPerson(apolloPerson(`${t}a`));
    linkedinProfile(`${t}a`);
    const ids = await contacts([{ email: `${t}a@acme.example`, linkedin_url: li(`${t}a`) }]);
    // LinkedIn first for the title, Apollo first for everything else it can fill
    const res = await enrich({ request_id: t, contact_ids: ids, waterfall: { title: ['apify', 'apollo'], first_name: ['apollo', 'apify'], city: ['apollo'] } });
    expect(res.json().result).toMatchObject({ enriched_count: 1, promoted_count: 1 });
    const { rows } = await db.pool.query(`select title, first_name, city, company_name from vault.contacts where contact_id = $1`, [ids[0]]);
    expect(rows[0]).toEqual({ title: `LinkedIn title ${t}a`, first_name: `First${t}a`, city: 'Berlin', company_name: null }); // company_name: not in this waterfall
  });

  it('stops calling before the credit budget would be exceeded, and says so', async () => {
    const t = uniqueId('budget').replace(/\W/g, '');
    const tags = Array.from({ length: 25 }, (_, i) => `${t}p${i}`);
    for (const tag of tags) apollo.addPerson(apolloPerson(tag));
    const ids = await contacts(tags.map((tag) => ({ email: `${tag}@acme.example` })));
    const before = apollo.stats.byEndpoint['people/bulk_match'];
    const res = await enrich({ request_id: t, contact_ids: ids, providers: ['apollo'], credit_budget: 15 });
    const result = res.json().result;
    // calls of 10, 10 and 5 reserve what they may cost before calling: 10 + 5 fit in 15, the other 10 does not
    expect(result).toMatchObject({ enriched_count: 15, credits: { budget: 15, used: 15, budget_exhausted: true, skipped_calls: 1 }, providers: { apollo: { calls: 2, credits: 15 } } });
    expect(apollo.stats.byEndpoint['people/bulk_match'] - before).toBe(2);
    const { rows } = await db.pool.query(`select credits_reserved, credits_used from enrich.requests where request_id = $1`, [t]);
    expect(rows[0]).toEqual({ credits_reserved: 15, credits_used: 15 });
    const skipped = await db.pool.query(`select cardinality(contact_ids) as n from enrich.provider_calls where request_id = $1 and status = 'skipped_budget'`, [t]);
    expect(skipped.rows).toEqual([{ n: 10 }]);
  });

  it('an Apify outage fails only its branch, after its retries; Apollo results are kept', async () => {
    const t = uniqueId('down').replace(/\W/g, '');
    apollo.addPerson(apolloPerson(`${t}a`, { linkedin_url: li(`${t}a`) }));
    linkedinProfile(`${t}a`);
    const ids = await contacts([{ email: `${t}a@acme.example`, linkedin_url: li(`${t}a`) }]);
    apify.setDown(true);
    const before = apify.stats.requests;
    try {
      const res = await enrich({ request_id: t, contact_ids: ids });
      expect(res.statusCode).toBe(200);
      const result = res.json().result;
      expect(result).toMatchObject({ enriched_count: 1, promoted_count: 1, failed: 0, providers: { apollo: { calls: 1, matched: 1 }, apify: { calls: 0, failed_calls: 1 } } });
      expect(result.providers.apify.failure).toMatch(/apify: 503 server-error/);
      expect(apify.stats.requests - before).toBe(3); // ENRICH_MAX_ATTEMPTS=3
    } finally {
      apify.setDown(false);
    }
    const { rows } = await db.pool.query(`select title from vault.contacts where contact_id = $1`, [ids[0]]);
    expect(rows[0].title).toBe(`Apollo title ${t}a`);
    const branch = await temporal.workflow.getHandle(`enrich:${t}:apify:r1`).describe();
    expect(branch.status.name).toBe('FAILED');
  });

  it('an Apollo outage: LinkedIn still fills who it can, the rest count as failed', async () => {
    const t = uniqueId('apollodown').replace(/\W/g, '');
    linkedinProfile(`${t}a`);
    const ids = await contacts([{ email: `${t}a@acme.example`, linkedin_url: li(`${t}a`) }, { email: `${t}b@acme.example` }]);
    apollo.setDown(true);
    try {
      const result = (await enrich({ request_id: t, contact_ids: ids })).json().result;
      expect(result).toMatchObject({ requested: 2, enriched_count: 1, promoted_count: 1, failed: 1, providers: { apollo: { calls: 0, failed_calls: 1 }, apify: { matched: 1 } } });
      expect(result.providers.apollo.failure).toMatch(/apollo: 503/);
    } finally {
      apollo.setDown(false);
    }
    const { rows } = await db.pool.query(`select title from vault.contacts where contact_id = any($1) order by contact_id`, [ids]);
    expect(rows).toEqual([{ title: `LinkedIn title ${t}a` }, { title: null }]);
  });

  it('rejects a bad request naming the field, and answers 404 for an unknown request', async () => {
    const bad = await enrich({ contact_ids: [1], providers: ['clearbit'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('providers[0]');
    const neither = await enrich({ providers: ['apollo'] });
    expect(neither.statusCode).toBe(400);
    expect(neither.json().message).toContain('contact_ids');
    const missing = await app.inject({ method: 'GET', url: '/api/enrich/no-such-request', headers: writer });
    expect(missing.statusCode).toBe(404);
  });

  it('answers 202 with the workflow id, shows progress while running, and a repeated request id finds the same run', async () => {
    const t = uniqueId('async').replace(/\W/g, '');
    const ids = await contacts([{ email: `${t}@nowhere.example` }]);
    // the provider call is held open until the test has seen the run in flight (no race with a busy machine)
    let release!: () => void;
    apollo.options.hold = new Promise<void>((r) => (release = r));
    let res;
    try {
      res = await enrich({ request_id: t, contact_ids: ids, providers: ['apollo'] }, false);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ request_id: t, workflow_id: `enrich:${t}`, existing: false, status: 'RUNNING' });
      const running = await eventually(async () => {
        const body = (await app.inject({ method: 'GET', url: `/api/enrich/${t}`, headers: writer })).json();
        return body.progress?.phase === 'calling' ? body : undefined;
      });
      expect(running).toMatchObject({ status: 'RUNNING', progress: { phase: 'calling', round: 1, requested: 1, skipped_fresh: 0 } });
    } finally {
      apollo.options.hold = undefined;
      release();
    }
    const again = await enrich({ request_id: t, contact_ids: ids, providers: ['apollo'] });
    expect(again.json()).toMatchObject({ existing: true, result: { requested: 1 } });
  });
});

async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}
