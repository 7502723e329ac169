import {
  continueAsNew,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import { workflowIds } from '../contracts/ids';
import { ingestProgressQuery, type IngestInput, type IngestProgress, type IngestResult } from '../contracts/ingest';
import { promoteContactsWorkflow } from './promote';

// A chunk whose worker died (or whose completion was lost while Temporal was down) is retried
// once the heartbeat timeout passes; retries back off to at most 2 s, so a database that comes
// back after an outage is used within seconds (npm run chaos measures both).
const { ingestChunk, dropStagedRows } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '2 seconds' },
});

/** Seed "Data Ingestion Flow": staged rows → intake.raw_loads in chunks, duplicates within 30 days skipped. */
export async function ingestBatchWorkflow(input: IngestInput): Promise<IngestResult> {
  const totalChunks = Math.ceil(input.rowCount / input.chunkSize);
  const state = { chunksDone: 0, rowsDone: 0, inserted: 0, skipped: 0, ...input.progress };
  let phase: IngestProgress['phase'] = 'staging';
  setHandler(ingestProgressQuery, () => ({
    phase,
    batchId: input.batchId,
    totalRows: input.rowCount,
    totalChunks,
    ...state,
  }));

  const chunksPerRun = input.chunksPerRun ?? 500;
  let chunksThisRun = 0;
  while (state.chunksDone < totalChunks) {
    if (chunksThisRun >= chunksPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof ingestBatchWorkflow>({ ...input, progress: state });
    }
    const chunk = await ingestChunk({
      batchId: input.batchId,
      chunkNo: state.chunksDone,
      chunkSize: input.chunkSize,
      actor: input.actor,
      workflowId: workflowInfo().workflowId,
    });
    state.chunksDone += 1;
    state.rowsDone += chunk.rowCount;
    state.inserted += chunk.inserted;
    state.skipped += chunk.skipped;
    chunksThisRun += 1;
  }
  await dropStagedRows(input.batchId);

  const result: IngestResult = { inserted: state.inserted, skipped: state.skipped };
  if (input.promote) {
    phase = 'promoting';
    try {
      result.promotion = await executeChild(promoteContactsWorkflow, {
        workflowId: workflowIds.promote(input.batchId),
        args: [{ scope: { batchId: input.batchId }, actor: input.actor, chunkSize: input.chunkSize, chunksPerRun: input.chunksPerRun }],
      });
    } catch (err) {
      // Someone promoted this batch through the API first: that run covers these rows.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  phase = 'done';
  return result;
}
