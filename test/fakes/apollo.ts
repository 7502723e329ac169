// A local Apollo API (api/v1) following Apollo's documented contract: x-api-key auth (401 text/plain
// on a bad key), people/match, people/bulk_match (≤ 10, aligned, null misses, credits_consumed),
// organizations/enrich + bulk_enrich, mixed_people/api_search (no emails), fixed rate-limit windows
// per endpoint with the x-rate-limit-* / x-*-usage / x-*-requests-left headers and a JSON 429.
import { FixedWindow, sleep, startFakeServer, type FakeRequest, type FakeResponse } from './http';

export interface FakePerson {
  id: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  title?: string;
  headline?: string;
  linkedin_url?: string;
  city?: string;
  state?: string;
  country?: string;
  organization?: { name?: string; primary_domain?: string };
  [k: string]: unknown;
}

export interface ApolloFakeOptions {
  apiKey?: string;
  people?: FakePerson[];
  organizations?: { id: string; name: string; primary_domain: string; [k: string]: unknown }[];
  /** Requests per window per endpoint (Apollo's paid enrichment plans: about 1,000 a minute). */
  perMinute?: number;
  /** The "minute" window's length; tests shorten it. */
  windowMs?: number;
  perHour?: number;
  perDay?: number;
  /** Send Retry-After on 429. Apollo's own docs do not promise it, so the client must cope either way. */
  retryAfter?: boolean;
  latencyMs?: number;
  /** While set, every request waits for it before answering (a test holds a call open). */
  hold?: Promise<void>;
  /** Every request answers 503 (an outage). */
  down?: boolean;
}

type Endpoint = 'people/match' | 'people/bulk_match' | 'organizations/enrich' | 'organizations/bulk_enrich' | 'mixed_people/api_search';

