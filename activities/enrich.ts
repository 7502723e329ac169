import { activityInfo, ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { resolveGoldenRecords } from '../db/master-data';
import { APOLLO_BULK_MATCH_LIMIT, type ApolloClient, type ApolloPerson } from '../clients/apollo';
import type { ApifyClient, DatasetItem } from '../clients/apify';
import { ProviderError, ProviderRateLimitedError } from '../clients/http-errors';
import type { EnrichInput, EnrichResult, Provider, ProviderCallResult, ProviderCounts, Waterfall } from '../contracts/enrich';

export interface EnrichSettings {
  /** LinkedIn profile actor ("user~name") and the input field its profile URLs go in. */
  apifyActor?: string;
  apifyInputKey: string;
  apifyProfilesPerRun: number;
}

export interface EnrichDeps {
  pool: Pool;
  apollo?: ApolloClient;
  apify?: ApifyClient;
  enrich?: EnrichSettings;
}

export interface ProviderCallRef {
  requestId: string;
  provider: Provider;
  round: number;
  chunkNo: number;
}

/** Fields each provider can fill, from its record. Values are trimmed; empties are dropped. */
type Fields = Record<string, string | boolean>;

export function apolloFields(p: ApolloPerson): Fields {
  return compact({
    first_name: p.first_name, last_name: p.last_name, title: p.title, linkedin_url: p.linkedin_url,
    company_name: p.organization?.name, company_domain: p.organization?.primary_domain,
    city: p.city, state: p.state, country: p.country,
  });
}

/** LinkedIn profile actors differ in naming; these are the common keys (camelCase, as Apify actors emit). */
export function apifyFields(item: DatasetItem): Fields {
  const s = (k: string) => (typeof item[k] === 'string' ? (item[k] as string) : undefined);
  return { ...compact({
    first_name: s('firstName'), last_name: s('lastName'), title: s('jobTitle') ?? s('occupation') ?? s('headline'),
    company_name: s('companyName'), city: s('city') ?? s('addressLocality'), country: s('country') ?? s('addressCountry'),
  }), profile: true };
}

function compact(o: Record<string, string | null | undefined>): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string' && v.trim()) out[k] = v.trim();
  return out;
}

