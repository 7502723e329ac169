import { z } from 'zod';
import { IngestCounts, plainName, PromoteCounts, WorkflowStarted } from './common';
import { CANONICAL_FIELDS, SOURCE_FORMATS } from '../../common/source-mappings';

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

const SourceName = plainName(64);
const BatchId = plainName(128);
/** How rows are read: manual (canonical names, or the caller's `mapping`), an Apollo CSV export, an Apollo API person, an Apify LinkedIn profile item. */
export const SourceFormat = z.enum(SOURCE_FORMATS);
/** Source column → canonical field, for manual uploads whose columns are named otherwise. */
export const ColumnMapping = z.record(z.string().min(1).max(200), z.enum(CANONICAL_FIELDS));

export const IngestBody = z
  .object({
    source: SourceName,
    batch_id: BatchId,
    format: SourceFormat.default('manual'),
    mapping: ColumnMapping.optional(),
    rows: z.array(z.looseObject({})).min(1).max(100_000),
    /** Promote the batch as soon as it is staged. */
    promote: z.boolean().default(false),
  })
  .superRefine((body, ctx) => {
    // Rows already in canonical shape are type-checked field by field; other formats are
    // checked after mapping (each row must still identify someone).
    if (body.format !== 'manual' || body.mapping) return;
    body.rows.forEach((row, i) => {
      const checked = ContactRow.safeParse(row);
      if (!checked.success) for (const issue of checked.error.issues) ctx.addIssue({ ...issue, path: ['rows', i, ...issue.path] });
    });
  });

/** CSV uploads (text/csv body or multipart): the batch's settings as query parameters (or form fields before the file). */
export const CsvIngestQuery = z.object({
  source: SourceName.optional(),
  batch_id: BatchId.optional(),
  format: SourceFormat.optional(),
  /**
   * JSON object: CSV header → canonical field. At most 1,000 characters, so the URL stays within
   * the server's 16 KB limit on request headers; a longer mapping goes as a multipart field.
   */
  mapping: z.string().max(1000).optional(),
  promote: z.enum(['true', 'false']).optional(),
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
