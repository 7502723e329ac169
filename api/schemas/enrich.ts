import { z } from 'zod';
import { ENRICH_FIELDS, PROVIDERS } from '../../contracts/enrich';
import { plainName, WorkflowStarted } from './common';

const id = plainName(128);

export const EnrichBody = z
  .object({
    /** The business id: enrich:<request_id>. A repeat finds the existing run. Generated when absent. */
    request_id: id.optional(),
    contact_ids: z.array(z.number().int().positive()).min(1).max(50_000).optional(),
    /** Golden records: the contacts of these people (people.master ids). */
    person_ids: z.array(z.number().int().positive()).min(1).max(50_000).optional(),
    /** Golden records: the contacts of everyone at these companies (company.master ids). */
    company_ids: z.array(z.number().int().positive()).min(1).max(10_000).optional(),
    filter: z
      .object({
        source: z.string().max(64).optional(),
        company_domain: z.string().max(253).optional(),
        status: z.enum(['active', 'bounced', 'unsubscribed', 'do_not_contact']).optional(),
        limit: z.number().int().positive().max(100_000).optional(),
      })
      .optional(),
    providers: z.array(z.enum(PROVIDERS)).min(1).max(2).optional(),
    force: z.boolean().default(false),
    // enrich.requests.credit_budget is an integer column
    credit_budget: z.number().int().nonnegative().max(2_147_483_647).optional(),
    /** Per field, the providers to try in order, e.g. {"title": ["apify", "apollo"]}. Default: ENRICH_WATERFALL. */
    // an object of the known fields (not a partialRecord): OpenAPI 3.0 cannot name allowed keys otherwise
    waterfall: z
      .strictObject(Object.fromEntries(ENRICH_FIELDS.map((field) => [field, z.array(z.enum(PROVIDERS)).min(1).optional()])))
      .optional(),
  })
  .refine((b) => [b.contact_ids, b.person_ids, b.company_ids, b.filter].filter(Boolean).length === 1, {
    message: 'give exactly one of contact_ids, person_ids, company_ids or filter',
    path: ['contact_ids'],
  })
  // the refinement, as the document says it
  .meta({ oneOf: ['contact_ids', 'person_ids', 'company_ids', 'filter'].map((field) => ({ required: [field] })) });
export type EnrichBody = z.infer<typeof EnrichBody>;

const ProviderCounts = z.object({
  calls: z.number().int(),
  failed_calls: z.number().int(),
  contacts: z.number().int(),
  matched: z.number().int(),
  credits: z.number().int(),
  failure: z.string().optional(),
});

export const EnrichResult = z.object({
  request_id: z.string(),
  requested: z.number().int(),
  enriched_count: z.number().int(),
  promoted_count: z.number().int(),
  skipped_fresh: z.number().int(),
  failed: z.number().int(),
  providers: z.object({ apollo: ProviderCounts.optional(), apify: ProviderCounts.optional() }),
  credits: z.object({ budget: z.number().int().nullable(), used: z.number().int(), budget_exhausted: z.boolean(), skipped_calls: z.number().int() }),
});

export const EnrichAccepted = WorkflowStarted.extend({ request_id: z.string() });
export const EnrichWaitResponse = z.object({ success: z.boolean(), workflow_id: z.string(), existing: z.boolean(), result: EnrichResult });

export const EnrichParams = z.object({ id });
export const EnrichStatus = z.object({
  request_id: z.string(),
  workflow_id: z.string(),
  status: z.string(),
  progress: z.unknown().optional(),
  result: EnrichResult.optional(),
  failure: z.string().optional(),
});

export const EnrichListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** next_cursor of the previous page (the last request_id seen). */
  cursor: id.optional(),
});
export const EnrichRunSummary = z.object({
  request_id: z.string(),
  workflow_id: z.string().nullable(),
  actor: z.string().nullable(),
  providers: z.array(z.string()),
  force: z.boolean(),
  credit_budget: z.number().int().nullable(),
  credits_used: z.number().int(),
  created_at: z.date(),
  written_back_at: z.date().nullable().describe('set when the run wrote its results back: it is done'),
  written_back: z.number().int().nullable(),
  requested: z.number().int().describe('contacts the request covers'),
  skipped_fresh: z.number().int().describe('of them, skipped: their intelligence had not expired'),
  calls_planned: z.number().int(),
  calls_done: z.number().int(),
  calls_failed: z.number().int(),
  calls_skipped_budget: z.number().int(),
  matched: z.number().int(),
});
export const EnrichList = z.object({ runs: z.array(EnrichRunSummary), next_cursor: z.string().nullable() });