export async function startApolloFake(options: ApolloFakeOptions = {}) {
  const o = { apiKey: 'apollo-test-key', perMinute: 1000, windowMs: 60_000, perHour: 1_000_000, perDay: 10_000_000, retryAfter: true, latencyMs: 0, down: false, ...options };
  const people = new Map<string, FakePerson>();
  const add = (p: FakePerson) => {
    for (const k of [p.id, p.email?.toLowerCase(), p.linkedin_url]) if (k) people.set(k, p);
  };
  (o.people ?? []).forEach(add);
  const orgs = new Map((o.organizations ?? []).map((org) => [org.primary_domain, org]));
  const windows = new Map<string, { minute: FixedWindow; hour: FixedWindow; day: FixedWindow }>();
  /** Statuses to answer with next, per endpoint (then normal service resumes). */
  const scripted = new Map<string, FakeResponse[]>();
  const stats = { requests: 0, served: 0, rateLimited: 0, byEndpoint: {} as Record<string, number>, creditsCharged: 0, bulkSizes: [] as number[] };

  function windowsFor(endpoint: string) {
    let w = windows.get(endpoint);
    if (!w) {
      w = { minute: new FixedWindow(o.perMinute, o.windowMs), hour: new FixedWindow(o.perHour, o.windowMs * 60), day: new FixedWindow(o.perDay, o.windowMs * 1440) };
      windows.set(endpoint, w);
    }
    return w;
  }

  function rateHeaders(w: ReturnType<typeof windowsFor>) {
    return {
      'x-rate-limit-minute': o.perMinute, 'x-rate-limit-hourly': o.perHour, 'x-rate-limit-24-hour': o.perDay,
      'x-minute-usage': w.minute.used, 'x-hourly-usage': w.hour.used, 'x-24-hour-usage': w.day.used,
      'x-minute-requests-left': w.minute.left(), 'x-hourly-requests-left': w.hour.left(), 'x-24-hour-requests-left': w.day.left(),
    };
  }

  const find = (d: Record<string, unknown>): FakePerson | null => {
    for (const k of ['id', 'email', 'linkedin_url'] as const) {
      const v = typeof d[k] === 'string' ? (k === 'email' ? d[k].toLowerCase() : d[k]) : undefined;
      if (v && people.has(v)) return people.get(v)!;
    }
    return null;
  };
  const asPerson = (p: FakePerson) => ({
    name: [p.first_name, p.last_name].filter(Boolean).join(' ') || null,
    email_status: p.email ? 'verified' : null,
    organization_id: null,
    employment_history: [],
    departments: [],
    ...p,
  });

  async function handle(req: FakeRequest): Promise<FakeResponse> {
    stats.requests += 1;
    if (o.latencyMs) await sleep(o.latencyMs);
    if (o.hold) await o.hold;
    const endpoint = req.url.pathname.replace(/^\/api\/v1\//, '') as Endpoint;
    stats.byEndpoint[endpoint] = (stats.byEndpoint[endpoint] ?? 0) + 1;
    if (req.headers['x-api-key'] !== o.apiKey) {
      return { status: 401, body: 'Invalid API key. See https://docs.apollo.io/docs/create-api-key', contentType: 'text/plain; charset=utf-8' };
    }
    const queued = scripted.get(endpoint)?.shift();
    if (queued) return queued;
    if (o.down) return { status: 503, body: { error: 'Service Unavailable' } };
    const routes: Record<string, string> = {
      'people/match': 'POST', 'people/bulk_match': 'POST', 'organizations/enrich': 'GET', 'organizations/bulk_enrich': 'POST', 'mixed_people/api_search': 'POST',
    };
    if (routes[endpoint] !== req.method) return { status: 404, body: { error: 'Not found' } };

    const w = windowsFor(endpoint);
    // Apollo counts every window; a request is refused when any of them is exhausted.
    const now = Date.now();
    if (w.minute.left(now) <= 0 || w.hour.left(now) <= 0 || w.day.left(now) <= 0) {
      stats.rateLimited += 1;
      const per = w.day.left(now) <= 0 ? ['day', w.day] as const : w.hour.left(now) <= 0 ? ['hour', w.hour] as const : ['minute', w.minute] as const;
      const limit = per[0] === 'day' ? o.perDay : per[0] === 'hour' ? o.perHour : o.perMinute;
      return {
        status: 429,
        headers: { ...rateHeaders(w), ...(o.retryAfter ? { 'retry-after': Math.max(1, Math.ceil(per[1].msUntilReset(now) / 1000)) } : {}) },
        body: { message: `The maximum number of api calls allowed for api/v1/${endpoint} is ${limit} times per ${per[0]}. Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade.` },
      };
    }
    w.minute.take(now); w.hour.take(now); w.day.take(now);
    stats.served += 1;
    const headers = rateHeaders(w);
    const body = (req.body ?? {}) as Record<string, any>;

    switch (endpoint) {
      case 'people/match': {
        const p = find(body);
        if (p) stats.creditsCharged += 1;
        return { status: 200, headers, body: { person: p ? asPerson(p) : null, request_id: `req-${stats.requests}` } };
      }
      case 'people/bulk_match': {
        const details = body.details;
        if (!Array.isArray(details) || details.length === 0) {
          return { status: 400, headers, body: { status: 'failed', error_code: 'INVALID_REQUEST', error_message: 'details must be a non-empty array' } };
        }
        if (details.length > 10) {
          return { status: 400, headers, body: { status: 'failed', error_code: 'RECORD_LIMIT_EXCEEDED', error_message: 'You can only enrich up to 10 records at a time' } };
        }
        stats.bulkSizes.push(details.length);
        const matches = details.map((d: Record<string, unknown>) => find(d));
        const found = matches.filter(Boolean).length;
        stats.creditsCharged += found;
        return {
          status: 200,
          headers,
          body: {
            status: 'success', error_code: null, error_message: null,
            total_requested_enrichments: details.length, unique_enriched_records: found, missing_records: details.length - found,
            credits_consumed: found, matches: matches.map((p: FakePerson | null) => (p ? asPerson(p) : null)), request_id: `req-${stats.requests}`,
          },
        };
      }
      case 'organizations/enrich': {
        const domain = req.url.searchParams.get('domain');
        if (!domain) return { status: 422, headers, body: { error: "Required parameter 'domain' missing" } };
        return { status: 200, headers, body: { organization: orgs.get(domain) ?? null } };
      }
      case 'organizations/bulk_enrich': {
        const domains: string[] = Array.isArray(body.domains) ? body.domains : [];
        if (!domains.length) return { status: 422, headers, body: { error: "Required parameter 'domains' missing" } };
        return { status: 200, headers, body: { status: 'success', organizations: domains.map((d) => orgs.get(d) ?? null) } };
      }
      case 'mixed_people/api_search': {
        const perPage = Number(body.per_page ?? 10);
        if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) return { status: 422, headers, body: { error: 'per_page must be between 1 and 100' } };
        const titles: string[] = body.person_titles ?? [];
        const all = [...new Set(people.values())].filter((p) => !titles.length || titles.some((t) => p.title?.toLowerCase().includes(t.toLowerCase())));
        return {
          status: 200,
          headers,
          body: {
            total_entries: all.length,
            people: all.slice(0, perPage).map((p) => ({
              id: p.id, first_name: p.first_name, last_name_obfuscated: p.last_name ? `${p.last_name[0]}***` : null, title: p.title,
              has_email: Boolean(p.email), organization: { name: p.organization?.name ?? null },
            })),
          },
        };
      }
      default:
        return { status: 404, body: { error: 'Not found' } };
    }
  }

  const server = await startFakeServer(handle);
  return {
    /** The client's base URL (…/api/v1). */
    baseUrl: `${server.url}/api/v1`,
    apiKey: o.apiKey,
    stats,
    options: o,
    addPerson: add,
    /** Answer the next request(s) to an endpoint with these responses. */
    script(endpoint: Endpoint, ...responses: FakeResponse[]) {
      scripted.set(endpoint, [...(scripted.get(endpoint) ?? []), ...responses]);
    },
    setDown(down: boolean) {
      o.down = down;
    },
    /** The most requests served in one minute-window of an endpoint (never above perMinute). */
    maxServedPerWindow(endpoint: Endpoint) {
      return windows.get(endpoint)?.minute.maxServed ?? 0;
    },
    close: server.close,
  };
}

export type ApolloFake = Awaited<ReturnType<typeof startApolloFake>>;
