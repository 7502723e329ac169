// The mailbox reader's one activity: read the messages that arrived since the last poll, classify
// each (common/inbound-mail.ts) and record it with its effect in one transaction per message
// (db/mailbox.ts). Killed anywhere, the retry resumes at the ledger's cursor, and a message whose
// transaction committed is never recorded again: no reply lost or counted twice.
import { ApplicationFailure } from '@temporalio/activity';
import { withHeartbeat } from './heartbeat';
import type { Pool } from '../db/pool';
import type { MailboxSettings } from '../common/config';
import { createImapReader, MailboxConfigError, type FetchedMessage, type ImapReader } from '../clients/imap';
import { classifyInbound } from '../common/inbound-mail';
import { verifyTrackingToken } from '../common/tracking-tokens';
import { createMailboxRepository, type MailboxMessageRecord } from '../db/mailbox';
import { outreachIdOf } from '../db/tracking';
import { emptyMailboxCounts, type MailboxPollInput, type MailboxPollResult } from '../contracts/mailbox';

export interface MailboxDeps {
  pool: Pool;
  /** The sending identities' mailboxes (IMAP_URL). */
  mailboxes?: MailboxSettings[];
  imap?: ImapReader;
  /** Messages one poll reads (IMAP_BATCH_SIZE). */
  mailboxBatchSize?: number;
  /** Seconds between polls (IMAP_POLL_SECONDS), reported to the reader workflow. */
  mailboxPollSeconds?: number;
  /** Verifies the token of a mailto unsubscribe (TRACKING_SECRET). */
  campaign?: { trackingSecret: string };
}

/** Postgres text holds no NUL character; anyone can mail us one. */
const clean = <T>(v: T): T => {
  if (typeof v === 'string') return v.replaceAll('\u0000', '') as T;
  if (Array.isArray(v)) return v.map(clean) as T;
  if (v && typeof v === 'object' && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clean(x)])) as T;
  return v;
};

/** A classified message → the ledger's record of it. */
export function recordOf(fetched: FetchedMessage, trackingSecret: string | undefined): Omit<MailboxMessageRecord, 'mailbox' | 'folder' | 'uidValidity'> {
  const base = { uid: fetched.uid, receivedAt: fetched.receivedAt, outreachIds: [] as number[], messageIds: [] as string[] };
  const m = fetched.message;
  if (!m) return { ...base, kind: 'other', details: {}, reason: fetched.error ?? 'unreadable' };
  const details = { from: m.from ?? null, subject: m.subject?.slice(0, 998) ?? null };
  const c = classifyInbound(m);
  const concerning = (ids: string[]) => ({
    messageIds: ids,
    outreachIds: ids.map(outreachIdOf).filter((id): id is number => id !== undefined),
  });
  const common = { ...base, messageId: m.messageId, from: m.from };
  switch (c.kind) {
    case 'reply':
      return { ...common, ...concerning(c.messageIds), kind: 'reply', details };
    case 'auto_reply':
      return { ...common, ...concerning(c.messageIds), kind: 'auto_reply', details: { ...details, why: c.why } };
    case 'bounce':
      return {
        ...common, ...concerning(c.messageIds), kind: c.bounce === 'hard' ? 'hard_bounce' : 'soft_bounce',
        details: { ...details, status: c.status, recipient: c.recipient ?? null, diagnostic: c.diagnostic ?? null },
      };
    case 'complaint':
      return { ...common, ...concerning(c.messageIds), kind: 'complaint', details: { ...details, feedback_type: c.feedbackType } };
    case 'unsubscribe': {
      const claims = trackingSecret ? verifyTrackingToken(trackingSecret, c.token, 'unsubscribe') : undefined;
      if (!claims) return { ...common, kind: 'other', details, reason: 'unsubscribe request with an invalid token' };
      return { ...common, kind: 'unsubscribe', outreachIds: [claims.outreachId], details };
    }
    default:
      return { ...common, kind: 'other', details, reason: c.reason };
  }
}

export function createMailboxActivities({ pool, mailboxes = [], imap = createImapReader(), mailboxBatchSize = 100, mailboxPollSeconds, campaign }: MailboxDeps) {
  const ledger = createMailboxRepository(pool);
  return {
    async pollMailbox({ mailbox }: MailboxPollInput): Promise<MailboxPollResult> {
      const settings = mailboxes.find((m) => m.identity === mailbox);
      if (!settings) throw ApplicationFailure.nonRetryable(`no IMAP_URL configured for ${mailbox} on this worker`, 'MailboxNotConfigured');
      let session;
      try {
        session = await imap.open(settings);
      } catch (err) {
        // wrong credentials or folder: retried (someone may fix them), slowly, with the reason in the UI
        if (err instanceof MailboxConfigError) throw ApplicationFailure.retryable(err.message, 'MailboxConfigError');
        throw err;
      }
      try {
        // heartbeats every 2 s while the batch is fetched and recorded: a killed worker is noticed
        // within the heartbeat timeout, a slow server's large batch is not mistaken for one
        return await withHeartbeat(async () => {
          const counts = emptyMailboxCounts();
          const after = await ledger.cursor(mailbox, session.folder, session.uidValidity);
          const { uids, more } = await session.newUids(after, mailboxBatchSize);
          let lastUid = after;
          for await (const fetched of session.fetch(uids)) {
            const where = { mailbox, folder: session.folder, uidValidity: session.uidValidity };
            const record = clean({ ...recordOf(fetched, campaign?.trackingSecret), ...where });
            const r = await ledger.record(record).catch((err: { code?: string; message?: string }) => {
              // A message the database refuses as data (SQLSTATE 22: bad data, 54: past a limit) is kept as unrecordable,
              // so one odd message never stops the mailbox; anything else is retried.
              if (!err.code?.startsWith('22') && !err.code?.startsWith('54')) throw err;
              return ledger.record({ ...where, uid: fetched.uid, receivedAt: fetched.receivedAt, kind: 'other', outreachIds: [], messageIds: [],
                details: {}, reason: `unrecordable: ${String(err.message).slice(0, 300)}` });
            });
            counts.read += 1;
            // a message an earlier attempt recorded counts there, not here
            if (r.recorded) counts[r.outcome] += 1;
            lastUid = fetched.uid;
          }
          return { counts, more, uidValidity: session.uidValidity.toString(), lastUid, pollSeconds: mailboxPollSeconds };
        });
      } finally {
        await session.close();
      }
    },
  };
}
