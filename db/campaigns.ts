// Campaigns: their definitions and steps, their status (moved only by marketing.f_transition_campaign),
// a run's start (the audience snapshot) and end, and what the API reports about them.
import type pg from 'pg';
import { withTransaction, type Pool } from './pool';
import { setAuditContext, withAudit, type AuditContext } from './audit';
import type { CampaignOutcome, StepProgress } from '../contracts/campaign';

type Queryable = Pick<pg.Pool, 'query'>;

export type CampaignStatus = 'draft' | 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';

/** Target selection; {} is the seed's default (score >= 80, status active), minus suppressions. */
export interface CampaignCriteria {
  min_score?: number;
  max_score?: number;
  title_contains?: string;
  company_name_contains?: string;
  company_domains?: string[];
  countries?: string[];
  sources?: string[];
  created_after?: string;
  /** Only contacts created since the campaign's previous run (scheduled runs). */
  new_since_last_run?: boolean;
  /** Master data: the person's seniority and departments, the company's industry and size. */
  seniorities?: string[];
  departments_contains?: string;
  industries?: string[];
  min_employees?: number;
  max_employees?: number;
}

/** The columns a campaign is created with and a draft may change. */
export interface CampaignFields {
  name: string;
  from_email: string;
  from_name?: string | null;
  reply_to?: string | null;
  criteria?: CampaignCriteria;
  time_zone?: string;
  window?: { days: number[]; start: string; end: string } | null;
  rate_per_minute?: number;
}

export interface CampaignStep {
  template_id: number;
  delay_seconds: number;
}

/** A campaign row with its steps, as stored (window in three columns). */
export type CampaignRow = Record<string, any> & { campaign_id: number; status: CampaignStatus; workflow_id: string | null };

export interface OutreachFilter {
  cursor?: number;
  limit: number;
  status?: string;
  step?: number;
  /** Only rows that saw this event (the funnel's counts: sent by status, bounced by bounce type). */
  event?: OutreachEvent;
}

export const OUTREACH_EVENTS = ['sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const;
export type OutreachEvent = (typeof OUTREACH_EVENTS)[number];
// the same predicates marketing.f_step_progress counts, so a funnel number and its rows agree
const EVENT_PREDICATE: Record<OutreachEvent, string> = {
  sent: `status = 'sent'`,
  opened: 'opened_at is not null',
  clicked: 'clicked_at is not null',
  replied: 'replied_at is not null',
  bounced: `bounce_type in ('hard', 'complaint', 'soft')`,
  unsubscribed: 'unsubscribed_at is not null',
};

/** Raised by the status function for a move the lifecycle does not allow. */
export class IllegalCampaignTransition extends Error {
  override name = 'IllegalCampaignTransition';
}

/**
 * The stored criteria cannot select an audience (the API refuses such criteria; these got in
 * some other way): retrying cannot help, so the run fails at once instead of retrying forever.
 */
class InvalidCampaignCriteria extends Error {
  override name = 'InvalidCampaignCriteria';
}

export type StartRunResult =
  | { outcome: 'started'; audience: number; queued: number }
  | { outcome: 'not-found' | 'cancelled' | 'no-steps' }
  | { outcome: 'invalid-criteria'; reason: string };

/** Postgres class 22, data exception: a value of the criteria the statement cannot use (a date out of range, an integer overflow…). */
const isDataException = (err: unknown) => /^22/.test(String((err as { code?: unknown }).code ?? ''));

const STEPS_JSON = `coalesce((select jsonb_agg(jsonb_build_object('step_no', s.step_no, 'template_id', s.template_id,
              'delay_seconds', s.delay_seconds) order by s.step_no) from marketing.campaign_steps s where s.campaign_id = c.campaign_id), '[]') as steps`;

/** WHERE clause over vault.contacts c (and the campaign row k) from the criteria; values go in params. */
export function audienceFilter(criteria: CampaignCriteria, params: unknown[]): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = [`c.status = 'active'`, `c.score >= ${p(criteria.min_score ?? 80)}`];
  if (criteria.max_score !== undefined) where.push(`c.score <= ${p(criteria.max_score)}`);
  if (criteria.title_contains) where.push(`c.title ilike '%' || ${p(criteria.title_contains)} || '%'`);
  if (criteria.company_name_contains) where.push(`c.company_name ilike '%' || ${p(criteria.company_name_contains)} || '%'`);
  if (criteria.company_domains?.length) where.push(`lower(c.company_domain) = any(${p(criteria.company_domains.map((d) => d.toLowerCase()))})`);
  if (criteria.countries?.length) where.push(`upper(c.country) = any(${p(criteria.countries.map((d) => d.toUpperCase()))})`);
  if (criteria.sources?.length) where.push(`c.source = any(${p(criteria.sources)})`);
  if (criteria.created_after) where.push(`c.created_at > ${p(criteria.created_after)}`);
  if (criteria.new_since_last_run) where.push(`c.created_at > coalesce(k.last_run_at, '-infinity')`);
  // Master-data criteria: the contact's golden person record (through its slot) and company.
  const master: string[] = [];
  if (criteria.seniorities?.length) master.push(`lower(pm.seniority) = any(${p(criteria.seniorities.map((s) => s.toLowerCase()))})`);
  if (criteria.departments_contains) master.push(`pm.departments ilike '%' || ${p(criteria.departments_contains)} || '%'`);
  if (criteria.industries?.length) master.push(`lower(cm.industry) = any(${p(criteria.industries.map((s) => s.toLowerCase()))})`);
  if (criteria.min_employees !== undefined) master.push(`cm.employee_count >= ${p(criteria.min_employees)}`);
  if (criteria.max_employees !== undefined) master.push(`cm.employee_count <= ${p(criteria.max_employees)}`);
  if (master.length) {
    where.push(`exists (select 1 from people.slot ps
                          join people.master pm on pm.person_id = ps.person_id and pm.merged_into is null
                          left join company.master cm on cm.company_id = pm.company_id
                         where ps.contact_id = c.contact_id and ${master.join(' and ')})`);
  }
  where.push(`not exists (select 1 from marketing.suppressions s where s.email = c.email)`);
  return where.join(' and ');
}

