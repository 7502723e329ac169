// "Select all matching": bulk actions over a filter of vault.contacts, set-based (no contact
// list leaves Postgres), once per idempotency key, audited.
import type { Pool } from './pool';
import { withAudit, type AuditContext } from './audit';
import { contactFilterConditions, type ContactFilter } from './contacts';

export type BulkAction = 'enrich' | 'add_to_campaign' | 'suppress';

export interface BulkRequest {
  idempotency_key: string;
  action: BulkAction;
  filter: ContactFilter;
  campaign_id?: number;
}

export interface BulkRecord {
  bulk_id: number;
  action: BulkAction;
  matched: number;
  affected: number;
  campaign_id: number | null;
  workflow_id: string | null;
  /** True when the key had acted before: this answer is that action's, nothing was done again. */
  repeated: boolean;
}

export type BulkOutcome =
  | { done: BulkRecord }
  /** The key was used for another request (its stored request differs). */
  | { refused: 'key_reused' }
  | { refused: 'campaign_not_found' }
  | { refused: 'campaign_closed'; status: string };

const where = (filter: ContactFilter, params: unknown[]) => {
  const conditions = contactFilterConditions(filter, params);
  return conditions.length ? `where ${conditions.join(' and ')}` : '';
};

/** The request as stored and compared: keys in one order, absent fields left out. */
const canonical = (r: BulkRequest) => JSON.stringify({
  action: r.action,
  campaign_id: r.campaign_id ?? null,
  filter: Object.fromEntries(Object.entries(r.filter).filter(([, v]) => v !== undefined && v !== '').sort(([a], [b]) => a.localeCompare(b))),
});

const COLUMNS = 'bulk_id, action, matched, affected, campaign_id, workflow_id';

export function createContactBulkRepository(pool: Pool) {
  return {
    /** How many contacts the filter selects (exact). */
    async count(filter: ContactFilter): Promise<number> {
      const params: unknown[] = [];
      const { rows } = await pool.query(`select count(*)::int as n from vault.contacts ${where(filter, params)}`, params);
      return rows[0].n;
    },

    /**
     * Acts on every contact the filter selects, in one transaction with its audit rows, or
     * answers what the key's first request did. suppress: the addresses go on the suppression
     * list (manual, one suppression_added row each, as POST /api/suppressions); add_to_campaign:
     * the contacts join the campaign's audience (marketing.campaign_members); enrich: only
     * records the selection's count and the workflow id, which the caller starts (with the
     * filter, not the rows). Concurrent requests with one key: the second waits on the key's
     * unique index, then finds the first's row.
     */
    async act(request: BulkRequest, workflowIdFor: (bulkId: number) => string | null, ctx: AuditContext): Promise<BulkOutcome> {
      const requestText = canonical(request);
      return withAudit(pool, ctx, async (db): Promise<BulkOutcome> => {
        const previous = async (): Promise<BulkOutcome | null> => {
          const { rows: [row] } = await db.query(
            `select ${COLUMNS}, request = $2::jsonb as same from vault.contact_bulk_actions where idempotency_key = $1`,
            [request.idempotency_key, requestText],
          );
          if (!row) return null;
          if (!row.same) return { refused: 'key_reused' };
          const { bulk_id, action, matched, affected, campaign_id, workflow_id } = row;
          return { done: { bulk_id, action, matched, affected, campaign_id, workflow_id, repeated: true } };
        };
        const found = await previous();
        if (found) return found;
        if (request.action === 'add_to_campaign') {
          const { rows: [k] } = await db.query('select status from marketing.f_share_lock_campaign($1)', [request.campaign_id]);
          if (!k) return { refused: 'campaign_not_found' };
          if (k.status === 'cancelled' || k.status === 'completed') return { refused: 'campaign_closed', status: k.status };
        }
        const { rows: [claimed] } = await db.query('select vault.f_claim_bulk_action($1, $2, $3, $4, $5) as bulk_id',
          [request.idempotency_key, requestText, request.action, request.campaign_id ?? null, ctx.actor]);
        if (claimed.bulk_id === null) return (await previous())!; // a concurrent request with the key committed first
        const bulkId: number = claimed.bulk_id;
        const params: unknown[] = [];
        const selection = `select contact_id, email from vault.contacts ${where(request.filter, params)}`;
        let matched: number;
        let affected: number;
        if (request.action === 'suppress') {
          const bulkSource = `bulk:${bulkId}`;
          // the selection goes to the function as an array built inside Postgres; it writes the
          // suppression_added rows as POST /api/suppressions does
          const { rows: [n] } = await db.query(
            `with selected as (${selection})
             select (select count(*) from selected)::int as matched,
                    marketing.f_add_suppressions(array(select lower(email) from selected), 'manual', $${params.length + 1}) as affected`,
            [...params, bulkSource],
          );
          ({ matched, affected } = n);
        } else if (request.action === 'add_to_campaign') {
          const { rows: [n] } = await db.query(
            `with selected as (${selection})
             select (select count(*) from selected)::int as matched,
                    marketing.f_add_campaign_members($${params.length + 1}, $${params.length + 2}, array(select contact_id from selected)) as affected`,
            [...params, request.campaign_id, bulkId],
          );
          ({ matched, affected } = n);
        } else {
          const { rows: [n] } = await db.query(`select count(*)::int as n from (${selection}) s`, params);
          matched = n.n;
          affected = n.n; // requested; the workflow reports what it enriched
        }
        const workflowId = workflowIdFor(bulkId);
        await db.query('select vault.f_finish_bulk_action($1, $2, $3, $4)', [bulkId, matched, affected, workflowId]);
        return { done: { bulk_id: bulkId, action: request.action, matched, affected, campaign_id: request.campaign_id ?? null, workflow_id: workflowId, repeated: false } };
      });
    },
  };
}

export type ContactBulkRepository = ReturnType<typeof createContactBulkRepository>;
