import { z } from 'zod';
import { PromoteCounts, trimmedText, WorkflowStarted } from './common';

export const PromoteBody = z
  .object({
    batch_id: trimmedText(1, 128).optional(),
    load_ids: z.array(z.number().int().positive()).min(1).max(10_000).optional(),
  })
  .refine((b) => !(b.batch_id && b.load_ids), { message: 'give batch_id or load_ids, not both', path: ['load_ids'] })
  .meta({ not: { required: ['batch_id', 'load_ids'] } }); // the refinement, as the document says it

export const PromoteAccepted = WorkflowStarted;

export const PromoteWaitResponse = z.object({
  success: z.boolean(),
  workflow_id: z.string(),
  existing: z.boolean(),
  counts: PromoteCounts,
});
