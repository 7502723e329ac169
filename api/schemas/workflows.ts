import { z } from 'zod';

// 256 characters: our ids are far shorter, and any 256 fit the router's 4096-character limit
// on a path segment as sent (up to 12 characters, %XX-encoded, per character)
export const WorkflowParams = z.object({ id: z.string().min(1).max(256) });

export const WorkflowStatus = z.object({
  workflow_id: z.string(),
  run_id: z.string(),
  type: z.string(),
  status: z.string(),
  task_queue: z.string(),
  start_time: z.string(),
  close_time: z.string().nullable(),
  history_length: z.number().int(),
  result: z.unknown().optional(),
  failure: z.string().optional(),
  ui_url: z.string(),
});