/** linkedin.com/in/x, https://www.linkedin.com/in/X/ … → one key. */
export function linkedinKey(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  const m = /linkedin\.com\/in\/([^/?#]+)/i.exec(url);
  return m ? decodeURIComponent(m[1]).toLowerCase() : undefined;
}

/** A provider's typed error as a Temporal failure: the retry policy and the provider's delay decide. */
export function providerFailure(err: unknown): unknown {
  if (!(err instanceof ProviderError)) return err;
  if (err instanceof ProviderRateLimitedError) {
    return ApplicationFailure.create({
      type: 'ProviderRateLimited',
      message: err.message,
      nextRetryDelay: err.retryAfterMs,
      details: [{ provider: err.provider, retryAfterMs: err.retryAfterMs }],
    });
  }
  return ApplicationFailure.create({ type: err.retryable ? 'ProviderUnavailable' : 'ProviderRejected', message: err.message, nonRetryable: !err.retryable, details: [{ provider: err.provider, status: err.status }] });
}

type Db = Pick<Pool, 'query'> | PoolClient;

export function createEnrichActivities({ pool, apollo, apify, enrich }: EnrichDeps) {
  const settings: EnrichSettings = enrich ?? { apifyInputKey: 'profileUrls', apifyProfilesPerRun: 25 };

  /**
   * Reserves the most a call can cost from the request's budget, once per call (a retry finds the
   * reservation made). false: the budget cannot cover it, and the call is recorded as skipped.
   */
  async function reserve(ref: ProviderCallRef, maxCredits: number): Promise<'ok' | 'skipped' | 'closed'> {
    return withTransaction(pool, async (db) => {
      const { rows: [call] } = await db.query(
        `select status, credits_reserved from enrich.provider_calls
         where request_id = $1 and provider = $2 and round = $3 and chunk_no = $4 for update`,
        [ref.requestId, ref.provider, ref.round, ref.chunkNo],
      );
      if (!call) throw ApplicationFailure.nonRetryable(`no planned call ${JSON.stringify(ref)}`, 'EnrichPlanMissing');
      if (call.status !== 'planned') return 'closed';
      if (call.credits_reserved !== null) return 'ok';
      const { rowCount } = await db.query(
        `update enrich.requests set credits_reserved = credits_reserved + $2
         where request_id = $1 and (credit_budget is null or credits_reserved + $2 <= credit_budget)`,
        [ref.requestId, maxCredits],
      );
      if (!rowCount) {
        await db.query(
          `update enrich.provider_calls set status = 'skipped_budget', credits_reserved = 0, done_at = now()
           where request_id = $1 and provider = $2 and round = $3 and chunk_no = $4`,
          [ref.requestId, ref.provider, ref.round, ref.chunkNo],
        );
        return 'skipped';
      }
      await db.query(
        `update enrich.provider_calls set credits_reserved = $5 where request_id = $1 and provider = $2 and round = $3 and chunk_no = $4`,
        [ref.requestId, ref.provider, ref.round, ref.chunkNo, maxCredits],
      );
      return 'ok';
    });
  }

  async function recorded(db: Db, ref: ProviderCallRef): Promise<ProviderCallResult> {
    const { rows: [c] } = await db.query(
      `select status, contact_ids, matched, credits_used from enrich.provider_calls
       where request_id = $1 and provider = $2 and round = $3 and chunk_no = $4`,
      [ref.requestId, ref.provider, ref.round, ref.chunkNo],
    );
    return { status: c.status, contacts: c.contact_ids.length, matched: c.matched, credits: c.credits_used };
  }

  /**
   * Stores one call's answers (intelligence with its TTL, the fields for the waterfall) and closes
   * the call, releasing the credits it did not use, all in one transaction; a duplicate does nothing.
   */
  async function record(ref: ProviderCallRef, answers: { contactId: number; payload: unknown | null; fields: Fields }[], credits: number): Promise<ProviderCallResult> {
    return withTransaction(pool, async (db) => {
      const { rows: [call] } = await db.query(
        `select status, credits_reserved from enrich.provider_calls
         where request_id = $1 and provider = $2 and round = $3 and chunk_no = $4 for update`,
        [ref.requestId, ref.provider, ref.round, ref.chunkNo],
      );
      if (call.status !== 'planned') return recorded(db, ref);
      const matched = answers.filter((a) => a.payload !== null);
      await db.query(
        `insert into people.intelligence (contact_id, provider, matched, payload, request_id, fetched_at, expires_at)
         select a.contact_id, $2, a.payload is not null, a.payload, $1, now(), now() + make_interval(days => r.ttl_days)
         from jsonb_to_recordset($3::jsonb) as a(contact_id bigint, payload jsonb)
         join enrich.requests r on r.request_id = $1
         on conflict (contact_id, provider) do update set matched = excluded.matched, payload = excluded.payload,
           request_id = excluded.request_id, fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
        [ref.requestId, ref.provider, JSON.stringify(answers.map((a) => ({ contact_id: a.contactId, payload: a.payload })))],
      );
      await db.query(
        `insert into enrich.results (request_id, contact_id, provider, fields)
         select $1, a.contact_id, $2, a.fields from jsonb_to_recordset($3::jsonb) as a(contact_id bigint, fields jsonb)
         on conflict (request_id, contact_id, provider) do update set fields = enrich.results.fields || excluded.fields`,
        [ref.requestId, ref.provider, JSON.stringify(matched.map((a) => ({ contact_id: a.contactId, fields: a.fields })))],
      );
      await db.query(
        `update enrich.provider_calls set status = 'done', matched = $5, credits_used = $6, done_at = now()
         where request_id = $1 and provider = $2 and round = $3 and chunk_no = $4`,
        [ref.requestId, ref.provider, ref.round, ref.chunkNo, matched.length, credits],
      );
      await db.query(
        `update enrich.requests set credits_reserved = credits_reserved - $2 + $3, credits_used = credits_used + $3 where request_id = $1`,
        [ref.requestId, call.credits_reserved ?? 0, credits],
      );
      return { status: 'done', contacts: answers.length, matched: matched.length, credits };
    });
  }

  /** The contacts of a call with what providers can match them by (LinkedIn URLs found earlier in the request count). */
  async function callContacts(ref: ProviderCallRef) {
    const { rows } = await pool.query<{ contact_id: number; email: string; first_name: string | null; last_name: string | null; company_domain: string | null; linkedin_url: string | null }>(
      `select c.contact_id, c.email, c.first_name, c.last_name, c.company_domain,
              coalesce(c.linkedin_url, (select r.fields ->> 'linkedin_url' from enrich.results r
                 where r.request_id = $1 and r.contact_id = c.contact_id and r.fields ? 'linkedin_url' limit 1)) as linkedin_url
       from enrich.provider_calls pc cross join unnest(pc.contact_ids) with ordinality as u(contact_id, ord)
       join vault.contacts c on c.contact_id = u.contact_id
       where pc.request_id = $1 and pc.provider = $2 and pc.round = $3 and pc.chunk_no = $4
       order by u.ord`,
      [ref.requestId, ref.provider, ref.round, ref.chunkNo],
    );
    return rows;
  }

  return {
    /**
     * Records the request and who it covers; people whose intelligence has not expired are marked
     * skipped unless forced. Idempotent: a retry returns what the first attempt stored.
     */
    async createEnrichRequest(input: Omit<EnrichInput, 'taskQueues' | 'concurrency' | 'retry'> & { workflowId: string }): Promise<{ requested: number; skippedFresh: number }> {
      await withTransaction(pool, async (db) => {
        const { rowCount } = await db.query(
          `insert into enrich.requests (request_id, providers, waterfall, force, credit_budget, ttl_days, actor, workflow_id, planned_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, now()) on conflict (request_id) do nothing`,
          [input.requestId, input.providers, JSON.stringify(input.waterfall), input.force, input.creditBudget ?? null, input.ttlDays, input.actor ?? null, input.workflowId],
        );
        if (!rowCount) return;
        const t = input.target;
        const where: string[] = [];
        const params: unknown[] = [input.requestId, input.providers, input.force];
        const add = (sql: string, v: unknown) => {
          params.push(v);
          where.push(sql.replace('?', `$${params.length}`));
        };
        if (t.contactIds) add('c.contact_id = any(?::bigint[])', t.contactIds);
        // golden-record targets reach their contacts through the people slots
        if (t.personIds) {
          add(`exists (select 1 from people.slot ps where ps.contact_id = c.contact_id and ps.person_id in (
                 select coalesce(m.merged_into, m.person_id) from people.master m where m.person_id = any(?::bigint[])))`, t.personIds);
        }
        if (t.companyIds) {
          add(`exists (select 1 from people.slot ps join people.master pm on pm.person_id = ps.person_id
                 where ps.contact_id = c.contact_id and pm.company_id in (
                   select coalesce(m.merged_into, m.company_id) from company.master m where m.company_id = any(?::bigint[])))`, t.companyIds);
        }
        if (t.filter?.source) add('c.source = ?', t.filter.source);
        if (t.filter?.companyDomain) add('c.company_domain = lower(?)', t.filter.companyDomain);
        if (t.filter?.status) add('c.status = ?', t.filter.status);
        if (t.expiringWithinDays !== undefined) {
          add(`exists (select 1 from people.intelligence i where i.contact_id = c.contact_id and i.provider = any($2)
                 and i.expires_at < now() + make_interval(days => ?::int))`, t.expiringWithinDays);
        }
        const limit = t.filter?.limit ? `limit ${Number(t.filter.limit)}` : '';
        await db.query(
          `insert into enrich.request_contacts (request_id, contact_id, skipped_fresh)
           select $1, c.contact_id,
                  not $3 and exists (select 1 from people.intelligence i
                    where i.contact_id = c.contact_id and i.provider = any($2) and i.expires_at > now())
           from vault.contacts c ${where.length ? `where ${where.join(' and ')}` : ''}
           order by c.contact_id ${limit}`,
          params,
        );
      });
      const { rows: [n] } = await pool.query(
        `select count(*)::int as requested, count(*) filter (where skipped_fresh)::int as skipped from enrich.request_contacts where request_id = $1`,
        [input.requestId],
      );
      return { requested: n.requested, skippedFresh: n.skipped };
    },

    /**
     * Plans one round of the waterfall: per contact and field still unfilled in this request, the
     * first provider in the field's order that has not been asked about this contact and can be
     * (Apify needs a LinkedIn URL, possibly one Apollo found in an earlier round). Providers asked in
     * the same round run in parallel. Stored as provider_calls; a retry returns the stored plan.
     */
    async planEnrichmentRound({ requestId, round }: { requestId: string; round: number }): Promise<Record<Provider, number>> {
      return withTransaction(pool, async (db) => {
        await db.query('select pg_advisory_xact_lock(hashtext($1), $2)', [requestId, round]);
        const count = async () => {
          const { rows } = await db.query(
            `select provider, count(*)::int as n from enrich.provider_calls where request_id = $1 and round = $2 group by provider`,
            [requestId, round],
          );
          const out = { apollo: 0, apify: 0 } as Record<Provider, number>;
          for (const r of rows) out[r.provider as Provider] = r.n;
          return out;
        };
        const { rows: [planned] } = await db.query(
          `select exists (select 1 from enrich.provider_calls where request_id = $1 and round >= $2) as done`,
          [requestId, round],
        );
        if (planned.done) return count();
        const { rows: [req] } = await db.query(
          `select waterfall, credit_budget, credits_reserved,
                  exists (select 1 from enrich.provider_calls where request_id = $1 and status = 'skipped_budget') as budget_hit
           from enrich.requests where request_id = $1`,
          [requestId],
        );
        if (req.budget_hit || (req.credit_budget !== null && req.credits_reserved >= req.credit_budget)) return count();
        const waterfall: Waterfall = req.waterfall;
        const { rows: people } = await db.query(
          `select rc.contact_id, c.linkedin_url,
                  coalesce((select jsonb_object_agg(r.provider, r.fields) from enrich.results r
                            where r.request_id = $1 and r.contact_id = rc.contact_id), '{}') as results,
                  coalesce((select array_agg(distinct pc.provider) from enrich.provider_calls pc
                            where pc.request_id = $1 and rc.contact_id = any (pc.contact_ids)), '{}') as asked
           from enrich.request_contacts rc join vault.contacts c using (contact_id)
           where rc.request_id = $1 and not rc.skipped_fresh
           order by rc.contact_id`,
          [requestId],
        );
        const calls: Record<Provider, number[]> = { apollo: [], apify: [] };
        for (const p of people) {
          const results = Object.values(p.results as Record<string, Fields>);
          const filled = new Set(results.flatMap((f) => Object.keys(f)));
          const linkedin = p.linkedin_url ?? results.map((f) => f.linkedin_url).find(Boolean);
          const chosen = new Set<Provider>();
          for (const { field, providers } of waterfall) {
            if (filled.has(field)) continue;
            const next = providers.find((pr) => !p.asked.includes(pr) && (pr !== 'apify' || linkedin));
            if (next) chosen.add(next);
          }
          for (const pr of chosen) calls[pr].push(p.contact_id);
        }
        const size: Record<Provider, number> = { apollo: APOLLO_BULK_MATCH_LIMIT, apify: settings.apifyProfilesPerRun };
        for (const provider of ['apollo', 'apify'] as Provider[]) {
          const ids = calls[provider];
          const chunks = Array.from({ length: Math.ceil(ids.length / size[provider]) }, (_, i) => ids.slice(i * size[provider], (i + 1) * size[provider]));
          if (!chunks.length) continue;
          await db.query(
            `insert into enrich.provider_calls (request_id, provider, round, chunk_no, contact_ids)
             select $1, $2, $3, t.ord - 1, array(select jsonb_array_elements_text(t.ids)::bigint)
             from jsonb_array_elements($4::jsonb) with ordinality as t(ids, ord)`,
            [requestId, provider, round, JSON.stringify(chunks)],
          );
        }
        return count();
      });
    },

    /** One Apollo people/bulk_match (≤ 10 people) for a planned call; runs on the Apollo task queue. */
    async callApollo(ref: ProviderCallRef): Promise<ProviderCallResult> {
      if (!apollo) throw ApplicationFailure.nonRetryable('Apollo is not configured (APOLLO_API_KEY)', 'ProviderRejected');
      const contacts = await callContacts(ref);
      const reserved = await reserve(ref, contacts.length);
      if (reserved !== 'ok') return recorded(pool, ref);
      let answer;
      try {
        answer = await apollo.bulkMatchPeople(contacts.map((c) => compactDetails({
          email: c.email, first_name: c.first_name, last_name: c.last_name, domain: c.company_domain, linkedin_url: c.linkedin_url,
        })));
      } catch (err) {
        throw providerFailure(err);
      }
      return record(ref, contacts.map((c, i) => {
        const person = answer.matches[i];
        return { contactId: c.contact_id, payload: person, fields: person ? apolloFields(person) : {} };
      }), answer.credits);
    },

    /** One Apify run of the LinkedIn profile actor over a planned call's profile URLs; Apify task queue. */
    async callApify(ref: ProviderCallRef): Promise<ProviderCallResult> {
      if (!apify || !settings.apifyActor) throw ApplicationFailure.nonRetryable('Apify is not configured (APIFY_TOKEN, APIFY_PROFILE_ACTOR)', 'ProviderRejected');
      const contacts = (await callContacts(ref)).filter((c) => linkedinKey(c.linkedin_url));
      if (!contacts.length) return record(ref, [], 0);
      const reserved = await reserve(ref, contacts.length);
      if (reserved !== 'ok') return recorded(pool, ref);
      let items: DatasetItem[];
      try {
        const input = { [settings.apifyInputKey]: contacts.map((c) => c.linkedin_url) };
        // A retry after a lost worker picks up the run it had started (its id is in the heartbeat) instead of paying twice.
        const startedRunId = (activityInfo().heartbeatDetails as { runId?: string } | undefined)?.runId;
        ({ items } = await apify.runToCompletion(settings.apifyActor, input, { pollSecs: 30, startedRunId, onWait: (run) => heartbeat({ runId: run.id }) }));
      } catch (err) {
        throw providerFailure(err);
      }
      const byKey = new Map<string, DatasetItem>();
      for (const item of items) {
        const key = linkedinKey(String(item.linkedinUrl ?? item.profileUrl ?? item.url ?? ''));
        if (key) byKey.set(key, item);
      }
      const answers = contacts.map((c) => {
        const item = byKey.get(linkedinKey(c.linkedin_url)!) ?? null;
        return { contactId: c.contact_id, payload: item, fields: item ? apifyFields(item) : {} };
      });
      // Apify bills compute, not records; a profile returned counts as one credit of the budget.
      return record(ref, answers, answers.filter((a) => a.payload).length);
    },

    /** A provider branch gave up after its retries: its open calls fail (the waterfall moves on) and release credits. */
    async markBranchFailed({ requestId, provider, round, reason }: { requestId: string; provider: Provider; round: number; reason: string }): Promise<number> {
      return withTransaction(pool, async (db) => {
        const { rows } = await db.query(
          `update enrich.provider_calls set status = 'failed', failure = $4, done_at = now()
           where request_id = $1 and provider = $2 and round = $3 and status = 'planned'
           returning coalesce(credits_reserved, 0) as reserved`,
          [requestId, provider, round, reason.slice(0, 2000)],
        );
        const released = rows.reduce((s, r) => s + r.reserved, 0);
        if (released) await db.query('update enrich.requests set credits_reserved = credits_reserved - $2 where request_id = $1', [requestId, released]);
        return rows.length;
      });
    },

    /**
     * Writes enriched fields back to the contacts (enrich.f_write_back_enrichment): the single path
     * from provider data to contact data, and the one to route through master-data resolution.
     */
    async writeBackEnrichedFields({ requestId, actor, workflowId }: { requestId: string; actor?: string; workflowId?: string }): Promise<number> {
      // One transaction: the contacts' empty fields, and the provider answers as source rows of
      // the golden records (slots → masters with history), so a retry redoes all or nothing.
      return withTransaction(pool, async (db) => {
        const { rows } = await db.query('select enrich.f_write_back_enrichment($1, $2, $3) as n', [requestId, actor ?? null, workflowId ?? null]);
        const { rows: [staged] } = await db.query('select enrich.f_stage_results_as_loads($1) as load_ids', [requestId]);
        await resolveGoldenRecords(db, staged.load_ids, workflowId);
        return rows[0].n;
      });
    },

    /** The request's counts, straight from its ledgers. */
    async summarizeEnrichment(requestId: string): Promise<EnrichResult> {
      const { rows: [r] } = await pool.query(
        `select r.credit_budget, r.credits_used, coalesce(r.written_back, 0) as written_back,
           (select count(*)::int from enrich.request_contacts rc where rc.request_id = r.request_id) as requested,
           (select count(*)::int from enrich.request_contacts rc where rc.request_id = r.request_id and rc.skipped_fresh) as skipped_fresh,
           (select count(distinct contact_id)::int from enrich.results x where x.request_id = r.request_id) as enriched,
           (select count(*)::int from enrich.request_contacts rc where rc.request_id = r.request_id and not rc.skipped_fresh
              and not exists (select 1 from enrich.results x where x.request_id = r.request_id and x.contact_id = rc.contact_id)
              and exists (select 1 from enrich.provider_calls pc where pc.request_id = r.request_id and pc.status = 'failed'
                          and rc.contact_id = any (pc.contact_ids))) as failed,
           (select count(*)::int from enrich.provider_calls pc where pc.request_id = r.request_id and pc.status = 'skipped_budget') as skipped_calls
         from enrich.requests r where r.request_id = $1`,
        [requestId],
      );
      const { rows: per } = await pool.query(
        `select provider, count(*) filter (where status = 'done')::int as calls, count(*) filter (where status = 'failed')::int as failed_calls,
                coalesce(sum(cardinality(contact_ids)) filter (where status = 'done'), 0)::int as contacts,
                coalesce(sum(matched), 0)::int as matched, coalesce(sum(credits_used), 0)::int as credits, max(failure) as failure
         from enrich.provider_calls where request_id = $1 group by provider order by provider`,
        [requestId],
      );
      const providers: EnrichResult['providers'] = {};
      for (const p of per) {
        const counts: ProviderCounts = { calls: p.calls, failed_calls: p.failed_calls, contacts: p.contacts, matched: p.matched, credits: p.credits };
        if (p.failure) counts.failure = p.failure;
        providers[p.provider as Provider] = counts;
      }
      return {
        request_id: requestId,
        requested: r.requested,
        enriched_count: r.enriched,
        promoted_count: r.written_back,
        skipped_fresh: r.skipped_fresh,
        failed: r.failed,
        providers,
        credits: { budget: r.credit_budget, used: r.credits_used, budget_exhausted: r.skipped_calls > 0, skipped_calls: r.skipped_calls },
      };
    },
  };
}

function compactDetails(d: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v)) as Record<string, string>;
}
