import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  checkMailboxSignal,
  emptyMailboxCounts,
  mailboxProgressQuery,
  type MailboxCounts,
  type MailboxInput,
  type MailboxProgress,
} from '../contracts/mailbox';

// One poll reads a batch over IMAP and records each message in its own transaction; a killed
// worker is noticed by the heartbeat timeout and the retry resumes at the ledger's cursor.
// Connection failures (the server down, a password being changed) retry for as long as they last.
const { pollMailbox } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes', nonRetryableErrorTypes: ['MailboxNotConfigured'] },
});

const add = (into: MailboxCounts, from: MailboxCounts) => {
  for (const k of Object.keys(into) as (keyof MailboxCounts)[]) into[k] += from[k];
};

/**
 * Reads one sending identity's mailbox for replies, auto-replies and bounces, for as long as it
 * runs: whatever is new, then a durable timer of `pollSeconds` (cut short by the checkNow
 * signal), again. The messages and their effects live in Postgres; the workflow carries counts.
 */
export async function mailboxWorkflow(input: MailboxInput): Promise<MailboxProgress> {
  const progress: MailboxProgress = {
    mailbox: input.mailbox, phase: 'reading', polls: input.state?.polls ?? 0,
    totals: input.state?.totals ?? emptyMailboxCounts(), lastPolledAt: null, lastUid: null,
  };
  let checkNow = false;
  setHandler(checkMailboxSignal, () => void (checkNow = true));
  setHandler(mailboxProgressQuery, () => progress);
  const pollsPerRun = input.pollsPerRun ?? 200;

  for (let pollsThisRun = 0; ; ) {
    if (pollsThisRun >= pollsPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof mailboxWorkflow>({ ...input, state: { totals: progress.totals, polls: progress.polls } });
    }
    progress.phase = 'reading';
    checkNow = false;
    const result = await pollMailbox({ mailbox: input.mailbox });
    pollsThisRun += 1;
    progress.polls += 1;
    progress.lastPolledAt = Date.now();
    progress.lastUid = result.lastUid;
    add(progress.totals, result.counts);
    if (result.more) continue;
    progress.phase = 'waiting';
    await condition(() => checkNow, (result.pollSeconds ?? input.pollSeconds) * 1000);
  }
}