/**
 * Asks marketing.f_transition_campaign to move the status (it audits the move, naming the
 * transaction's audit context). False: no such campaign, or its status is not one of onlyFrom
 * (nothing changed). An illegal move throws IllegalCampaignTransition.
 */
async function transition(db: Queryable, campaignId: number, to: CampaignStatus, onlyFrom?: CampaignStatus[]): Promise<boolean> {
  const { rows } = await db.query('select marketing.f_transition_campaign($1, $2, $3) as moved', [campaignId, to, onlyFrom ?? null])
    .catch(throwTransitionError);
  return rows[0].moved;
}

/** A status move the lifecycle refused (SQLSTATE CS001, from any function that moves the status) as IllegalCampaignTransition. */
function throwTransitionError(err: unknown): never {
  if ((err as { code?: string }).code === 'CS001') throw new IllegalCampaignTransition((err as Error).message);
  throw err;
}

/** Campaign fields as marketing.f_create_campaign / f_edit_campaign read them (column names). */
function columnsOf(fields: Partial<CampaignFields>): Record<string, unknown> {
  const { window, ...rest } = fields;
  return {
    ...rest,
    ...(window === undefined ? {} : { window_days: window?.days ?? null, window_start: window?.start ?? null, window_end: window?.end ?? null }),
  };
}

const stepArrays = (steps: CampaignStep[] | undefined) =>
  steps ? [steps.map((s) => s.template_id), steps.map((s) => s.delay_seconds)] : [null, null];

async function stepProgress(db: Queryable, campaignId: number): Promise<StepProgress[]> {
  const { rows } = await db.query('select * from marketing.f_step_progress($1)', [campaignId]);
  return rows.map((r) => ({
    step: r.step_no, total: r.total, queued: r.queued + r.sending, sent: r.sent, failed: r.failed,
    stopped: r.stopped, suppressed: r.suppressed, cancelled: r.cancelled, opened: r.opened, clicked: r.clicked,
    replied: r.replied, bounced: r.bounced, unsubscribed: r.unsubscribed,
  }));
}

/**
 * A run's end in the caller's transaction (marketing.f_finish_campaign_run): cancelled leaves
 * nothing queued, the status moves, the first completion emits campaign.completed (the webhook
 * event commits with it), and the feedback report is written.
 */
async function finish(db: pg.PoolClient, campaignId: number, outcome: CampaignOutcome): Promise<void> {
  await db.query('select marketing.f_finish_campaign_run($1, $2)', [campaignId, outcome]).catch(throwTransitionError);
}

