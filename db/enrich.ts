// The enrichment ledgers (enrich.requests, request_contacts, provider_calls, results) and the
// intelligence they fill. They are written only through the SECURITY DEFINER functions of
// sql/functions/enrich.sql, one per step; every multi-statement step commits as one transaction,
// so a retried activity finds either all of a step or none of it.
import type { PoolClient } from 'pg';
import { withTransaction, type Pool } from './pool';
import { resolveGoldenRecords } from './master-data';
import { addDailyCount } from './metrics';
import { contactFilterConditions } from './contacts';
import {
  PROVIDERS,
  type EnrichInput,
  type EnrichResult,
  type Provider,
  type ProviderCallResult,
  type ProviderCounts,
  type Waterfall,
} from '../contracts/enrich';
import type { AnswerFields } from '../common/enrich-answers';
import type { RoundBudget, RoundCandidate, RoundPlan } from '../common/enrich-plan';

/** One planned provider call: the key of enrich.provider_calls. */
export interface ProviderCallRef {
  requestId: string;
  provider: Provider;
  round: number;
  chunkNo: number;
}

export type NewEnrichRequest = Omit<EnrichInput, 'taskQueues' | 'concurrency' | 'retry'> & { workflowId: string };

/** A contact of a call with what providers can match it by. */
export interface CallContact {
  contact_id: number;
  email: string;
  first_name: string | null;
  last_name: string | null;
  company_domain: string | null;
  linkedin_url: string | null;
}

/** What a provider said about one contact: its record (null: no match) and the fields taken from it. */
export interface ProviderAnswer {
  contactId: number;
  payload: unknown;
  fields: AnswerFields;
}

/** One round's planning, inside the transaction that holds the round's lock. */
export interface RoundPlanning {
  /** A plan for this round (or a later one) is stored already: a retry keeps it. */
  alreadyPlanned(): Promise<boolean>;
  request(): Promise<{ waterfall: Waterfall; budget: RoundBudget }>;
  /** The request's people not skipped as fresh, with what earlier rounds asked and found. */
  candidates(): Promise<RoundCandidate[]>;
  storePlan(plan: RoundPlan): Promise<void>;
}

type Db = Pick<Pool, 'query'> | PoolClient;

const CALL_KEY = 'request_id = $1 and provider = $2 and round = $3 and chunk_no = $4';
const keyParams = (ref: ProviderCallRef) => [ref.requestId, ref.provider, ref.round, ref.chunkNo];

