// Responses to sends (opens, clicks, unsubscribes, replies, bounces), written where the
// campaign's next claim honours them. Used by the tracking routes and the provider webhooks.
import { withTransaction, type Pool } from './pool';

/**
 * The outreach row a Message-ID of ours names: <oh.{outreach_id}.{32 random hex digits}@domain>
 * (before: <oh.{outreach_id}.c{campaign_id}@domain>, guessable; rows sent then keep it). Only a
 * lookup key: the whole Message-ID must equal the row's.
 */
export function outreachIdOf(messageId: string): number | undefined {
  const m = /^<?oh\.(\d{1,15})\.(?:c\d{1,15}|[0-9a-f]{32})@/i.exec(messageId.trim());
  return m ? Number(m[1]) : undefined;
}

export type BounceKind = 'hard' | 'soft' | 'complaint';

export function createTrackingRepository(pool: Pool) {
  // every marketing.f_track_* / f_record_* function answers whether its row was found
  const call = async (sql: string, params: unknown[]): Promise<boolean> => (await pool.query(sql, params)).rows[0].ok;
  return {
    recordOpen: (outreachId: number) => call('select marketing.f_track_open($1) as ok', [outreachId]),
    recordClick: (outreachId: number, url: string) => call('select marketing.f_track_click($1, $2) as ok', [outreachId, url]),

    /** Unsubscribes; the first unsubscribe of a send emits contact.unsubscribed in the same transaction. */
    unsubscribe: (outreachId: number, via: string) =>
      withTransaction(pool, async (tx) => {
        const { rows: [before] } = await tx.query('select unsubscribed_at from marketing.outreach_history where outreach_id = $1 for update', [outreachId]);
        const { rows: [r] } = await tx.query('select marketing.f_unsubscribe($1, $2) as ok', [outreachId, via]);
        if (r.ok && before && before.unsubscribed_at === null) {
          await tx.query(
            `select ops.f_emit_event('contact.unsubscribed', jsonb_build_object('contact_id', h.contact_id, 'email', h.email,
                    'campaign_id', h.campaign_id, 'outreach_id', h.outreach_id, 'via', $2::text, 'at', h.unsubscribed_at))
               from marketing.outreach_history h where h.outreach_id = $1`,
            [outreachId, via],
          );
        }
        return r.ok as boolean;
      }),

    /**
     * Finds the send a reply answers: one whose Message-ID is among the reply's In-Reply-To and
     * References AND whose recipient is the reply's sender. A Message-ID alone could be replayed
     * by anyone who saw it; a sender alone is forged in any From line. Unmatched: nothing stored.
     */
    async recordReply(reply: { from: string; messageIds: string[]; details: Record<string, unknown> }): Promise<number | null> {
      const ids = reply.messageIds.map(outreachIdOf).filter((id): id is number => id !== undefined);
      if (!ids.length) return null;
      const { rows } = await pool.query(
        `select outreach_id from marketing.outreach_history
          where outreach_id = any($1) and message_id = any($2) and lower(email) = $3
          order by outreach_id desc limit 1`,
        [ids, reply.messageIds, reply.from.trim().toLowerCase()],
      );
      if (!rows.length) return null;
      await withTransaction(pool, async (tx) => {
        await tx.query('select marketing.f_record_reply($1, $2)', [rows[0].outreach_id, reply.details]);
        await tx.query(
          `select ops.f_emit_event('reply.received', jsonb_build_object('contact_id', h.contact_id, 'email', h.email,
                  'campaign_id', h.campaign_id, 'outreach_id', h.outreach_id, 'step_no', h.step_no, 'at', now()))
             from marketing.outreach_history h where h.outreach_id = $1`,
          [rows[0].outreach_id],
        );
      });
      return rows[0].outreach_id;
    },

    /**
     * A bounce or complaint, for mail we sent only: matched by our Message-ID when it names one,
     * else by the address's latest sent message. 'unknown-message' (only a Message-ID, not ours)
     * and 'not-mailed' (an address we never sent to): nothing stored.
     */
    async recordBounce(b: { email?: string; messageId?: string; kind: BounceKind; details: Record<string, unknown> }): Promise<'recorded' | 'unknown-message' | 'not-mailed'> {
      let outreachId: number | null = null;
      if (b.messageId) {
        const id = outreachIdOf(b.messageId);
        if (id !== undefined) {
          const { rows } = await pool.query('select outreach_id from marketing.outreach_history where outreach_id = $1 and message_id = $2', [id, b.messageId]);
          outreachId = rows[0]?.outreach_id ?? null;
        }
        // a Message-ID not of ours (a provider's own id, say) leaves the address to match on
        if (outreachId === null && !b.email) return 'unknown-message';
      }
      return withTransaction(pool, async (tx) => {
        const { rows: [r] } = await tx.query('select marketing.f_record_bounce($1, $2, $3, $4) as ok', [b.email ?? null, b.kind, outreachId, b.details]);
        if (!r.ok) return 'not-mailed';
        // the audit row f_record_bounce just wrote names the row it matched and the address
        await tx.query(
          `select ops.f_emit_event('email.bounced', jsonb_build_object('email', a.after ->> 'email', 'kind', $1::text,
                  'outreach_id', (a.after ->> 'outreach_id')::bigint, 'contact_id', h.contact_id, 'campaign_id', h.campaign_id, 'at', a.at))
             from intake.audit_log a left join marketing.outreach_history h on h.outreach_id = (a.after ->> 'outreach_id')::bigint
            where a.audit_id = (select max(audit_id) from intake.audit_log where action in ('bounce_received', 'complaint_received') and at = now())`,
          [b.kind],
        );
        return 'recorded';
      });
    },
  };
}

export type TrackingRepository = ReturnType<typeof createTrackingRepository>;
