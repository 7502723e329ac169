import {
  continueAsNew,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { workflowIds } from '../contracts/ids';
import { searchAttributes } from '../contracts/search-attributes';
import {
  enrichProgressQuery,
  PROVIDERS,
  type BranchTotals,
  type EnrichInput,
  type EnrichProgress,
  type EnrichRefreshInput,
  type EnrichResult,
  type ProviderBranchInput,
  type ProviderCallResult,
} from '../contracts/enrich';

// Postgres-only steps run on the main task queue.
const ledger = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * enrich:<request_id> (seed "MCP Orchestration Flow"): skip people whose intelligence is fresh,
 * then resolve the per-field waterfall in rounds; in each round every provider asked runs as its
 * own child workflow (a branch) in parallel, on its own rate-capped task queue. A branch that
 * gives up after its retries fails alone: its people fall through to the next provider in the
 * waterfall and the other branch's results are kept. Then the write-back, then the counts.
 */
export async function enrichContactsWorkflow(input: EnrichInput): Promise<EnrichResult> {
  const { requestId } = input;
  const workflowId = workflowInfo().workflowId;
  const progress: EnrichProgress = { phase: 'planning', round: 0, requested: 0, skipped_fresh: 0, branch_failures: {} };
  setHandler(enrichProgressQuery, () => progress);

  const { requested, skippedFresh } = await ledger.createEnrichRequest({
    requestId, target: input.target, providers: input.providers, force: input.force, waterfall: input.waterfall,
    creditBudget: input.creditBudget, ttlDays: input.ttlDays, actor: input.actor, workflowId,
  });
  progress.requested = requested;
  progress.skipped_fresh = skippedFresh;

  // Each round asks each provider at most once per person, so rounds ≤ providers (+1 to see nothing is left).
  for (let round = 1; round <= input.providers.length + 1; round++) {
    progress.round = round;
    progress.phase = 'planning';
    const plan = await ledger.planEnrichmentRound({ requestId, round });
    const branches = PROVIDERS.filter((p) => plan[p] > 0);
    if (!branches.length) break;
    progress.phase = 'calling';
    await Promise.all(
      branches.map(async (provider) => {
        try {
          await executeChild(enrichProviderBranchWorkflow, {
            workflowId: workflowIds.enrichBranch(workflowId, provider, round),
            args: [{ requestId, provider, round, chunkCount: plan[provider], taskQueue: input.taskQueues[provider], concurrency: input.concurrency, retry: input.retry }],
            typedSearchAttributes: [
              { key: searchAttributes.RequestId, value: requestId },
              { key: searchAttributes.Provider, value: provider },
            ],
          });
        } catch (err) {
          const reason = failureText(err);
          progress.branch_failures[provider] = reason;
          await ledger.markBranchFailed({ requestId, provider, round, reason });
        }
      }),
    );
  }

  progress.phase = 'writing_back';
  await ledger.writeBackEnrichedFields({ requestId, actor: input.actor, workflowId });
  const result = await ledger.summarizeEnrichment(requestId);
  progress.phase = 'done';
  return result;
}

/**
 * One provider's calls of one round, `concurrency` at a time. The task queue's worker-side rate
 * cap keeps the pace under the provider's limit across all workers; a 429 that still happens is
 * retried after the delay the provider's headers gave (nextRetryDelay, set by the activity).
 */
export async function enrichProviderBranchWorkflow(input: ProviderBranchInput): Promise<BranchTotals> {
  const { callApollo, callApify } = proxyActivities<Activities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: input.provider === 'apify' ? '1 hour' : '2 minutes',
    ...(input.provider === 'apify' ? { heartbeatTimeout: '3 minutes' } : {}),
    retry: {
      initialInterval: input.retry.initialIntervalMs,
      maximumInterval: input.retry.maximumIntervalMs,
      backoffCoefficient: 2,
      maximumAttempts: input.retry.maximumAttempts,
      nonRetryableErrorTypes: ['ProviderRejected', 'EnrichPlanMissing'],
    },
  });
  const call = input.provider === 'apollo' ? callApollo : callApify;
  const totals: BranchTotals = input.totals ?? { calls: 0, contacts: 0, matched: 0, credits: 0, skipped_budget: 0 };
  let next = input.fromChunk ?? 0;
  let pause = false;
  const add = (r: ProviderCallResult) => {
    if (r.status === 'skipped_budget') totals.skipped_budget += 1;
    else {
      totals.calls += 1;
      totals.contacts += r.contacts;
      totals.matched += r.matched;
      totals.credits += r.credits;
    }
  };
  const lane = async () => {
    while (next < input.chunkCount && !pause) {
      const chunkNo = next++;
      add(await call({ requestId: input.requestId, provider: input.provider, round: input.round, chunkNo }));
      if (workflowInfo().continueAsNewSuggested) pause = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.chunkCount - next) }, lane));
  if (next < input.chunkCount) {
    await continueAsNew<typeof enrichProviderBranchWorkflow>({ ...input, fromChunk: next, totals });
  }
  return totals;
}

/** What the TTL refresh schedule starts: re-enrich everyone whose intelligence expires within N days. */
export async function enrichRefreshWorkflow(input: EnrichRefreshInput): Promise<EnrichResult> {
  const { withinDays, ...rest } = input;
  const requestId = workflowIds.enrichRefreshRequest(workflowInfo().workflowId);
  return executeChild(enrichContactsWorkflow, {
    workflowId: workflowIds.enrich(requestId),
    args: [{ ...rest, requestId, target: { expiringWithinDays: withinDays }, force: true }],
    typedSearchAttributes: [{ key: searchAttributes.RequestId, value: requestId }],
  });
}

function failureText(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  const parts: string[] = [];
  while (e && parts.length < 4) {
    if (e.message) parts.push(e.message);
    e = e.cause as typeof e;
  }
  return parts.join(': ') || String(err);
}
