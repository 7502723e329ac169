import { z } from 'zod';
import { HistoryEntry, PersonRecord, CompanyRecord, SourceLineage } from './people';
import { IsoDateTime, trimmedText } from './common';

export const CONTACT_STATUSES = ['active', 'bounced', 'unsubscribed', 'do_not_contact'] as const;
export const CONTACT_SORTS = ['-updated_at', '-created_at', '-score', 'last_name'] as const;

const intParam = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The filters of GET /api/contacts, shared by the list, its count and bulk actions ("select all matching"). */
const contactFilterFields = {
  q: trimmedText(3, 200).optional().describe(
    'Search as you type over names, email, email domain, company name and company domain (case-insensitive, at least ' +
    '3 characters). Every word must be found: the last one may be the beginning of a word, the others are whole words ' +
    '("ada love" finds Ada Lovelace). Words are whitespace-separated tokens and their parts between punctuation ' +
    '("brien" finds O\'Brien-Smith, "acme" finds ada@acme.io). "ada@" matches the email local part exactly; a leading @ ' +
    'searches the email domain ("@acme.io"). Not a substring search: "velace" does not find Lovelace.',
  ),
  status: z.enum(CONTACT_STATUSES).optional(),
  score_min: intParam(0, 100).optional(),
  score_max: intParam(0, 100).optional(),
  source: trimmedText(1, 64).optional(),
  company_domain: trimmedText(1, 253).toLowerCase().optional(),
  /** Substring of the title, case-insensitive (at least 3 characters). */
  title: trimmedText(3, 200).optional(),
  updated_since: IsoDateTime.optional(),
};

const scoreRangeInOrder = (v: { score_min?: number; score_max?: number }) =>
  v.score_min === undefined || v.score_max === undefined || v.score_min <= v.score_max;
const scoreRangeError = { message: 'score_min must not exceed score_max', path: ['score_min'] };

export const ContactListQuery = z.object({
  ...contactFilterFields,
  sort: z.enum(CONTACT_SORTS).default('-updated_at'),
  limit: intParam(1, 1000).default(100),
  /** next_cursor of the previous page. */
  cursor: z.string().max(500).regex(/^[A-Za-z0-9_-]*$/, 'not a cursor this API returned').optional(),
  /** Count the matches too (exact up to 10,000; beyond that total_capped is true). */
  include_total: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
}).refine(scoreRangeInOrder, scoreRangeError);

/** GET /api/contacts's filters, as a selection ("select all matching"): no sort, no cursor. */
export const ContactFilter = z.strictObject(contactFilterFields).refine(scoreRangeInOrder, scoreRangeError);

export const ContactCount = z.object({ matched: z.number().int() });

export const BULK_ACTIONS = ['enrich', 'add_to_campaign', 'suppress'] as const;
export const ContactBulkBody = z.strictObject({
  /** Any unique text per intended action (a UUID): a retry with the same key acts no second time. */
  idempotency_key: z.string().trim().min(8).max(200),
  action: z.enum(BULK_ACTIONS),
  /** The selection: every contact GET /api/contacts would list with these filters ({} is all). */
  filter: ContactFilter,
  /** add_to_campaign: the campaign whose audience the selection joins. */
  campaign_id: z.number().int().positive().optional(),
}).refine((b) => (b.action === 'add_to_campaign') === (b.campaign_id !== undefined), {
  message: 'campaign_id is required with add_to_campaign and only with it',
  path: ['campaign_id'],
});

export const ContactBulkResult = z.object({
  bulk_id: z.number().int(),
  action: z.enum(BULK_ACTIONS),
  /** How many contacts the filter selected when it acted. */
  matched: z.number().int(),
  /** How many changed: newly suppressed, newly in the audience, or requested for enrichment. */
  affected: z.number().int(),
  campaign_id: z.number().int().nullable(),
  /** enrich: the enrichment workflow (GET /api/enrich/bulk-<bulk_id>). */
  workflow_id: z.string().nullable(),
  /** True when this key acted before: the answer is that action's, nothing was done again. */
  repeated: z.boolean(),
});

export const Contact = z.object({
  contact_id: z.number().int(),
  email: z.string(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  full_name: z.string().nullable(),
  title: z.string().nullable(),
  company_name: z.string().nullable(),
  company_domain: z.string().nullable(),
  phone: z.string().nullable(),
  linkedin_url: z.string().nullable(),
  city: z.string().nullable(),
  state: z.string().nullable(),
  country: z.string().nullable(),
  source: z.string(),
  status: z.enum(CONTACT_STATUSES),
  score: z.number().int(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const ContactPage = z.object({
  data: z.array(Contact),
  next_cursor: z.string().nullable(),
  total: z.number().int().optional(),
  total_capped: z.boolean().optional(),
});

export const ContactParams = z.object({ id: z.coerce.number().int().positive() });

export const ContactDetail = Contact.extend({
  /** The golden record this contact resolved to (null before promotion resolved it). */
  master: PersonRecord.nullable(),
  company: CompanyRecord.nullable(),
  /** Every source record that fed this contact's golden record. */
  sources: z.array(SourceLineage),
  /** Field-level changes of the golden record, newest first (up to 200). */
  history: z.array(HistoryEntry),
  /** LinkedIn/enrichment data held for this person (people.intelligence), when any. */
  intelligence: z.array(z.record(z.string(), z.unknown())),
});

const editableText = (max: number) => trimmedText(1, max).nullable().optional();

/**
 * Fields a person may edit. Identity (email) and lineage are not editable; status is, because
 * consent is a person's decision (imports never set it), but only while the contact is active:
 * an unsubscribe, bounce or complaint is not undone by an edit (409).
 */
export const ContactPatch = z.strictObject({
  first_name: editableText(200),
  last_name: editableText(200),
  full_name: editableText(400),
  title: editableText(400),
  company_name: editableText(400),
  company_domain: editableText(253),
  phone: editableText(64),
  linkedin_url: editableText(2048),
  city: editableText(200),
  state: editableText(200),
  country: editableText(200),
  status: z.enum(CONTACT_STATUSES).optional(),
  /** The version this edit is based on (alternative to If-Match); a stale one gets 409. */
  version: z.number().int().positive().optional(),
}).refine((p) => Object.keys(p).some((k) => k !== 'version'), { message: 'nothing to change', path: ['body'] });

export const PatchHeaders = z.object({
  /** ETag from GET /api/contacts/:id; a stale one gets 412. */
  'if-match': z.string().max(100).optional(),
});
