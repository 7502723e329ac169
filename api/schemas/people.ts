import { z } from 'zod';

const text = z.string().nullable();

export const PersonRecord = z.object({
  person_id: z.number().int(),
  email: text,
  first_name: text,
  last_name: text,
  full_name: text,
  title: text,
  headline: text,
  seniority: text,
  departments: text,
  phone: text,
  linkedin_url: text,
  city: text,
  state: text,
  country: text,
  company_id: z.number().int().nullable(),
  /** Per field, the source whose value won (survivorship). */
  field_sources: z.record(z.string(), z.unknown()),
  merged_into: z.number().int().nullable(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const CompanyRecord = z.object({
  company_id: z.number().int(),
  name: text,
  domain: text,
  website: text,
  linkedin_url: text,
  industry: text,
  employee_count: z.number().int().nullable(),
  phone: text,
  city: text,
  state: text,
  country: text,
  field_sources: z.record(z.string(), z.unknown()),
  merged_into: z.number().int().nullable(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** One source record behind a golden record: source, its id, the load and when it was seen. */
export const SourceLineage = z.object({
  slot_id: z.number().int(),
  source: z.string(),
  source_id: z.string().nullable(),
  source_key: z.string(),
  load_id: z.number().int().nullable(),
  contact_id: z.number().int().nullable().optional(),
  seen_at: z.string(),
  last_seen_at: z.string(),
});

export const HistoryEntry = z.object({
  history_id: z.number().int(),
  action: z.enum(['set', 'merge', 'merged_into']),
  field: z.string(),
  old_value: z.unknown(),
  new_value: z.unknown(),
  source: z.string().nullable(),
  workflow_id: z.string().nullable(),
  details: z.unknown().optional(),
  at: z.string(),
});

export const PersonParams = z.object({ id: z.coerce.number().int().positive() });


export const PersonDetail = PersonRecord.extend({
  company: CompanyRecord.nullable(),
  /** The vault contacts (email addresses) that resolved to this person. */
  contacts: z.array(z.object({ contact_id: z.number().int(), email: z.string(), status: z.string() })),
  sources: z.array(SourceLineage),
  history: z.array(HistoryEntry),
  intelligence: z.array(z.record(z.string(), z.unknown())),
});
