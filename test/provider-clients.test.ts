// The real Apollo and Apify clients against local fakes of the documented contracts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApolloClient } from '../clients/apollo';
import { createApifyClient } from '../clients/apify';
import { ProviderRateLimitedError, ProviderRejectedError, ProviderUnavailableError, UnexpectedResponseError } from '../clients/http-errors';
import { startApolloFake, type ApolloFake } from './fakes/apollo';
import { startApifyFake, type ApifyFake } from './fakes/apify';

const ada = { id: 'p-ada', email: 'ada@engines.example', first_name: 'Ada', last_name: 'Lovelace', title: 'CTO', linkedin_url: 'https://www.linkedin.com/in/ada', organization: { name: 'Engines', primary_domain: 'engines.example' } };
const grace = { id: 'p-grace', email: 'grace@navy.example', first_name: 'Grace', last_name: 'Hopper', title: 'Admiral' };

describe('Apollo client', () => {
  let fake: ApolloFake;
  beforeAll(async () => {
    fake = await startApolloFake({ people: [ada, grace], organizations: [{ id: 'o1', name: 'Engines', primary_domain: 'engines.example' }] });
  });
  afterAll(() => fake?.close());
  const client = (o: Partial<Parameters<typeof createApolloClient>[0]> = {}) => createApolloClient({ baseUrl: fake.baseUrl, apiKey: fake.apiKey, ...o });

  it('bulk_match aligns matches by position, a miss is null, credits are counted', async () => {
    const c = client();
    const { matches, credits } = await c.bulkMatchPeople([{ email: 'grace@navy.example' }, { email: 'nobody@x.example' }, { linkedin_url: ada.linkedin_url }]);
    expect(matches.map((m) => m?.id ?? null)).toEqual(['p-grace', null, 'p-ada']);
    expect(credits).toBe(2);
    expect(c.usage).toEqual({ credits: 2, calls: 1 });
    expect(c.rateLimit.minuteLeft).toBe(999);
  });

  it('people/match returns null on a miss (200, no credit) and the person on a hit', async () => {
    const c = client();
    expect(await c.matchPerson({ email: 'nobody@x.example' })).toBeNull();
    expect((await c.matchPerson({ email: 'ADA@engines.example' }))?.title).toBe('CTO');
    expect(c.usage.credits).toBe(1);
  });

  it('organizations/enrich, bulk_enrich and api_search (no emails, no credits)', async () => {
    const c = client();
    expect((await c.enrichOrganization('engines.example'))?.name).toBe('Engines');
    expect(await c.bulkEnrichOrganizations(['engines.example', 'none.example'])).toEqual([expect.objectContaining({ id: 'o1' }), null]);
    const found = await c.searchPeople({ person_titles: ['cto'], per_page: 5 });
    expect(found.total_entries).toBe(1);
    expect(found.people[0]).not.toHaveProperty('email');
  });

  it('401 (text/plain) is a non-retryable rejection', async () => {
    const err = await client({ apiKey: 'wrong' }).matchPerson({ email: 'ada@engines.example' }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect(err).toMatchObject({ status: 401, retryable: false });
    expect(err.message).toContain('Invalid API key');
  });

  it('403 API_INACCESSIBLE and 422 are non-retryable; 400 RECORD_LIMIT_EXCEEDED carries its code', async () => {
    fake.script('organizations/enrich', { status: 403, body: { error: 'You are not authorized to access this endpoint', error_code: 'API_INACCESSIBLE' } });
    const forbidden = await client().enrichOrganization('engines.example').catch((e) => e);
    expect(forbidden).toMatchObject({ status: 403, code: 'API_INACCESSIBLE', retryable: false });
    const missing = await client().enrichOrganization('').catch((e) => e);
    expect(missing).toBeInstanceOf(ProviderRejectedError);
    expect(missing).toMatchObject({ status: 422 });
    expect(missing.message).toContain("Required parameter 'domain' missing");
    fake.script('people/bulk_match', { status: 400, body: { status: 'failed', error_code: 'RECORD_LIMIT_EXCEEDED', error_message: 'You can only enrich up to 10 records at a time' } });
    expect(await client().bulkMatchPeople([{ email: 'a@b.example' }]).catch((e) => e)).toMatchObject({ status: 400, code: 'RECORD_LIMIT_EXCEEDED' });
    await expect(client().bulkMatchPeople(Array.from({ length: 11 }, () => ({ email: 'a@b.example' })))).rejects.toThrow(/at most 10/);
  });

  it('5xx and timeouts are retryable', async () => {
    fake.script('people/match', { status: 502, body: { error: 'Bad Gateway' } });
    expect(await client().matchPerson({ email: 'x@y.example' }).catch((e) => e)).toMatchObject({ status: 502, retryable: true });
    const slow = await startApolloFake({ latencyMs: 500 });
    try {
      const err = await createApolloClient({ baseUrl: slow.baseUrl, apiKey: slow.apiKey, timeoutMs: 100 }).matchPerson({ email: 'x@y.example' }).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err.message).toMatch(/timed out after 100 ms/);
    } finally {
      await slow.close();
    }
  });

  it('429 carries the delay: Retry-After when sent, else the exhausted window', async () => {
    const limited = await startApolloFake({ perMinute: 2, windowMs: 60_000, retryAfter: true, people: [ada] });
    const noRetryAfter = await startApolloFake({ perMinute: 1, perHour: 1, windowMs: 60_000, retryAfter: false });
    try {
      const c = createApolloClient({ baseUrl: limited.baseUrl, apiKey: limited.apiKey });
      await c.matchPerson({ email: ada.email });
      await c.matchPerson({ email: ada.email });
      const err = await c.matchPerson({ email: ada.email }).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderRateLimitedError);
      expect(err.message).toContain('The maximum number of api calls allowed for api/v1/people/match is 2 times per minute');
      expect(err.retryAfterMs).toBeGreaterThan(0);
      expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(c.rateLimit.minuteLeft).toBe(0);

      const d = createApolloClient({ baseUrl: noRetryAfter.baseUrl, apiKey: noRetryAfter.apiKey, minuteWindowMs: 1234 });
      await d.matchPerson({ email: 'x@y.example' });
      const hourly = await d.matchPerson({ email: 'x@y.example' }).catch((e) => e);
      expect(hourly).toBeInstanceOf(ProviderRateLimitedError);
      expect(hourly.retryAfterMs).toBe(3_600_000); // x-hourly-requests-left: 0 and no Retry-After
    } finally {
      await limited.close();
      await noRetryAfter.close();
    }
  });

  it('an unexpected body shape is a non-retryable error naming the field', async () => {
    fake.script('people/bulk_match', { status: 200, body: { status: 'success', matches: [{ first_name: 'no id' }] } });
    const err = await client().bulkMatchPeople([{ email: 'a@b.example' }]).catch((e) => e);
    expect(err).toBeInstanceOf(UnexpectedResponseError);
    expect(err).toMatchObject({ field: 'matches[0].id', retryable: false });
  });
});

