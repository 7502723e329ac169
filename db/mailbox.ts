// The mailbox reader's ledger and cursor (sql/functions/mailbox.sql): one call per message, which
// records the message and its effect (reply, bounce, …) in one transaction.
import type { Pool } from './pool';

export type MailboxOutcome =
  | 'reply' | 'auto_reply' | 'hard_bounce' | 'soft_bounce' | 'complaint' | 'unsubscribe'
  | 'other' | 'unmatched' | 'duplicate';

export interface MailboxMessageRecord {
  mailbox: string;
  folder: string;
  uidValidity: bigint;
  uid: number;
  messageId?: string;
  receivedAt?: Date;
  /** The classifier's verdict, as the ledger names it. */
  kind: 'reply' | 'auto_reply' | 'hard_bounce' | 'soft_bounce' | 'complaint' | 'unsubscribe' | 'other';
  from?: string;
  /** Sends the message may concern (parsed from our Message-IDs), and the Message-IDs themselves. */
  outreachIds: number[];
  messageIds: string[];
  details: Record<string, unknown>;
  reason?: string;
}

export function createMailboxRepository(pool: Pool) {
  return {
    /** Where to resume: the last UID recorded under this folder and UIDVALIDITY (0: from the start). */
    async cursor(mailbox: string, folder: string, uidValidity: bigint): Promise<number> {
      const { rows } = await pool.query('select marketing.f_mailbox_cursor($1, $2, $3) as last_uid', [mailbox, folder, uidValidity.toString()]);
      return Number(rows[0].last_uid);
    },

    /** Records one message exactly once; `recorded` is false when an earlier attempt already did. */
    async record(m: MailboxMessageRecord): Promise<{ outcome: MailboxOutcome; outreachId: number | null; recorded: boolean }> {
      const { rows } = await pool.query(
        'select outcome, outreach_id, recorded from marketing.f_record_mailbox_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
        [m.mailbox, m.folder, m.uidValidity.toString(), m.uid, m.messageId ?? null, m.receivedAt ?? null, m.kind, m.from ?? null,
          m.outreachIds, m.messageIds, m.details, m.reason ?? null],
      );
      const r = rows[0];
      return { outcome: r.outcome, outreachId: r.outreach_id === null ? null : Number(r.outreach_id), recorded: r.recorded };
    },
  };
}

export type MailboxRepository = ReturnType<typeof createMailboxRepository>;
