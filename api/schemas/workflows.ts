import { z } from 'zod';

export const WorkflowParams = z.object({ id: z.string().min(1).max(512) });

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
