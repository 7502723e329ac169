import { z } from 'zod';
import { trimmedText } from './common';
import { CompanyRecord, HistoryEntry, PersonRecord, SourceLineage } from './people';

export const CompanyListQuery = z.object({
  /** Substring of the company name (at least 3 characters). */
  q: trimmedText(3, 200).optional(),
  domain: trimmedText(1, 253).toLowerCase().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** next_cursor of the previous page (a company id). */
  cursor: z.string().regex(/^[0-9]{1,15}$/, 'not a cursor this API returned').optional(),
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
