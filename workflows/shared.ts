// Pure constants and types shared by workflows, activities, the worker and the API.
// Imported into the workflow bundle: no Node built-ins, no I/O.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const workflowIds = {
  ingest: (batchId: string) => `ingest:${batchId}`,
  promote: (scope: string) => `promote:${scope}`,
  enrich: (requestId: string) => `enrich:${requestId}`,
  campaign: (campaignId: number | string) => `campaign:${campaignId}`,
  campaignSchedule: (campaignId: number | string) => `campaign-schedule:${campaignId}`,
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

/** Per-step counts of a campaign (progress query, metrics). */
export interface StepProgress {
  step: number;
  total: number;
  queued: number;
  sent: number;
  failed: number;
  stopped: number;
  suppressed: number;
  cancelled: number;
  opened: number;
  clicked: number;
  replied: number;
  bounced: number;
  unsubscribed: number;
}

export type CampaignOutcome = 'completed' | 'cancelled';

export interface CampaignBatchResult {
  sent: number;
  failed: number;
  /** refused for now (4xx): queued again */
  deferred: number;
  stopped: number;
  suppressed: number;
  /** claimed by an earlier attempt whose confirmation was lost: sent again with the same Message-ID */
  resent: number;
  /** claimed by an earlier attempt and found accepted in the provider's event log: confirmed, not sent again */
  recovered: number;
  /** rows still queued or sending */
  remaining: number;
  /** ms until the next row is due and inside its window; null when nothing is scheduled */
  waitMs: number | null;
  steps: StepProgress[];
}
