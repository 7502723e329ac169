// Campaigns: their definitions and steps, their status (moved only by marketing.f_transition_campaign),
// a run's start (the audience snapshot) and end, and what the API reports about them.
import type pg from 'pg';
import { withTransaction, type Pool } from './pool';
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
}

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
 * Asks marketing.f_transition_campaign to move the status. False: no such campaign, or its
 * status is not one of onlyFrom (nothing changed). An illegal move throws IllegalCampaignTransition.
 */
async function transition(db: Queryable, campaignId: number, to: CampaignStatus, onlyFrom?: CampaignStatus[]): Promise<boolean> {
  try {
    const { rows } = await db.query('select marketing.f_transition_campaign($1, $2, $3) as moved', [campaignId, to, onlyFrom ?? null]);
    return rows[0].moved;
  } catch (err) {
    if ((err as { code?: string }).code === 'CS001') throw new IllegalCampaignTransition((err as Error).message);
    throw err;
  }
}

async function writeSteps(db: pg.PoolClient, campaignId: number, steps: CampaignStep[]) {
  await db.query('delete from marketing.campaign_steps where campaign_id = $1', [campaignId]);
  await db.query(
    `insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds)
     select $1, ord, t, d from unnest($2::bigint[], $3::int[]) with ordinality as x(t, d, ord)`,
    [campaignId, steps.map((s) => s.template_id), steps.map((s) => s.delay_seconds)],
  );
}

async function stepProgress(db: Queryable, campaignId: number): Promise<StepProgress[]> {
  const { rows } = await db.query('select * from marketing.f_step_progress($1)', [campaignId]);
  return rows.map((r) => ({
    step: r.step_no, total: r.total, queued: r.queued + r.sending, sent: r.sent, failed: r.failed,
    stopped: r.stopped, suppressed: r.suppressed, cancelled: r.cancelled, opened: r.opened, clicked: r.clicked,
    replied: r.replied, bounced: r.bounced, unsubscribed: r.unsubscribed,
  }));
}

/** A run's end in the caller's transaction: see finishRun. */
async function finish(db: pg.PoolClient, campaignId: number, outcome: CampaignOutcome): Promise<void> {
  if (outcome === 'cancelled') {
    await db.query(
      `update marketing.outreach_history set status = 'cancelled', failure_reason = 'campaign cancelled'
        where campaign_id = $1 and status = 'queued'`,
      [campaignId],
    );
  }
  await transition(db, campaignId, outcome);
  await db.query('update marketing.campaigns set completed_at = now(), updated_at = now() where campaign_id = $1', [campaignId]);
  // the per-step progress as before, and the campaign report as GET /api/campaigns/:id/report serves it
  await db.query(
    `insert into marketing.feedback_reports (campaign_id, report)
     select $1, jsonb_build_object('outcome', $2::text, 'steps', coalesce(jsonb_agg(to_jsonb(p)), '[]'),
                                   'report', analytics.f_campaign_report($1))
       from marketing.f_step_progress($1) p`,
    [campaignId, outcome],
  );
}

