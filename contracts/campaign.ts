// The campaign lifecycle's contract: control signals, the progress query, batch results.
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const pauseCampaignSignal = defineSignal('pause');
export const resumeCampaignSignal = defineSignal('resume');
export const cancelCampaignSignal = defineSignal('cancel');

export type CampaignPhase = 'starting' | 'sending' | 'waiting' | 'paused' | 'completed' | 'cancelled';

export interface CampaignProgress {
  campaignId: number;
  phase: CampaignPhase;
  audience: number;
  sent: number;
  failed: number;
  stopped: number;
  suppressed: number;
  resent: number;
  /** sends an earlier attempt left in doubt that the provider's log showed as accepted */
  recovered?: number;
  remaining: number;
  batches: number;
  runs: number;
  /** when the workflow next expects a send to be due (epoch ms), while waiting */
  nextDueAt: number | null;
  steps: StepProgress[];
  /**
   * The ledger's counts when this run started (earlier runs' sends): the counters are the
   * ledger's less these. Absent in runs started before counters came from the ledger.
   */
  atStart?: LedgerCounters;
}

export const campaignProgressQuery = defineQuery<CampaignProgress>('progress');

export type LedgerCounters = Pick<CampaignProgress, 'sent' | 'failed' | 'stopped' | 'suppressed'>;

/**
 * A run's counters as the send ledger (marketing.outreach_history, per step) has them: the
 * campaign's sums over its steps, less what earlier runs of it (scheduled runs) had counted when
 * this run started. Sums of batch results miss what a killed attempt sent before it died; the
 * ledger does not.
 */
export function ledgerCounters(steps: StepProgress[], atStart?: LedgerCounters): LedgerCounters {
  const sum = (k: keyof LedgerCounters) => steps.reduce((n, s) => n + s[k], 0) - (atStart?.[k] ?? 0);
  return { sent: sum('sent'), failed: sum('failed'), stopped: sum('stopped'), suppressed: sum('suppressed') };
}

export interface CampaignInput {
  campaignId: number;
  batchSize?: number;
  /** Batches per workflow run before continue-as-new. */
  batchesPerRun?: number;
  /** Time budget of one batch activity (ms). */
  batchMs?: number;
  /** Carried across continue-as-new. */
  state?: { progress: CampaignProgress; paused: boolean; cancelled: boolean };
}

/** Per-step counts of a campaign (progress query, metrics). */
export interface StepProgress {
  step: number;
  total: number;
  queued: number;
  sent: number;
  failed: number;
  stopped: number;
  suppressed: number;
  cancelled: number;
  opened: number;
  clicked: number;
  replied: number;
  bounced: number;
  unsubscribed: number;
}

export type CampaignOutcome = 'completed' | 'cancelled';

export interface CampaignBatchResult {
  sent: number;
  failed: number;
  /** refused for now (4xx): queued again */
  deferred: number;
  stopped: number;
  suppressed: number;
  /** claimed by an earlier attempt whose confirmation was lost: sent again with the same Message-ID */
  resent: number;
  /** claimed by an earlier attempt and found accepted in the provider's event log: confirmed, not sent again */
  recovered: number;
  /** rows still queued or sending */
  remaining: number;
  /** ms until the next row is due and inside its window; null when nothing is scheduled */
  waitMs: number | null;
  steps: StepProgress[];
}
