import type { Pool } from '../db/pool';

export type BounceKind = 'hard' | 'soft' | 'complaint';

/**
 * Responses to sends (opens, clicks, unsubscribes, replies, bounces), written to Postgres where
 * the campaign workflow's next claim honours them. The tracking routes call these directly;
 * they are registered as activities too, for workflows that process inbound mail.
 */
export function createTrackingActivities({ pool }: { pool: Pool }) {
  const call = async (sql: string, params: unknown[]): Promise<boolean> => (await pool.query(sql, params)).rows[0].ok;
  return {
    recordOpen: (outreachId: number) => call('select marketing.f_track_open($1) as ok', [outreachId]),
    recordClick: (outreachId: number, url: string) => call('select marketing.f_track_click($1, $2) as ok', [outreachId, url]),
    unsubscribe: (outreachId: number, via: string) => call('select marketing.f_unsubscribe($1, $2) as ok', [outreachId, via]),

    /** Finds the send a reply answers: its In-Reply-To/References Message-IDs, else the sender's latest send. */
    async recordReply(reply: { from: string; messageIds: string[]; details: Record<string, unknown> }): Promise<number | null> {
      const { rows } = await pool.query(
        `select outreach_id from marketing.outreach_history
          where (message_id = any($1) or ($2 <> '' and email = $2 and status = 'sent'))
          order by (message_id = any($1)) desc, sent_at desc nulls last limit 1`,
        [reply.messageIds, reply.from.trim().toLowerCase()],
      );
      if (!rows.length) return null;
      await call('select marketing.f_record_reply($1, $2) as ok', [rows[0].outreach_id, reply.details]);
      return rows[0].outreach_id;
    },

    async recordBounce(b: { email?: string; messageId?: string; kind: BounceKind; details: Record<string, unknown> }): Promise<boolean> {
      let outreachId: number | null = null;
      if (b.messageId) {
        const { rows } = await pool.query('select outreach_id from marketing.outreach_history where message_id = $1', [b.messageId]);
        outreachId = rows[0]?.outreach_id ?? null;
      }
      return call('select marketing.f_record_bounce($1, $2, $3, $4) as ok', [b.email ?? null, b.kind, outreachId, b.details]);
    },
  };
}