export function createCampaignsRepository(pool: Pool) {
  return {
    /** A new draft with its steps, audited (campaign_created); returns its id. */
    async create(fields: CampaignFields, steps: CampaignStep[], ctx: AuditContext): Promise<number> {
      return withAudit(pool, ctx, async (db) => {
        const { rows: [c] } = await db.query('select marketing.f_create_campaign($1, $2, $3) as id', [columnsOf(fields), ...stepArrays(steps)]);
        return c.id as number;
      });
    },

    async find(campaignId: number): Promise<CampaignRow | null> {
      const { rows: [c] } = await pool.query(`select c.*, ${STEPS_JSON} from marketing.campaigns c where c.campaign_id = $1`, [campaignId]);
      return c ?? null;
    },

    /** Campaigns after the cursor (a campaign_id), in id order. */
    async page(cursor: number | undefined, limit: number): Promise<{ rows: CampaignRow[]; nextCursor: number | null }> {
      const { rows } = await pool.query(
        `select c.*, ${STEPS_JSON} from marketing.campaigns c where c.campaign_id > $1 order by c.campaign_id limit $2`,
        [cursor ?? 0, limit + 1],
      );
      const page = rows.slice(0, limit);
      return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1].campaign_id : null };
    },

    /** Changes a draft or scheduled campaign, audited (campaign_updated: the changed fields); any other status leaves it as it is. */
    async edit(campaignId: number, changes: Partial<CampaignFields>, steps: CampaignStep[] | undefined, ctx: AuditContext): Promise<'edited' | 'not-found' | { status: CampaignStatus }> {
      return withAudit(pool, ctx, async (db) => {
        const { rows: [r] } = await db.query('select marketing.f_edit_campaign($1, $2, $3, $4) as outcome', [campaignId, columnsOf(changes), ...stepArrays(steps)]);
        return r.outcome === 'edited' || r.outcome === 'not-found' ? r.outcome : { status: r.outcome };
      });
    },

    /** Deletes a draft or scheduled campaign that never queued a send, audited (campaign_deleted, the whole campaign before). */
    async remove(campaignId: number, ctx: AuditContext): Promise<'removed' | 'not-found' | 'has-run'> {
      return withAudit(pool, ctx, async (db) => {
        const { rows: [r] } = await db.query('select marketing.f_delete_campaign($1) as outcome', [campaignId]);
        return r.outcome;
      });
    },

    /** A status move (see transition), audited as ctx. */
    transition: (campaignId: number, to: CampaignStatus, onlyFrom: CampaignStatus[] | undefined, ctx: AuditContext) =>
      withAudit(pool, ctx, (db) => transition(db, campaignId, to, onlyFrom)),

    /**
     * A change of the campaign's Temporal Schedule, audited (schedule_created, schedule_paused, …;
     * entity campaign_schedule), with the status move it implies (draft ⇄ scheduled).
     */
    async recordScheduleChange(campaignId: number, action: string, details: Record<string, unknown>, ctx: AuditContext,
      move?: { to: CampaignStatus; onlyFrom: CampaignStatus[] }): Promise<void> {
      await withAudit(pool, ctx, (db) => db.query('select marketing.f_audit_schedule($1, $2, $3, $4, $5)',
        [campaignId, action, details, move?.to ?? null, move?.onlyFrom ?? null]));
    },

    async status(campaignId: number): Promise<CampaignStatus | null> {
      const { rows: [c] } = await pool.query('select status from marketing.campaigns where campaign_id = $1', [campaignId]);
      return c?.status ?? null;
    },

    /** The workflow id of the campaign's latest run (null: never started); null for no such campaign. */
    async latestRun(campaignId: number): Promise<{ workflowId: string | null } | null> {
      const { rows: [c] } = await pool.query('select workflow_id from marketing.campaigns where campaign_id = $1', [campaignId]);
      return c ? { workflowId: c.workflow_id } : null;
    },

    /**
     * Remembers the run just started, so control requests reach it before its first activity
     * runs; audited (campaign_start_requested: who asked; the run audits campaign_started).
     */
    async recordRun(campaignId: number, workflowId: string, ctx: AuditContext): Promise<void> {
      await withAudit(pool, ctx, (db) => db.query('select marketing.f_record_campaign_run($1, $2)', [campaignId, workflowId]));
    },

    async counters(campaignId: number): Promise<{ status: CampaignStatus; sent_count: number; response_count: number } | null> {
      const { rows: [c] } = await pool.query('select status, sent_count, response_count from marketing.campaigns where campaign_id = $1', [campaignId]);
      return c ?? null;
    },

    /** Per-step counts (queued includes rows being sent). */
    stepProgress: (campaignId: number) => stepProgress(pool, campaignId),

    /** The send ledger of one campaign, cursor-paginated by outreach_id. */
    async outreachPage(campaignId: number, { cursor, limit, status, step, event }: OutreachFilter): Promise<{ rows: Record<string, unknown>[]; nextCursor: number | null }> {
      const { rows } = await pool.query(
        `select outreach_id, contact_id, email, step_no, status, message_id, due_at, sent_at, opened_at, clicked_at, replied_at,
                bounced_at, bounce_type, unsubscribed_at, failure_reason, attempts
           from marketing.outreach_history
          where campaign_id = $1 and outreach_id > $2 and ($3::text is null or status = $3) and ($4::int is null or step_no = $4)
            ${event ? `and ${EVENT_PREDICATE[event]}` : ''}
          order by outreach_id limit $5`,
        [campaignId, cursor ?? 0, status ?? null, step ?? null, limit + 1],
      );
      const page = rows.slice(0, limit);
      return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1].outreach_id : null };
    },

    /**
     * How many contacts the criteria select now (a campaign's audience before it starts), counted up
     * to `cap`: past it, capped is true. A new campaign has no previous run, so
     * new_since_last_run selects everyone.
     */
    async audienceCount(criteria: CampaignCriteria, cap: number): Promise<{ count: number; capped: boolean }> {
      const params: unknown[] = [];
      const filter = audienceFilter(criteria, params);
      params.push(cap + 1);
      const { rows: [r] } = await pool.query(
        `select count(*)::int as n from (
           select 1 from vault.contacts c, (select null::timestamptz as last_run_at) k where ${filter} limit $${params.length}) a`,
        params,
      );
      return { count: Math.min(r.n, cap), capped: r.n > cap };
    },

    /**
     * Starts a run in one transaction: locks the campaign, inserts the audience x steps into
     * outreach_history (set-based; rows already there are kept, never added twice) and marks it
     * running. A cancelled campaign is refused: a schedule may still fire for it.
     */
    async startRun(campaignId: number, workflowId: string, asOf: Date): Promise<StartRunResult> {
      const started = await withTransaction(pool, async (db): Promise<StartRunResult> => {
        await setAuditContext(db, { actor: 'campaign', workflowId });
        const { rows: [k] } = await db.query('select * from marketing.f_lock_campaign($1)', [campaignId]);
        if (!k) return { outcome: 'not-found' };
        if (k.status === 'cancelled') return { outcome: 'cancelled' };
        const steps = await db.query('select count(*)::int as n from marketing.campaign_steps where campaign_id = $1', [campaignId]);
        if (!steps.rows[0].n) return { outcome: 'no-steps' };
        const params: unknown[] = [campaignId, asOf, workflowId];
        let filter: string;
        try {
          filter = audienceFilter(k.criteria ?? {}, params);
        } catch (err) {
          // criteria of the wrong shape (a string where a list belongs, …)
          throw new InvalidCampaignCriteria(`campaign ${campaignId} has invalid criteria: ${(err as Error).message}`);
        }
        // the criteria's selection, made here and handed over inside Postgres (no contact list leaves
        // it); marketing.f_start_campaign_run adds the contacts added by hand (a bulk action in the
        // Contacts view), queues every step for those still active, unsuppressed and not queued
        // before, marks the campaign running and audits what it queued (campaign_audience_queued)
        await db.query(
          `with k as (select * from marketing.campaigns where campaign_id = $1)
           select marketing.f_start_campaign_run($1, $3, $2, array(select c.contact_id from vault.contacts c, k where ${filter})) as queued`,
          params,
        ).catch((err) => {
          if (isDataException(err)) throw new InvalidCampaignCriteria(`campaign ${campaignId} has invalid criteria: ${(err as Error).message}`);
          throwTransitionError(err);
        });
        const { rows: [n] } = await db.query(
          `select count(distinct contact_id)::int as audience, count(*) filter (where status = 'queued')::int as queued
             from marketing.outreach_history where campaign_id = $1`,
          [campaignId],
        );
        return { outcome: 'started', audience: n.audience, queued: n.queued };
      }).catch((err): StartRunResult => {
        if (err instanceof InvalidCampaignCriteria) return { outcome: 'invalid-criteria', reason: err.message };
        throw err;
      });
      if (started.outcome === 'started') {
        // The snapshot may have just added most of the table: fresh statistics keep the claim and
        // confirm statements on their indexes (stale ones made a 20k run several times slower).
        await pool.query('select marketing.f_analyze_outreach_history()');
      }
      return started;
    },

    /** Ends a run: cancelled leaves nothing queued; both outcomes write the feedback report; the move is audited as ctx. */
    async finishRun(campaignId: number, outcome: CampaignOutcome, ctx: AuditContext): Promise<void> {
      await withAudit(pool, ctx, (db) => finish(db, campaignId, outcome));
    },

    /**
     * Ends a campaign as cancelled after its run closed without finishing it (the run failed,
     * was terminated, or never got past its start), audited. Unless `force` (the caller
     * terminated the run), a campaign the run did finish (completed or cancelled, with a
     * completion time) is left as it is: 'already-ended'. The move is audited (campaign_cancelled,
     * when the status changes here) and so is the closing (campaign_run_closed, with the reason).
     */
    async cancelAfterRun(campaignId: number, r: { reason: string; force: boolean }, ctx: AuditContext & { workflowId: string }): Promise<'cancelled' | 'already-ended' | 'not-found'> {
      return withAudit(pool, ctx, async (db) => {
        const { rows: [c] } = await db.query('select marketing.f_close_campaign_run($1, $2, $3) as outcome', [campaignId, r.reason, r.force])
          .catch(throwTransitionError);
        return c.outcome;
      });
    },
  };
}

export type CampaignsRepository = ReturnType<typeof createCampaignsRepository>;
