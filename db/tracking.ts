// Responses to sends (opens, clicks, unsubscribes, replies, bounces), written where the
// campaign's next claim honours them. Used by the tracking routes and the provider webhooks.
import type { Pool } from './pool';
import { classifyAgent, clickVerdict, openVerdict } from '../common/engagement';

/** Who fetched a tracking link: used to classify the event, never stored (the IP least of all). */
export interface RequestAgent {
  userAgent?: string;
  ip?: string;
}

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
  /** Seconds since the send was confirmed (null: not confirmed yet), on the database's clock. */
  const secondsAfterSend = async (outreachId: number): Promise<number | null> => {
    const { rows } = await pool.query('select extract(epoch from now() - sent_at)::float8 as s from marketing.outreach_history where outreach_id = $1', [outreachId]);
    return rows[0]?.s ?? null;
  };
  return {
    /** An open pixel fetch, classified human or machine (common/engagement.ts). */
    async recordOpen(outreachId: number, agent: RequestAgent = {}): Promise<boolean> {
      const agentClass = classifyAgent(agent.userAgent, agent.ip);
      const verdict = openVerdict(agentClass, await secondsAfterSend(outreachId));
      return call('select marketing.f_track_open($1, $2, $3) as ok', [outreachId, verdict, agentClass]);
    },
    /** A click through the redirect, classified human or bot; the honeypot link is always a bot's. */
    async recordClick(outreachId: number, url: string, agent: RequestAgent = {}, honeypot = false): Promise<boolean> {
      const agentClass = classifyAgent(agent.userAgent, agent.ip);
      const verdict = clickVerdict(agentClass, await secondsAfterSend(outreachId), honeypot);
      return call('select marketing.f_track_click($1, $2, $3, $4, $5) as ok', [outreachId, url, verdict, agentClass, honeypot]);
    },
    unsubscribe: (outreachId: number, via: string) => call('select marketing.f_unsubscribe($1, $2) as ok', [outreachId, via]),

    /**
     * Finds the send a reply answers: one whose Message-ID is among the reply's In-Reply-To and
     * References AND whose recipient is the reply's sender. A Message-ID alone could be replayed
     * by anyone who saw it; a sender alone is forged in any From line. Unmatched: nothing stored.
     */
    async recordReply(reply: { from: string; messageIds: string[]; details: Record<string, unknown>; dedupeKey?: string; auto?: boolean }): Promise<number | null> {
      const ids = reply.messageIds.map(outreachIdOf).filter((id): id is number => id !== undefined);
      if (!ids.length) return null;
      const { rows } = await pool.query(
        `select outreach_id from marketing.outreach_history
          where outreach_id = any($1) and message_id = any($2) and lower(email) = $3
          order by outreach_id desc limit 1`,
        [ids, reply.messageIds, reply.from.trim().toLowerCase()],
      );
      if (!rows.length) return null;
      const fn = reply.auto ? 'marketing.f_record_auto_reply' : 'marketing.f_record_reply';
      await call(`select ${fn}($1, $2, $3) as ok`, [rows[0].outreach_id, reply.details, reply.dedupeKey ?? null]);
      return rows[0].outreach_id;
    },

    /**
     * A bounce or complaint, for mail we sent only: matched by our Message-ID when it names one,
     * else by the address's latest sent message (or, before any is confirmed, the one being sent).
     * 'unknown-message' (only a Message-ID, not ours) and 'not-mailed' (an address we never sent
     * to): nothing stored.
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
      const found = await call('select marketing.f_record_bounce($1, $2, $3, $4) as ok', [b.email ?? null, b.kind, outreachId, b.details]);
      return found ? 'recorded' : 'not-mailed';
    },
  };
}

export type TrackingRepository = ReturnType<typeof createTrackingRepository>;
