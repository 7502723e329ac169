// The promotion lifecycle's contract.
import { defineQuery } from '@temporalio/workflow';

export interface PromoteCounts {
  promoted: number;
  updated: number;
  failed: number;
}

/** Which pending loads a promotion covers: one batch, listed loads, or (neither) all pending. */
export interface PromotionScope {
  batchId?: string;
  loadIds?: number[];
}

export interface PromoteInput {
  scope: PromotionScope;
  actor?: string;
  chunkSize?: number;
  chunksPerRun?: number;
  /** Carried across continue-as-new. */
  progress?: PromoteProgressState;
}

export interface PromoteProgressState extends PromoteCounts {
  chunksDone: number;
  afterLoadId: number;
  totalPending: number;
}

export interface PromoteProgress extends PromoteProgressState {
  phase: 'promoting' | 'done';
}

export const promoteProgressQuery = defineQuery<PromoteProgress>('progress');
