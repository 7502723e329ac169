// The suppression list (marketing.suppressions): addresses no campaign sends to. Unsubscribes,
// bounces and complaints are written by the tracking functions; people add 'manual' ones and lift
// them, and an admin lifts any (audited).
import type { Pool } from './pool';
import { withAudit, type AuditContext } from './audit';

export interface SuppressionRow {
  email: string;
  reason: string;
  source: string | null;
  outreach_id: number | null;
  created_at: Date;
}

const COLUMNS = 'email, reason, source, outreach_id, created_at';

export function createSuppressionsRepository(pool: Pool) {
  return {
    /** Adds addresses (already lower-cased), one audit row each (suppression_added); returns how many were not listed before. */
    async add(emails: string[], reason: string, source: string, ctx: AuditContext): Promise<number> {
      const { rows } = await withAudit(pool, ctx, (db) => db.query('select marketing.f_add_suppressions($1, $2, $3) as added', [emails, reason, source]));
      return rows[0].added;
    },

    /** Entries after the cursor (an email), in email order. */
    async page(cursor: string | undefined, limit: number): Promise<{ rows: SuppressionRow[]; nextCursor: string | null }> {
      const { rows } = await pool.query(`select ${COLUMNS} from marketing.suppressions where email > $1 order by email limit $2`, [cursor ?? '', limit + 1]);
      const page = rows.slice(0, limit);
      return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1].email : null };
    },

    async find(email: string): Promise<SuppressionRow | null> {
      const { rows } = await pool.query(`select ${COLUMNS} from marketing.suppressions where email = $1`, [email]);
      return rows[0] ?? null;
    },

    /**
     * Takes an address off the list, audited with before and after; a contact status the entry
     * had set (bounced, do_not_contact, unsubscribed) goes back to active. Null: it was not listed.
     */
    async lift(email: string, note: string | null, ctx: AuditContext): Promise<{ reason: string; contact_status_before: string | null; contact_status: string | null } | null> {
      const { rows: [r] } = await withAudit(pool, ctx, (db) => db.query('select marketing.f_lift_suppression($1, $2, $3) as lifted', [email, ctx.actor, note]));
      return r.lifted;
    },
  };
}

export type SuppressionsRepository = ReturnType<typeof createSuppressionsRepository>;
