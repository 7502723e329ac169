// The suppression list (marketing.suppressions): addresses no campaign sends to. Unsubscribes,
// bounces and complaints are written by the tracking functions; people add 'manual' ones and lift
// them, and an admin lifts any (audited).
import type { Pool } from './pool';

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
    /** Adds addresses (already lower-cased); returns how many were not listed before. */
    async add(emails: string[], reason: string, source: string): Promise<number> {
      const { rowCount } = await pool.query(
        `insert into marketing.suppressions (email, reason, source)
         select e, $2, $3 from unnest($1::text[]) as e on conflict (email) do nothing`,
        [emails, reason, source],
      );
      return rowCount ?? 0;
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
    async lift(email: string, actor: string, note: string | null): Promise<{ reason: string; contact_status_before: string | null; contact_status: string | null } | null> {
      const { rows: [r] } = await pool.query('select marketing.f_lift_suppression($1, $2, $3) as lifted', [email, actor, note]);
      return r.lifted;
    },
  };
}

export type SuppressionsRepository = ReturnType<typeof createSuppressionsRepository>;