export function createEnrichRepository(pool: Pool) {
  async function callResult(db: Db, ref: ProviderCallRef): Promise<ProviderCallResult> {
    const { rows: [c] } = await db.query(
      `select status, contact_ids, matched, credits_used from enrich.provider_calls where ${CALL_KEY}`,
      keyParams(ref),
    );
    return { status: c.status, contacts: c.contact_ids.length, matched: c.matched, credits: c.credits_used };
  }

  async function plannedCounts(db: Db, requestId: string, round: number): Promise<Record<Provider, number>> {
    const { rows } = await db.query(
      `select provider, count(*)::int as n from enrich.provider_calls where request_id = $1 and round = $2 group by provider`,
      [requestId, round],
    );
    const out = { apollo: 0, apify: 0 } as Record<Provider, number>;
    for (const r of rows) out[r.provider as Provider] = r.n;
    return out;
  }

  return {
    /** A provider answered 429 (rate limited): /metrics' count of them, by provider. */
    async recordRateLimited(provider: string): Promise<void> {
      await addDailyCount(pool, 'enrich_rate_limited', provider);
    },

    /**
     * Records the request and who it covers; people whose intelligence has not expired are marked
     * skipped unless forced. Idempotent: a repeat returns what the first one stored.
     */
    async recordRequest(input: NewEnrichRequest): Promise<{ requested: number; skippedFresh: number }> {
      const t = input.target;
      const where: string[] = [];
      const params: unknown[] = [
        input.requestId, input.providers, input.force, JSON.stringify(input.waterfall),
        input.creditBudget ?? null, input.ttlDays, input.actor ?? null, input.workflowId,
      ];
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
      if (t.contactFilter) where.push(...contactFilterConditions(t.contactFilter, params));
      if (t.expiringWithinDays !== undefined) {
        add(`exists (select 1 from people.intelligence i where i.contact_id = c.contact_id and i.provider = any($2)
               and i.expires_at < now() + make_interval(days => ?::int))`, t.expiringWithinDays);
      }
      const limit = t.filter?.limit ? `limit ${Number(t.filter.limit)}` : '';
      // the contacts are selected with this role's rights, in the statement that records them
      await pool.query(
        `select enrich.f_record_request($1, $2::text[], $4::jsonb, $3::boolean, $5, $6, $7, $8, array(
           select c.contact_id from vault.contacts c ${where.length ? `where ${where.join(' and ')}` : ''}
           order by c.contact_id ${limit}))`,
        params,
      );
      const { rows: [n] } = await pool.query(
        `select count(*)::int as requested, count(*) filter (where skipped_fresh)::int as skipped from enrich.request_contacts where request_id = $1`,
        [input.requestId],
      );
      return { requested: n.requested, skippedFresh: n.skipped };
    },

    /**
     * Runs `plan` in one transaction holding the round's lock, so concurrent or retried planners
     * store one plan; returns how many calls per provider the round has.
     */
    async withRoundPlanning(requestId: string, round: number, plan: (r: RoundPlanning) => Promise<void>): Promise<Record<Provider, number>> {
      return withTransaction(pool, async (db) => {
        await db.query('select pg_advisory_xact_lock(hashtext($1), $2)', [requestId, round]);
        await plan({
          async alreadyPlanned() {
            const { rows: [r] } = await db.query(
              `select exists (select 1 from enrich.provider_calls where request_id = $1 and round >= $2) as done`,
              [requestId, round],
            );
            return r.done;
          },
          async request() {
            const { rows: [r] } = await db.query(
              `select waterfall, credit_budget, credits_reserved,
                      exists (select 1 from enrich.provider_calls where request_id = $1 and status = 'skipped_budget') as budget_hit
               from enrich.requests where request_id = $1`,
              [requestId],
            );
            return { waterfall: r.waterfall, budget: { creditBudget: r.credit_budget, creditsReserved: r.credits_reserved, budgetHit: r.budget_hit } };
          },
          async candidates() {
            const { rows } = await db.query(
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
            return rows.map((r) => ({ contactId: r.contact_id, linkedinUrl: r.linkedin_url, results: r.results, asked: r.asked }));
          },
          async storePlan(calls: RoundPlan) {
            for (const provider of PROVIDERS) {
              if (!calls[provider].length) continue;
              await db.query('select enrich.f_plan_provider_calls($1, $2, $3, $4::jsonb)', [requestId, provider, round, JSON.stringify(calls[provider])]);
            }
          },
        });
        return plannedCounts(db, requestId, round);
      });
    },

    /** The contacts of a call, in order, with what providers can match them by (LinkedIn URLs found earlier in the request count). */
    async callContacts(ref: ProviderCallRef): Promise<CallContact[]> {
      const { rows } = await pool.query<CallContact>(
        `select c.contact_id, c.email, c.first_name, c.last_name, c.company_domain,
                coalesce(c.linkedin_url, (select r.fields ->> 'linkedin_url' from enrich.results r
                   where r.request_id = $1 and r.contact_id = c.contact_id and r.fields ? 'linkedin_url' limit 1)) as linkedin_url
         from enrich.provider_calls pc cross join unnest(pc.contact_ids) with ordinality as u(contact_id, ord)
         join vault.contacts c on c.contact_id = u.contact_id
         where pc.request_id = $1 and pc.provider = $2 and pc.round = $3 and pc.chunk_no = $4
         order by u.ord`,
        keyParams(ref),
      );
      return rows;
    },

    /**
     * Reserves the most a call can cost from the request's budget, once per call (a retry finds the
     * reservation made). skipped: the budget cannot cover it, and the call is recorded as skipped;
     * closed: the call is no longer open; missing: no such call was planned.
     */
    async reserveCredits(ref: ProviderCallRef, maxCredits: number): Promise<'ok' | 'skipped' | 'closed' | 'missing'> {
      const { rows: [r] } = await pool.query('select enrich.f_reserve_call_credits($1, $2, $3, $4, $5) as outcome', [...keyParams(ref), maxCredits]);
      return r.outcome;
    },

    /** What a closed call recorded. */
    async callResult(ref: ProviderCallRef): Promise<ProviderCallResult> {
      return callResult(pool, ref);
    },

    /**
     * Stores one call's answers (intelligence with its TTL, the fields for the waterfall) and closes
     * the call, releasing the credits it did not use, all in one transaction; a duplicate does nothing.
     */
    async recordAnswers(ref: ProviderCallRef, answers: ProviderAnswer[], credits: number): Promise<ProviderCallResult> {
      const matched = answers.filter((a) => a.payload !== null);
      const { rows: [r] } = await pool.query(
        'select enrich.f_record_call_answers($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7) as recorded',
        [
          ...keyParams(ref),
          JSON.stringify(answers.map((a) => ({ contact_id: a.contactId, payload: a.payload }))),
          JSON.stringify(matched.map((a) => ({ contact_id: a.contactId, fields: a.fields }))),
          credits,
        ],
      );
      if (!r.recorded) return callResult(pool, ref);
      return { status: 'done', contacts: answers.length, matched: matched.length, credits };
    },

    /** A provider branch gave up: its open calls of the round fail and release their credits. Returns how many failed. */
    async failOpenCalls({ requestId, provider, round, reason }: { requestId: string; provider: Provider; round: number; reason: string }): Promise<number> {
      const { rows: [r] } = await pool.query('select enrich.f_fail_open_calls($1, $2, $3, $4) as failed', [requestId, provider, round, reason.slice(0, 2000)]);
      return r.failed;
    },

    /**
     * Writes enriched fields back to the contacts (enrich.f_write_back_enrichment: empty fields
     * only, audited) and stages the answers as source rows of the golden records, which
     * resolution turns into slots and masters; one transaction, so a retry redoes all or nothing. Returns how
     * many contacts changed.
     */
    async writeBack({ requestId, actor, workflowId }: { requestId: string; actor?: string; workflowId?: string }): Promise<number> {
      return withTransaction(pool, async (db) => {
        const { rows } = await db.query('select enrich.f_write_back_enrichment($1, $2, $3) as n', [requestId, actor ?? null, workflowId ?? null]);
        const { rows: [staged] } = await db.query('select enrich.f_stage_results_as_loads($1) as load_ids', [requestId]);
        await resolveGoldenRecords(db, staged.load_ids, workflowId);
        return rows[0].n;
      });
    },

    /** The request's counts, straight from its ledgers. */
    async summary(requestId: string): Promise<EnrichResult> {
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

    /**
     * Requests, newest first, with what their ledgers say so far: people covered, provider calls
     * by status, matches, credits and the write-back. `before` is the last request_id seen.
     */
    async listRequests(limit: number, before?: string): Promise<{ rows: EnrichRequestSummary[]; nextCursor: string | null }> {
      const { rows } = await pool.query(
        `select r.request_id, r.workflow_id, r.actor, r.providers, r.force, r.credit_budget, r.credits_used, r.created_at,
                r.written_back_at, r.written_back,
                rc.requested, rc.skipped_fresh,
                pc.calls_planned, pc.calls_done, pc.calls_failed, pc.calls_skipped_budget, pc.matched
           from enrich.requests r
           cross join lateral (select count(*)::int as requested, count(*) filter (where skipped_fresh)::int as skipped_fresh
                                 from enrich.request_contacts where request_id = r.request_id) rc
           cross join lateral (select count(*)::int as calls_planned, count(*) filter (where status = 'done')::int as calls_done,
                                      count(*) filter (where status = 'failed')::int as calls_failed,
                                      count(*) filter (where status = 'skipped_budget')::int as calls_skipped_budget,
                                      coalesce(sum(matched), 0)::int as matched
                                 from enrich.provider_calls where request_id = r.request_id) pc
          where $2::text is null
             or (r.created_at, r.request_id) < (select b.created_at, b.request_id from enrich.requests b where b.request_id = $2)
          order by r.created_at desc, r.request_id desc
          limit $1`,
        [limit + 1, before ?? null],
      );
      const page = rows.slice(0, limit);
      return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1].request_id : null };
    },
  };
}

export interface EnrichRequestSummary {
  request_id: string;
  workflow_id: string | null;
  actor: string | null;
  providers: string[];
  force: boolean;
  credit_budget: number | null;
  credits_used: number;
  created_at: Date;
  written_back_at: Date | null;
  written_back: number | null;
  requested: number;
  skipped_fresh: number;
  calls_planned: number;
  calls_done: number;
  calls_failed: number;
  calls_skipped_budget: number;
  matched: number;
}

export type EnrichRepository = ReturnType<typeof createEnrichRepository>;
