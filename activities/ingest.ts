import type { Pool } from '../db/pool';
import type { IngestCounts } from '../contracts/ingest';
import { createIntakeRepository } from '../db/intake';
import { withHeartbeat } from './heartbeat';

export interface IngestChunkInput {
  batchId: string;
  chunkNo: number;
  chunkSize: number;
  actor?: string;
  workflowId?: string;
}

export function createIngestActivities({ pool }: { pool: Pool }) {
  const intake = createIntakeRepository(pool);
  return {
    /** Moves one chunk of a staged upload into intake.raw_loads; exactly once (see f_ingest_chunk). */
    async ingestChunk(input: IngestChunkInput): Promise<IngestCounts & { rowCount: number }> {
      return withHeartbeat(() => intake.ingestChunk(input));
    },

    /** The staged copy is no longer needed once every chunk is in raw_loads. Idempotent. */
    async dropStagedRows(batchId: string): Promise<void> {
      await withHeartbeat(() => intake.dropStagedRows(batchId)); // a large batch outlasts the heartbeat timeout
    },
  };
}
