import {
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  cancelCampaignSignal,
  campaignProgressQuery,
  ledgerCounters,
  pauseCampaignSignal,
  resumeCampaignSignal,
  type CampaignInput,
  type CampaignOutcome,
  type CampaignProgress,
} from '../contracts/campaign';

// Bookkeeping activities: short, retried freely; at most 2 s apart, so a database back from an
// outage is used within seconds. They heartbeat, so one running on a killed worker is retried
// after 10 s, not after its 2-minute timeout.
const { startCampaignRun, setCampaignStatus, finishCampaign } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '2 seconds', nonRetryableErrorTypes: ['CampaignNotFound', 'CampaignInvalid', 'CampaignCancelled'] },
});

// Sending: a killed worker is noticed by the heartbeat timeout and the batch retried elsewhere,
// where it first re-takes the rows it had claimed.
const { sendCampaignBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '2 seconds', nonRetryableErrorTypes: ['ConfigError', 'CampaignNotFound'] },
});

/**
 * sent/failed/stopped/suppressed are the ledger's counts (the batch result's per-step counts, less
 * those at the run's start), no longer sums of batch results: a batch attempt killed after
 * sending never returns its result. Runs started before (no atStart) keep summing.
 */
const COUNTERS_FROM_LEDGER = 'campaign-counters-from-ledger';

/**
 * The seed's campaign execution: snapshot the audience, then send whatever is due, batch by
 * batch, under the campaign's throttle and windows. Per-contact events (replies, bounces,
 * unsubscribes) live in Postgres and are honoured at claim time; signals are only for control.
 */
export async function campaignWorkflow(input: CampaignInput): Promise<CampaignProgress> {
  const info = workflowInfo();
  const progress: CampaignProgress = input.state?.progress ?? {
    campaignId: input.campaignId, phase: 'starting', audience: 0, sent: 0, failed: 0, stopped: 0, suppressed: 0,
    resent: 0, recovered: 0, remaining: 0, batches: 0, runs: 0, nextDueAt: null, steps: [],
  };
  progress.runs += 1;
  let paused = input.state?.paused ?? false;
  let cancelled = input.state?.cancelled ?? false;
  setHandler(pauseCampaignSignal, () => void (paused = true));
  setHandler(resumeCampaignSignal, () => void (paused = false));
  setHandler(cancelCampaignSignal, () => void (cancelled = true));
  setHandler(campaignProgressQuery, () => progress);

  if (!input.state) {
    const started = await startCampaignRun({ campaignId: input.campaignId, workflowId: info.workflowId, asOf: Date.now() });
    progress.audience = started.audience;
    progress.remaining = started.queued;
    // optional: attempts of the activity before it reported the ledger at start lack it
    if (started.steps) progress.atStart = ledgerCounters(started.steps);
  }
  // Same for every run of this chain: a retried batch reclaims the rows it had claimed.
  const claimToken = `${info.workflowId}/${info.firstExecutionRunId}`;
  const batchesPerRun = input.batchesPerRun ?? 100;

  for (let batchesThisRun = 0; ; ) {
    if (cancelled) break;
    if (paused) {
      progress.phase = 'paused';
      await setCampaignStatus({ campaignId: input.campaignId, status: 'paused' });
      await condition(() => !paused || cancelled);
      if (cancelled) break;
      await setCampaignStatus({ campaignId: input.campaignId, status: 'running' });
    }
    if (batchesThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof campaignWorkflow>({ ...input, state: { progress, paused, cancelled } });
    }
    progress.phase = 'sending';
    const batch = await sendCampaignBatch({
      campaignId: input.campaignId,
      claimToken,
      limit: input.batchSize ?? 2000,
      maxMs: input.batchMs ?? 5000,
      asOf: Date.now(), // campaign time is workflow time: durable, and skippable in tests
    });
    batchesThisRun += 1;
    progress.batches += 1;
    if (progress.atStart && patched(COUNTERS_FROM_LEDGER)) {
      Object.assign(progress, ledgerCounters(batch.steps, progress.atStart));
    } else {
      progress.sent += batch.sent;
      progress.failed += batch.failed;
      progress.stopped += batch.stopped;
      progress.suppressed += batch.suppressed;
    }
    progress.resent += batch.resent;
    // optional: runs and histories from before the provider log was consulted lack it
    progress.recovered = (progress.recovered ?? 0) + (batch.recovered ?? 0);
    progress.remaining = batch.remaining;
    progress.steps = batch.steps;
    if (batch.remaining === 0) break;
    const progressed = batch.sent + batch.failed + batch.stopped + batch.suppressed > 0;
    if (!progressed) {
      // Nothing sendable now: a durable timer until the next due row (step delay, window
      // opening, throttle token or another sender's lease), woken early by pause or cancel.
      // At least a second (never a hot loop), at most an hour (rows made due by other means).
      const waitMs = Math.max(1000, Math.min(batch.waitMs ?? 3_600_000, 3_600_000));
      progress.phase = 'waiting';
      progress.nextDueAt = Date.now() + waitMs;
      await condition(() => paused || cancelled, waitMs);
      progress.nextDueAt = null;
    }
  }

  const outcome: CampaignOutcome = cancelled ? 'cancelled' : 'completed';
  progress.steps = await finishCampaign({ campaignId: input.campaignId, outcome });
  if (progress.atStart && patched(COUNTERS_FROM_LEDGER)) Object.assign(progress, ledgerCounters(progress.steps, progress.atStart));
  progress.phase = outcome;
  progress.remaining = 0;
  return progress;
}
