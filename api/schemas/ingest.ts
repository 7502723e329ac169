import { z } from 'zod';
import { IngestCounts, PromoteCounts, WorkflowStarted } from './common';

const text = (max: number) => z.string().max(max).nullish();

/**
 * One contact row in Apollo's API person shape (or a flat manual row). Known fields are
 * type-checked; any other field is kept in the raw payload as it came.
 */
export const ContactRow = z
  .looseObject({
    email: z.string().trim().max(320).nullish(),
    first_name: text(200),
    last_name: text(200),
    name: text(400),
    title: text(400),
    organization_name: text(400),
    company_name: text(400),
    company_domain: text(253),
    linkedin_url: text(2048),
    phone: text(64),
    city: text(200),
    state: text(200),
    country: text(200),
  })
  .refine((r) => Boolean(r.email || r.linkedin_url || r.name || r.first_name || r.last_name), {
    message: 'a row needs an email, a linkedin_url or a name',
    path: ['email'],
  });

export const IngestBody = z.object({
  source: z.string().trim().min(1).max(64).regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only'),
  batch_id: z.string().trim().min(1).max(128).regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only'),
  rows: z.array(ContactRow).min(1).max(100_000),
  /** Promote the batch as soon as it is staged. */
  promote: z.boolean().default(false),
});

export const IngestWaitResponse = z.object({
  success: z.boolean(),
  batch_id: z.string(),
  workflow_id: z.string(),
  existing: z.boolean(),
  counts: IngestCounts,
  promotion: PromoteCounts.optional(),
});

export const IngestAccepted = WorkflowStarted.extend({ batch_id: z.string() });

export const BatchParams = z.object({ batchId: z.string().min(1).max(128) });

export const BatchStatus = z.object({
  batch_id: z.string(),
  source: z.string(),
  row_count: z.number().int(),
  created_at: z.string(),
  workflow_id: z.string(),
  status: z.string(),
  progress: z.unknown().optional(),
  result: z.unknown().optional(),
  /** raw_loads of this batch by status, straight from the database. */
  counts: z.object({
    pending: z.number().int(),
    duplicate: z.number().int(),
    promoted: z.number().int(),
    failed: z.number().int(),
  }),
});
