// Intake: staged batches (intake.batches + intake.batch_rows) and their move into intake.raw_loads.
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { IngestCounts } from '../contracts/ingest';
import { streamRows } from './cursor';
import { withTransaction, type Pool } from './pool';

/** One staged row: the source record plus its canonical fields (see common/source-mappings). */
export type StagedPayload = Record<string, unknown>;
/** An array of payloads, or a stream of them (an object-mode Readable is an AsyncIterable). */
export type StagedRows = Iterable<StagedPayload> | AsyncIterable<StagedPayload>;

export interface NewBatch {
  batchId: string;
  source: string;
  actor?: string;
}

/** staged=false: the batch id was staged before; source and rowCount are then the stored batch's. */
export interface StagedBatch {
  staged: boolean;
  source: string;
  rowCount: number;
}

export interface IngestChunk {
  batchId: string;
  chunkNo: number;
  chunkSize: number;
  actor?: string;
  workflowId?: string;
}

export interface BatchRecord {
  batchId: string;
  source: string;
  rowCount: number;
  createdAt: Date;
}

export type LoadStatusCounts = { pending: number; duplicate: number; promoted: number; failed: number };

/** A batch must bring at least one row; nothing was staged. */
export class EmptyBatchError extends Error {
  constructor() {
    super('the batch has no rows');
  }
}

/** Escapes a value for COPY's text format. */
const copyText = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

export function createIntakeRepository(pool: Pool) {
  return {
    /**
     * Stages a batch: the batch row and its rows (COPY, streamed with backpressure, so memory stays
     * flat whatever the size) commit together, and any error (thrown by `rows` too) stages nothing.
     * A batch id seen before stages nothing and `rows` is never called.
     */
    async stageBatch(batch: NewBatch, rows: () => StagedRows): Promise<StagedBatch> {
      return withTransaction(pool, async (tx) => {
        // the batch row, and for a new batch this transaction's staging table (the app role
        // may COPY into it, not into intake.batch_rows)
        const { rows: [opened] } = await tx.query('select staged, source, row_count from intake.f_open_batch($1, $2, $3)',
          [batch.batchId, batch.source, batch.actor ?? null]);
        if (!opened.staged) return { staged: false, source: opened.source ?? batch.source, rowCount: opened.row_count ?? 0 };

        let rowNo = 0;
        // COPY text lines, handed on in ~64 KB pieces rather than one stream write per row
        async function* toCopyLines(payloads: StagedRows) {
          let lines = '';
          for await (const payload of payloads) {
            rowNo++;
            lines += `${rowNo}\t${copyText(JSON.stringify(payload))}\n`;
            if (lines.length >= 65536) {
              yield lines;
              lines = '';
            }
          }
          if (lines) yield lines;
        }
        await pipeline(rows(), toCopyLines, tx.query(copyFrom('copy pg_temp.intake_staged_rows (row_no, payload) from stdin')));
        if (rowNo === 0) throw new EmptyBatchError();
        await tx.query('select intake.f_close_batch($1)', [batch.batchId]);
        return { staged: true, source: batch.source, rowCount: rowNo };
      });
    },

    async findBatch(batchId: string): Promise<BatchRecord | null> {
      const { rows: [batch] } = await pool.query(
        'select batch_id, source, row_count, created_at from intake.batches where batch_id = $1',
        [batchId],
      );
      return batch ? { batchId: batch.batch_id, source: batch.source, rowCount: batch.row_count, createdAt: batch.created_at } : null;
    },

    /** How a batch's loads stand in intake.raw_loads (statuses without loads count 0). */
    async countLoadsByStatus(batchId: string): Promise<LoadStatusCounts> {
      const { rows } = await pool.query(
        'select status, count(*)::int as n from intake.raw_loads where batch_id = $1 group by status',
        [batchId],
      );
      const counts: LoadStatusCounts = { pending: 0, duplicate: 0, promoted: 0, failed: 0 };
      for (const r of rows) counts[r.status as keyof LoadStatusCounts] = r.n;
      return counts;
    },

    /** The keys of a batch's failed rows' payloads (the columns of their export), in no particular order. */
    async failedRowKeys(batchId: string): Promise<string[]> {
      const { rows } = await pool.query(
        `select distinct k from intake.raw_loads, jsonb_object_keys(raw) k where batch_id = $1 and status = 'failed'`,
        [batchId],
      );
      return rows.map((r) => r.k);
    },

    /**
     * A batch's failed rows in row order (row_no, failure_reason, raw), in pages read from one
     * cursor of a read-only transaction: memory holds one page whatever the batch's size.
     */
    async *failedRows(batchId: string, pageSize = 1000): AsyncGenerator<{ row_no: number; failure_reason: string | null; raw: Record<string, unknown> }[]> {
      yield* streamRows<{ row_no: number; failure_reason: string | null; raw: Record<string, unknown> }>(
        pool,
        `select row_no, failure_reason, raw from intake.raw_loads where batch_id = $1 and status = 'failed' order by row_no`,
        [batchId],
        pageSize,
      );
    },

    /** Moves one chunk of staged rows into intake.raw_loads; exactly once (the chunk ledger is in f_ingest_chunk). */
    async ingestChunk(chunk: IngestChunk): Promise<IngestCounts & { rowCount: number }> {
      const { rows: [row] } = await pool.query('select * from intake.f_ingest_chunk($1, $2, $3, $4, $5)', [
        chunk.batchId,
        chunk.chunkNo,
        chunk.chunkSize,
        chunk.actor ?? null,
        chunk.workflowId ?? null,
      ]);
      return { inserted: row.inserted, skipped: row.skipped, rowCount: row.row_count };
    },

    /** The staged copy is no longer needed once every chunk is in raw_loads. Idempotent. */
    async dropStagedRows(batchId: string): Promise<void> {
      await pool.query('select intake.f_drop_staged_rows($1)', [batchId]);
    },
  };
}

export type IntakeRepository = ReturnType<typeof createIntakeRepository>;
