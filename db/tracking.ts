// Responses to sends (opens, clicks, unsubscribes, replies, bounces), written where the
// campaign's next claim honours them. Used by the tracking routes and the provider webhooks.
import type { Pool } from './pool';

/** The outreach row a Message-ID of ours names (<oh.{outreach_id}.c{campaign_id}@domain>). */
export function outreachIdOf(messageId: string): number | undefined {
  const m = /^<?oh\.(\d{1,15})\.c\d{1,15}@/i.exec(messageId.trim());
  return m ? Number(m[1]) : undefined;
}

export type BounceKind = 'hard' | 'soft' | 'complaint';

export function createTrackingRepository(pool: Pool) {
  // every marketing.f_track_* / f_record_* function answers whether its row was found
  const call = async (sql: string, params: unknown[]): Promise<boolean> => (await pool.query(sql, params)).rows[0].ok;
  return {
    recordOpen: (outreachId: number) => call('select marketing.f_track_open($1) as ok', [outreachId]),
    recordClick: (outreachId: number, url: string) => call('select marketing.f_track_click($1, $2) as ok', [outreachId, url]),
    unsubscribe: (outreachId: number, via: string) => call('select marketing.f_unsubscribe($1, $2) as ok', [outreachId, via]),

    /** Finds the send a reply answers: its In-Reply-To/References Message-IDs, else the sender's latest send. */
    async recordReply(reply: { from: string; messageIds: string[]; details: Record<string, unknown> }): Promise<number | null> {
      const ids = reply.messageIds.map(outreachIdOf).filter((id): id is number => id !== undefined);
      const { rows } = await pool.query(
        `(select outreach_id from marketing.outreach_history where outreach_id = any($1) and message_id = any($2) limit 1)
         union all
         (select h.outreach_id from vault.contacts c join marketing.outreach_history h on h.contact_id = c.contact_id
           where c.email = $3 and h.status = 'sent' order by h.sent_at desc limit 1)
         limit 1`,
        [ids, reply.messageIds, reply.from.trim().toLowerCase()],
      );
      if (!rows.length) return null;
      await call('select marketing.f_record_reply($1, $2) as ok', [rows[0].outreach_id, reply.details]);
      return rows[0].outreach_id;
    },

    /** A bounce or complaint, matched by our Message-ID when it names a row of ours, else by address. */
    async recordBounce(b: { email?: string; messageId?: string; kind: BounceKind; details: Record<string, unknown> }): Promise<boolean> {
      let outreachId: number | null = null;
      const id = b.messageId ? outreachIdOf(b.messageId) : undefined;
      if (id !== undefined) {
        const { rows } = await pool.query('select outreach_id from marketing.outreach_history where outreach_id = $1 and message_id = $2', [id, b.messageId]);
        outreachId = rows[0]?.outreach_id ?? null;
      }
      return call('select marketing.f_record_bounce($1, $2, $3, $4) as ok', [b.email ?? null, b.kind, outreachId, b.details]);
    },
  };
}

export type TrackingRepository = ReturnType<typeof createTrackingRepository>;
