// The mailbox reader's contract (workflows/mailbox.ts): one workflow per sending identity's
// mailbox, its signal, progress query, input and the poll activity's result.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Read the mailbox now instead of at the next poll (tests, an operator who expects a reply). */
export const checkMailboxSignal = defineSignal('checkNow');

/** What one poll found, by outcome (see marketing.mailbox_messages.outcome). */
export interface MailboxCounts {
  read: number;
  reply: number;
  auto_reply: number;
  hard_bounce: number;
  soft_bounce: number;
  complaint: number;
  unsubscribe: number;
  other: number;
  unmatched: number;
  duplicate: number;
}

export const emptyMailboxCounts = (): MailboxCounts => ({
  read: 0, reply: 0, auto_reply: 0, hard_bounce: 0, soft_bounce: 0, complaint: 0, unsubscribe: 0, other: 0, unmatched: 0, duplicate: 0,
});

export interface MailboxPollInput {
  /** The sending identity (IMAP_URL); the worker holds its credentials, the workflow never does. */
  mailbox: string;
}

export interface MailboxPollResult {
  counts: MailboxCounts;
  /** Messages wait beyond this batch: poll again at once. */
  more: boolean;
  uidValidity: string;
  lastUid: number;
  /** The worker's IMAP_POLL_SECONDS: a changed setting applies from the next wait on. */
  pollSeconds?: number;
}

export interface MailboxInput {
  mailbox: string;
  /** Seconds between polls when the mailbox has nothing new (until a poll reports the worker's setting). */
  pollSeconds: number;
  /** Polls per workflow run before continue-as-new (bounded history). */
  pollsPerRun?: number;
  /** Carried across continue-as-new. */
  state?: { totals: MailboxCounts; polls: number };
}

export interface MailboxProgress {
  mailbox: string;
  phase: 'reading' | 'waiting';
  polls: number;
  totals: MailboxCounts;
  lastPolledAt: number | null;
  lastUid: number | null;
}

export const mailboxProgressQuery = defineQuery<MailboxProgress>('progress');
