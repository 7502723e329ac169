import { z } from 'zod';
import { CompanyRecord, HistoryEntry, PersonRecord, SourceLineage } from './people';

export const CompanyListQuery = z.object({
  /** Substring of the company name (at least 3 characters). */
  q: z.string().trim().min(3).max(200).optional(),
  domain: z.string().trim().toLowerCase().min(1).max(253).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(100).optional(),
});

export const CompanyPage = z.object({
  data: z.array(CompanyRecord),
  next_cursor: z.string().nullable(),
});

export const CompanyParams = z.object({ id: z.coerce.number().int().positive() });

export const CompanyDetail = CompanyRecord.extend({
  /** Golden person records at this company (up to 1,000). */
  people: z.array(PersonRecord),
  sources: z.array(SourceLineage),
  history: z.array(HistoryEntry),
});
