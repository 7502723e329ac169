import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { promoteProgressQuery, type PromoteCounts, type PromoteInput, type PromoteProgress, type PromoteProgressState } from '../contracts/promote';

// As ingest's chunks: retried soon after a dead worker or a lost completion, backing off to at most 2 s.
const { promoteChunk, countPending } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '2 seconds' },
});

/** Seed promotion step: pending loads → validated → vault.contacts (upsert by email), in chunks. */
export async function promoteContactsWorkflow(input: PromoteInput): Promise<PromoteCounts> {
  const chunkSize = input.chunkSize ?? 5000;
  const state: PromoteProgressState = input.progress ?? {
    chunksDone: 0,
    afterLoadId: 0,
    promoted: 0,
    updated: 0,
    failed: 0,
    totalPending: await countPending(input.scope),
  };
  let phase: PromoteProgress['phase'] = 'promoting';
  setHandler(promoteProgressQuery, () => ({ phase, ...state }));

  // Ledger key: the same for every run of this chain, distinct for a later promotion under the same id.
  const runKey = workflowInfo().firstExecutionRunId;
  const chunksPerRun = input.chunksPerRun ?? 500;
  for (let chunksThisRun = 0; ; chunksThisRun++) {
    if (chunksThisRun >= chunksPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof promoteContactsWorkflow>({ ...input, progress: state });
    }
    const chunk = await promoteChunk({
      runKey,
      chunkNo: state.chunksDone,
      scope: input.scope,
      afterLoadId: state.afterLoadId,
      chunkSize,
      actor: input.actor,
      workflowId: workflowInfo().workflowId,
    });
    if (chunk.loadCount === 0) break;
    state.chunksDone += 1;
    state.afterLoadId = chunk.lastLoadId;
    state.promoted += chunk.promoted;
    state.updated += chunk.updated;
    state.failed += chunk.failed;
  }
  phase = 'done';
  return { promoted: state.promoted, updated: state.updated, failed: state.failed };
}
