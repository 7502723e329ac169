import type { Pool } from '../db/pool';
import type { IngestCounts } from '../contracts/ingest';
import { withHeartbeat } from './heartbeat';

export interface IngestChunkInput {
  batchId: string;
  chunkNo: number;
  chunkSize: number;
  actor?: string;
  workflowId?: string;
}

export function createIngestActivities({ pool }: { pool: Pool }) {
  return {
    /** Moves one chunk of a staged upload into intake.raw_loads; exactly once (see f_ingest_chunk). */
    async ingestChunk(input: IngestChunkInput): Promise<IngestCounts & { rowCount: number }> {
      const { rows } = await withHeartbeat(() =>
        pool.query('select * from intake.f_ingest_chunk($1, $2, $3, $4, $5)', [
          input.batchId,
          input.chunkNo,
          input.chunkSize,
          input.actor ?? null,
          input.workflowId ?? null,
        ]),
      );
      const row = rows[0];
      return { inserted: row.inserted, skipped: row.skipped, rowCount: row.row_count };
    },

    /** The staged copy is no longer needed once every chunk is in raw_loads. Idempotent. */
    async dropStagedRows(batchId: string): Promise<void> {
      await pool.query('delete from intake.batch_rows where batch_id = $1', [batchId]);
    },
  };
}
