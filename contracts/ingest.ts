// The ingest lifecycle's contract: what starts it, what it answers, what it can be asked.
import { defineQuery } from '@temporalio/workflow';
import type { PromoteCounts } from './promote';

export interface IngestCounts {
  inserted: number;
  skipped: number;
}

export interface IngestInput {
  batchId: string;
  source: string;
  rowCount: number;
  chunkSize: number;
  actor?: string;
  /** Start promotion of this batch once staged. */
  promote?: boolean;
  /** Chunks per run before continue-as-new (keeps history small on very large uploads). */
  chunksPerRun?: number;
  /** Carried across continue-as-new. */
  progress?: { chunksDone: number; rowsDone: number; inserted: number; skipped: number };
}

export interface IngestResult extends IngestCounts {
  promotion?: PromoteCounts;
}

export interface IngestProgress extends IngestCounts {
  phase: 'staging' | 'promoting' | 'done';
  batchId: string;
  totalRows: number;
  rowsDone: number;
  chunksDone: number;
  totalChunks: number;
}

export const ingestProgressQuery = defineQuery<IngestProgress>('progress');