export function createCampaignsRepository(pool: Pool) {
  return {
    /** A new draft with its steps; returns its id. */
    async create(fields: CampaignFields, steps: CampaignStep[]): Promise<number> {
      return withTransaction(pool, async (db) => {
        const { rows: [c] } = await db.query(
          `insert into marketing.campaigns (name, from_email, from_name, reply_to, criteria, time_zone, window_days, window_start, window_end, rate_per_minute)
           values ($1, lower($2), $3, $4, $5, $6, $7, $8, $9, $10) returning campaign_id`,
          [fields.name, fields.from_email, fields.from_name ?? null, fields.reply_to ?? null, fields.criteria ?? {}, fields.time_zone ?? 'UTC',
            fields.window?.days ?? null, fields.window?.start ?? null, fields.window?.end ?? null, fields.rate_per_minute ?? 60],
        );
        await writeSteps(db, c.campaign_id, steps);
        return c.campaign_id as number;
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

    /** Changes a draft or scheduled campaign; any other status leaves it as it is. */
    async edit(campaignId: number, changes: Partial<CampaignFields>, steps?: CampaignStep[]): Promise<'edited' | 'not-found' | { status: CampaignStatus }> {
      return withTransaction(pool, async (db) => {
        const { rows: [c] } = await db.query('select status from marketing.campaigns where campaign_id = $1 for update', [campaignId]);
        if (!c) return 'not-found';
        if (!['draft', 'scheduled'].includes(c.status)) return { status: c.status };
        const sets: string[] = [];
        const params: unknown[] = [campaignId];
        const set = (col: string, v: unknown) => {
          params.push(v);
          sets.push(`${col} = $${params.length}`);
        };
        if (changes.name !== undefined) set('name', changes.name);
        if (changes.from_email !== undefined) set('from_email', changes.from_email.toLowerCase());
        if (changes.from_name !== undefined) set('from_name', changes.from_name);
        if (changes.reply_to !== undefined) set('reply_to', changes.reply_to);
        if (changes.criteria !== undefined) set('criteria', changes.criteria);
        if (changes.time_zone !== undefined) set('time_zone', changes.time_zone);
        if (changes.rate_per_minute !== undefined) set('rate_per_minute', changes.rate_per_minute);
        if (changes.window !== undefined) {
          set('window_days', changes.window?.days ?? null);
          set('window_start', changes.window?.start ?? null);
          set('window_end', changes.window?.end ?? null);
        }
        if (sets.length) await db.query(`update marketing.campaigns set ${sets.join(', ')}, updated_at = now() where campaign_id = $1`, params);
        if (steps) await writeSteps(db, campaignId, steps);
        return 'edited';
      });
    },

    /** Deletes a draft or scheduled campaign that never queued a send. */
    async remove(campaignId: number): Promise<'removed' | 'not-found' | 'has-run'> {
      return withTransaction(pool, async (db) => {
        const { rows: [c] } = await db.query('select status from marketing.campaigns where campaign_id = $1 for update', [campaignId]);
        if (!c) return 'not-found';
        const used = await db.query('select 1 from marketing.outreach_history where campaign_id = $1 limit 1', [campaignId]);
        if (used.rows.length || !['draft', 'scheduled'].includes(c.status)) return 'has-run';
        await db.query('delete from marketing.campaigns where campaign_id = $1', [campaignId]);
        return 'removed';
      });
    },

    transition: (campaignId: number, to: CampaignStatus, onlyFrom?: CampaignStatus[]) => transition(pool, campaignId, to, onlyFrom),

    async status(campaignId: number): Promise<CampaignStatus | null> {
      const { rows: [c] } = await pool.query('select status from marketing.campaigns where campaign_id = $1', [campaignId]);
      return c?.status ?? null;
    },

    /** The workflow id of the campaign's latest run (null: never started); null for no such campaign. */
    async latestRun(campaignId: number): Promise<{ workflowId: string | null } | null> {
      const { rows: [c] } = await pool.query('select workflow_id from marketing.campaigns where campaign_id = $1', [campaignId]);
      return c ? { workflowId: c.workflow_id } : null;
    },

    /** Remembers the run just started, so control requests reach it before its first activity runs. */
    async recordRun(campaignId: number, workflowId: string): Promise<void> {
      await pool.query('update marketing.campaigns set workflow_id = $2 where campaign_id = $1', [campaignId, workflowId]);
    },

    async counters(campaignId: number): Promise<{ status: CampaignStatus; sent_count: number; response_count: number } | null> {
      const { rows: [c] } = await pool.query('select status, sent_count, response_count from marketing.campaigns where campaign_id = $1', [campaignId]);
      return c ?? null;
    },

    /** Per-step counts (queued includes rows being sent). */
    stepProgress: (campaignId: number) => stepProgress(pool, campaignId),

    /** The send ledger of one campaign, cursor-paginated by outreach_id. */
    async outreachPage(campaignId: number, { cursor, limit, status, step }: OutreachFilter): Promise<{ rows: Record<string, unknown>[]; nextCursor: number | null }> {
      const { rows } = await pool.query(
        `select outreach_id, contact_id, email, step_no, status, message_id, due_at, sent_at, opened_at, clicked_at, replied_at,
                bounced_at, bounce_type, unsubscribed_at, failure_reason, attempts
           from marketing.outreach_history
          where campaign_id = $1 and outreach_id > $2 and ($3::text is null or status = $3) and ($4::int is null or step_no = $4)
          order by outreach_id limit $5`,
        [campaignId, cursor ?? 0, status ?? null, step ?? null, limit + 1],
      );
      const page = rows.slice(0, limit);
      return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1].outreach_id : null };
    },

    /**
     * Starts a run in one transaction: locks the campaign, inserts the audience x steps into
     * outreach_history (set-based; rows already there are kept, never added twice) and marks it
     * running. A cancelled campaign is refused: a schedule may still fire for it.
     */
    async startRun(campaignId: number, workflowId: string, asOf: Date): Promise<StartRunResult> {
      const started = await withTransaction(pool, async (db): Promise<StartRunResult> => {
        const { rows: [k] } = await db.query('select * from marketing.campaigns where campaign_id = $1 for update', [campaignId]);
        if (!k) return { outcome: 'not-found' };
        if (k.status === 'cancelled') return { outcome: 'cancelled' };
        const steps = await db.query('select count(*)::int as n from marketing.campaign_steps where campaign_id = $1', [campaignId]);
        if (!steps.rows[0].n) return { outcome: 'no-steps' };
        const params: unknown[] = [campaignId, asOf];
        let filter: string;
        try {
          filter = audienceFilter(k.criteria ?? {}, params);
        } catch (err) {
          // criteria of the wrong shape (a string where a list belongs, …)
          throw new InvalidCampaignCriteria(`campaign ${campaignId} has invalid criteria: ${(err as Error).message}`);
        }
        const inserted = await db.query(
          `with k as (select * from marketing.campaigns where campaign_id = $1),
                first_step as (select min(step_no) as n from marketing.campaign_steps where campaign_id = $1),
                audience as (
                  select c.contact_id, c.email, c.country from vault.contacts c, k
                   where ${filter}
                     and not exists (select 1 from marketing.outreach_history h where h.campaign_id = $1 and h.contact_id = c.contact_id))
           insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, time_zone, due_at)
           select $1, a.contact_id, s.step_no, a.email, marketing.f_country_time_zone(a.country),
                  case when s.step_no = (select n from first_step) then $2::timestamptz end
             from audience a cross join marketing.campaign_steps s
            where s.campaign_id = $1
           on conflict (campaign_id, contact_id, step_no) do nothing`,
          params,
        ).catch((err) => {
          if (isDataException(err)) throw new InvalidCampaignCriteria(`campaign ${campaignId} has invalid criteria: ${(err as Error).message}`);
          throw err;
        });
        await transition(db, campaignId, 'running');
        await db.query(
          `update marketing.campaigns set started_at = coalesce(started_at, now()), last_run_at = now(),
                  completed_at = null, workflow_id = $2, updated_at = now() where campaign_id = $1`,
          [campaignId, workflowId],
        );
        await db.query(
          `insert into intake.audit_log (actor, action, entity, entity_id, after, workflow_id)
           values ('campaign', 'campaign_started', 'campaign', $1, jsonb_build_object('rows_queued', $2::int), $3)`,
          [String(campaignId), inserted.rowCount ?? 0, workflowId],
        );
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
        await pool.query('analyze marketing.outreach_history');
      }
      return started;
    },

    /** Ends a run: cancelled leaves nothing queued; both outcomes write the feedback report. */
    async finishRun(campaignId: number, outcome: CampaignOutcome): Promise<void> {
      await withTransaction(pool, (db) => finish(db, campaignId, outcome));
    },

    /**
     * Ends a campaign as cancelled after its run closed without finishing it (the run failed,
     * was terminated, or never got past its start), audited. Unless `force` (the caller
     * terminated the run), a campaign the run did finish (completed or cancelled, with a
     * completion time) is left as it is: 'already-ended'.
     */
    async cancelAfterRun(campaignId: number, r: { actor: string; reason: string; workflowId: string; force: boolean }): Promise<'cancelled' | 'already-ended' | 'not-found'> {
      return withTransaction(pool, async (db) => {
        const { rows: [c] } = await db.query('select status, completed_at from marketing.campaigns where campaign_id = $1 for update', [campaignId]);
        if (!c) return 'not-found';
        if (!r.force && ['completed', 'cancelled'].includes(c.status) && c.completed_at) return 'already-ended';
        await finish(db, campaignId, 'cancelled');
        await db.query(
          `insert into intake.audit_log (actor, action, entity, entity_id, before, after, workflow_id)
           values ($1, 'campaign_cancelled', 'campaign', $2, jsonb_build_object('status', $3::text),
                   jsonb_build_object('status', 'cancelled', 'reason', $4::text), $5)`,
          [r.actor, String(campaignId), c.status, r.reason, r.workflowId],
        );
        return 'cancelled';
      });
    },
  };
}

export type CampaignsRepository = ReturnType<typeof createCampaignsRepository>;