describe('Apify client', () => {
  let fake: ApifyFake;
  const profiles = [{ linkedinUrl: 'https://www.linkedin.com/in/ada', headline: 'Engines' }, { linkedinUrl: 'https://www.linkedin.com/in/grace', headline: 'Navy' }];
  beforeAll(async () => {
    fake = await startApifyFake({
      secondMs: 10, // "seconds" of 10 ms: waitForFinish and timeouts run 100× faster
      syncTimeoutMs: 300,
      actors: {
        'fast~profiles': () => ({ items: profiles }),
        'slow~profiles': () => ({ items: profiles, durationMs: 400 }),
        'broken~actor': () => ({ status: 'FAILED', durationMs: 20 }),
      },
    });
  });
  afterAll(() => fake?.close());
  const client = (token = fake.token) => createApifyClient({ baseUrl: fake.baseUrl, token });

  it('run-sync-get-dataset-items: 201 with a bare array and the pagination headers', async () => {
    const c = client();
    const page = await c.runSyncGetDatasetItems('fast~profiles', { urls: ['x'] }, { maxItems: 10 });
    expect(page).toEqual({ items: profiles, offset: 0, limit: 2, count: 2, total: 2 });
    expect(fake.stats.inputs.at(-1)).toEqual({ urls: ['x'] });
    expect(c.usage).toMatchObject({ runs: 1, items: 2 });
  });

  it('a sync run over the timeout → 408 run-timeout-exceeded (retryable); a failed run → 400 run-failed', async () => {
    const timeout = await client().runSyncGetDatasetItems('slow~profiles', {}).catch((e) => e);
    expect(timeout).toBeInstanceOf(ProviderUnavailableError);
    expect(timeout).toMatchObject({ status: 408 });
    expect(timeout.message).toContain('run-timeout-exceeded');
    const failed = await client().runSyncGetDatasetItems('broken~actor', {}).catch((e) => e);
    expect(failed).toMatchObject({ status: 400, retryable: true });
    expect(failed.message).toMatch(/run-failed.*status: FAILED/);
  });

  it('a long run: start (201), poll with waitForFinish until SUCCEEDED, read the dataset page by page', async () => {
    const c = client();
    const statuses: string[] = [];
    const { run, items } = await c.runToCompletion('slow~profiles', {}, { pollSecs: 10, pageSize: 1, onWait: (r) => statuses.push(r.status) });
    expect(run.status).toBe('SUCCEEDED');
    expect(statuses[0]).toBe('RUNNING');
    expect(items).toEqual(profiles);
    expect(c.usage.calls).toBeGreaterThanOrEqual(1 + 2 + 2); // start, ≥2 polls (40 "s" run, 10 "s" waits), 2 pages
  });

  it('resumes a run started by an earlier attempt instead of paying for a second one, unless that run failed', async () => {
    const c = client();
    const started = await c.startRun('slow~profiles', {});
    const before = fake.stats.runsStarted;
    const { run, items } = await c.runToCompletion('slow~profiles', {}, { pollSecs: 10, startedRunId: started.id });
    expect(run.id).toBe(started.id);
    expect(items).toEqual(profiles);
    expect(fake.stats.runsStarted).toBe(before);
    const failed = await c.runToCompletion('broken~actor', {}, { pollSecs: 5 }).catch(() => undefined);
    expect(failed).toBeUndefined();
    const failedRun = await c.startRun('broken~actor', {});
    await c.getRun(failedRun.id, 10);
    const retried = await c.runToCompletion('fast~profiles', {}, { startedRunId: failedRun.id });
    expect(retried.run.id).not.toBe(failedRun.id);
    expect(retried.items).toEqual(profiles);
  });

  it('a run that ends FAILED is a retryable failure', async () => {
    await expect(client().runToCompletion('broken~actor', {}, { pollSecs: 5 })).rejects.toThrow(/ended FAILED/);
  });

  it('401 token-not-valid/-not-provided, 402 usage limit and 404 actor-not-found are non-retryable', async () => {
    expect(await client('bad').startRun('fast~profiles', {}).catch((e) => e)).toMatchObject({ status: 401, code: 'token-not-valid', retryable: false });
    expect(await client().startRun('nobody~nothing', {}).catch((e) => e)).toMatchObject({ status: 404, code: 'actor-not-found', retryable: false });
    fake.script({ status: 402, body: { error: { type: 'not-enough-usage-to-run-paid-actor', message: 'You have exceeded your monthly usage limit' } } });
    const limit = await client().startRun('fast~profiles', {}).catch((e) => e);
    expect(limit).toBeInstanceOf(ProviderRejectedError);
    expect(limit).toMatchObject({ status: 402, retryable: false });
    expect(limit.message).toContain('monthly usage limit');
    expect(await client('').startRun('fast~profiles', {}).catch((e) => e)).toMatchObject({ status: 401, code: 'token-not-provided' });
  });

  it('429 rate-limit-exceeded past the per-resource limit; 5xx is retryable', async () => {
    const tight = await startApifyFake({ perResourcePerSecond: 2, actors: { 'a~b': () => ({ items: [] }) } });
    try {
      const c = createApifyClient({ baseUrl: tight.baseUrl, token: tight.token });
      const results = await Promise.all([1, 2, 3].map(() => c.runSyncGetDatasetItems('a~b', {}).catch((e) => e)));
      const limited = results.filter((r) => r instanceof ProviderRateLimitedError);
      expect(limited).toHaveLength(1);
      expect(limited[0].message).toContain('rate-limit-exceeded');
      tight.setDown(true);
      expect(await c.startRun('a~b', {}).catch((e) => e)).toMatchObject({ status: 503, retryable: true });
    } finally {
      await tight.close();
    }
  });

  it('an unexpected body shape is a non-retryable error naming the field; 404 record-not-found', async () => {
    fake.script({ status: 201, body: { data: { id: 'r1', status: 'RUNNING' } } });
    const err = await client().startRun('fast~profiles', {}).catch((e) => e);
    expect(err).toBeInstanceOf(UnexpectedResponseError);
    expect(err).toMatchObject({ field: 'data.defaultDatasetId', retryable: false });
    fake.script({ status: 200, body: { items: [] } });
    expect(await client().getDatasetItems('d1').catch((e) => e)).toMatchObject({ field: 'body', retryable: false });
    expect(await client().getDatasetItems('missing').catch((e) => e)).toMatchObject({ status: 404, code: 'record-not-found' });
  });
});
