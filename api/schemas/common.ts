import { z } from 'zod';

export const ErrorResponse = z.object({
  error: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
  requestId: z.string(),
});

/** ?wait=true: answer when the workflow finishes instead of 202 at once. */
export const WaitQuery = z.object({
  wait: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export const WorkflowStarted = z.object({
  workflow_id: z.string(),
  run_id: z.string().optional(),
  status: z.string(),
  /** true when this request found a workflow started earlier instead of starting one. */
  existing: z.boolean(),
});

export const IngestCounts = z.object({ inserted: z.number().int(), skipped: z.number().int() });
export const PromoteCounts = z.object({ promoted: z.number().int(), updated: z.number().int(), failed: z.number().int() });

/** Merge the record in the path into `into` (the survivor). */
export const MergeBody = z.object({ into: z.number().int().positive() });

export const MergeResult = z.object({
  survivor_id: z.number().int(),
  merged_id: z.number().int(),
  /** true for a repeated request: the merge had already happened and nothing changed */
  already_merged: z.boolean(),
});
