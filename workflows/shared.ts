// Pure constants and types shared by workflows, activities, the worker and the API.
// Imported into the workflow bundle: no Node built-ins, no I/O.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const workflowIds = {
  ingest: (batchId: string) => `ingest:${batchId}`,
  promote: (scope: string) => `promote:${scope}`,
  enrich: (requestId: string) => `enrich:${requestId}`,
};

/** Custom search attributes; the dev launcher and tests register them on the server. */
export const searchAttributes = {
  Source: defineSearchAttributeKey('Source', SearchAttributeType.KEYWORD),
  BatchId: defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD),
  ContactCount: defineSearchAttributeKey('ContactCount', SearchAttributeType.INT),
  CampaignId: defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD),
  RequestId: defineSearchAttributeKey('RequestId', SearchAttributeType.KEYWORD),
  Provider: defineSearchAttributeKey('Provider', SearchAttributeType.KEYWORD),
};

export interface IngestCounts {
  inserted: number;
  skipped: number;
}

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
