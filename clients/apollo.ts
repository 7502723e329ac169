// Apollo.io REST client (https://api.apollo.io/api/v1, header x-api-key). No Temporal imports.
import { z } from 'zod';
import {
  errorText,
  parseBody,
  ProviderRateLimitedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  retryAfterMs,
  send,
  type CreditCounter,
} from './http-errors';

const str = z.string().nullish();

const Organization = z.looseObject({
  id: str,
  name: str,
  website_url: str,
  primary_domain: str,
  linkedin_url: str,
  industry: str,
  estimated_num_employees: z.number().nullish(),
  city: str,
  state: str,
  country: str,
});

export const ApolloPerson = z.looseObject({
  id: z.string(),
  first_name: str,
  last_name: str,
  name: str,
  title: str,
  headline: str,
  email: str,
  email_status: str,
  linkedin_url: str,
  organization_id: str,
  organization: Organization.nullish(),
  city: str,
  state: str,
  country: str,
  seniority: str,
  departments: z.array(z.string()).nullish(),
  employment_history: z.array(z.looseObject({})).nullish(),
});
export type ApolloPerson = z.infer<typeof ApolloPerson>;
export type ApolloOrganization = z.infer<typeof Organization>;

const MatchResponse = z.looseObject({ person: ApolloPerson.nullable(), request_id: z.unknown().optional() });
const BulkMatchResponse = z.looseObject({
  status: z.string(),
  matches: z.array(ApolloPerson.nullable()),
  credits_consumed: z.number().nullish(),
  request_id: z.unknown().optional(),
});
const OrgEnrichResponse = z.looseObject({ organization: Organization.nullable() });
const BulkOrgResponse = z.looseObject({ organizations: z.array(Organization.nullable()) });
const SearchResponse = z.looseObject({
  total_entries: z.number().nullish(),
  people: z.array(z.looseObject({ id: z.string(), first_name: str, title: str })),
});

/** The identifiers Apollo matches a person by (any subset). */
export interface PersonDetails {
  email?: string;
  first_name?: string;
  last_name?: string;
  name?: string;
  organization_name?: string;
  domain?: string;
  linkedin_url?: string;
  id?: string;
}

export interface RateLimitState {
  minuteLeft?: number;
  hourlyLeft?: number;
  dailyLeft?: number;
}

export interface ApolloClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  /** Length of Apollo's shortest fixed window; the fallback wait when a 429 carries no Retry-After. */
  minuteWindowMs?: number;
}

export const APOLLO_BULK_MATCH_LIMIT = 10;

export function createApolloClient(opts: ApolloClientOptions) {
  const base = opts.baseUrl.replace(/\/?$/, '/');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const minuteWindowMs = opts.minuteWindowMs ?? 60_000;
  const usage: CreditCounter = { credits: 0, calls: 0 };
  let rateLimit: RateLimitState = {};

  async function call(method: 'GET' | 'POST', path: string, body?: unknown, query?: Record<string, string>): Promise<Response> {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    usage.calls += 1;
    const res = await send({ provider: 'apollo', url, method, body, timeoutMs, headers: { 'x-api-key': opts.apiKey, 'cache-control': 'no-cache' } });
    rateLimit = readRateLimit(res.headers);
    if (res.ok) return res;
    const { text, json } = await errorText(res);
    const message = (json && (json.message ?? json.error_message ?? json.error)) || text.slice(0, 300) || res.statusText;
    if (res.status === 429) {
      throw new ProviderRateLimitedError('apollo', `429 on ${path}: ${message}`, rateLimitDelay(res.headers, rateLimit, minuteWindowMs));
    }
    if (res.status >= 500 || res.status === 408) throw new ProviderUnavailableError('apollo', `${res.status} on ${path}: ${message}`, res.status);
    throw new ProviderRejectedError('apollo', `${res.status} on ${path}: ${message}`, res.status, json?.error_code);
  }

  return {
    usage,
    get rateLimit() {
      return rateLimit;
    },

    /** POST people/match: one person or null (a miss is not an error). 1 credit when found. */
    async matchPerson(details: PersonDetails): Promise<ApolloPerson | null> {
      const res = await call('POST', 'people/match', details);
      const body = await parseBody('apollo', res, MatchResponse);
      if (body.person) usage.credits += 1;
      return body.person;
    },

    /** POST people/bulk_match: up to 10; matches align with details by position, misses are null. */
    async bulkMatchPeople(details: PersonDetails[]): Promise<{ matches: (ApolloPerson | null)[]; credits: number }> {
      if (details.length === 0) return { matches: [], credits: 0 };
      if (details.length > APOLLO_BULK_MATCH_LIMIT) throw new RangeError(`bulk_match takes at most ${APOLLO_BULK_MATCH_LIMIT} details, got ${details.length}`);
      const res = await call('POST', 'people/bulk_match', { details });
      const body = await parseBody('apollo', res, BulkMatchResponse);
      if (body.matches.length !== details.length) {
        throw new ProviderUnavailableError('apollo', `bulk_match returned ${body.matches.length} matches for ${details.length} details`);
      }
      const credits = body.credits_consumed ?? body.matches.filter(Boolean).length;
      usage.credits += credits;
      return { matches: body.matches, credits };
    },

    /** GET organizations/enrich?domain= */
    async enrichOrganization(domain: string): Promise<ApolloOrganization | null> {
      const res = await call('GET', 'organizations/enrich', undefined, { domain });
      const body = await parseBody('apollo', res, OrgEnrichResponse);
      if (body.organization) usage.credits += 1;
      return body.organization;
    },

    /** POST organizations/bulk_enrich {domains} */
    async bulkEnrichOrganizations(domains: string[]): Promise<(ApolloOrganization | null)[]> {
      const res = await call('POST', 'organizations/bulk_enrich', { domains });
      const body = await parseBody('apollo', res, BulkOrgResponse);
      usage.credits += body.organizations.filter(Boolean).length;
      return body.organizations;
    },

    /** POST mixed_people/api_search: prospects without emails; costs no credits. */
    async searchPeople(params: Record<string, unknown>) {
      const res = await call('POST', 'mixed_people/api_search', params);
      return parseBody('apollo', res, SearchResponse);
    },
  };
}

export type ApolloClient = ReturnType<typeof createApolloClient>;

function headerInt(headers: Headers, name: string): number | undefined {
  const v = headers.get(name);
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function readRateLimit(headers: Headers): RateLimitState {
  return {
    minuteLeft: headerInt(headers, 'x-minute-requests-left'),
    hourlyLeft: headerInt(headers, 'x-hourly-requests-left'),
    dailyLeft: headerInt(headers, 'x-24-hour-requests-left'),
  };
}

/**
 * How long a 429 asks us to wait. Apollo's own docs promise only the x-*-requests-left headers
 * (fixed windows, no reset time), so Retry-After wins when present; otherwise the longest
 * exhausted window decides.
 */
export function rateLimitDelay(headers: Headers, state: RateLimitState, minuteWindowMs: number): number {
  const explicit = retryAfterMs(headers.get('retry-after'));
  if (explicit !== undefined) return explicit;
  if (state.dailyLeft === 0) return 24 * 3600_000;
  if (state.hourlyLeft === 0) return 3600_000;
  return minuteWindowMs;
}
