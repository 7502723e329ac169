import { z } from 'zod';

export const ErrorResponse = z.object({
  error: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
  requestId: z.string(),
});

// Patterns here spell out their character classes: the document's reader (Schemathesis is in
// Python) takes \d, \w and \s as Unicode classes, JavaScript as ASCII ones (\s: what trim() drops).
const WHITESPACE = String.raw`\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff`;

// ISO 8601 date-times as Postgres reads them: years 0001-9999 (Postgres has no year 0), real
// calendar days, and offsets within ±15:59 (beyond that Postgres refuses the value).
const LEAP_YEAR = String.raw`(?:[0-9]{2}(?:[2468][048]|[13579][26]|0[48])|(?:[2468][048]|[13579][26]|0[48])00)`;
const YEAR = String.raw`(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})`;
const MONTH_DAY = String.raw`(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))`;
const TIME = String.raw`(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?`;
const OFFSET = String.raw`(?:Z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])`;
const ISO_DATE_TIME = new RegExp(`^(?:${LEAP_YEAR}-02-29|${YEAR}-${MONTH_DAY})T${TIME}${OFFSET}$`);

/**
 * An ISO 8601 date-time with Z or an offset (2024-05-01T09:30:00Z, …+02:00), one Postgres
 * accepts: every date-time parameter of the API uses this schema.
 */
export const IsoDateTime = z
  .string()
  .regex(ISO_DATE_TIME, 'must be an ISO 8601 date-time with Z or an offset within ±15:59, years 0001-9999 (e.g. 2024-05-01T09:30:00Z)')
  .meta({ format: 'date-time' });

/**
 * Text used trimmed: at most `max` characters as sent, at least `min` besides surrounding
 * whitespace. Both are checked on the text as sent, so the document's maxLength and pattern
 * say exactly what is accepted.
 */
export function trimmedText(min: number, max: number) {
  const visible = `[^${WHITESPACE}]`;
  // u: counted in code points, as the document's reader counts them
  const pattern = new RegExp(min <= 1 ? visible : `${visible}[\\s\\S]{${min - 2},}${visible}`, 'u');
  const message = min <= 1 ? 'must not be blank' : `needs at least ${min} characters besides surrounding spaces`;
  return z.string().max(max).regex(pattern, message).trim();
}

/** A name of letters, digits and . _ : - (surrounding whitespace is dropped), at most `max` characters as sent. */
export const plainName = (max: number) =>
  z.string().max(max).regex(new RegExp(`^[${WHITESPACE}]*[A-Za-z0-9_.:-]+[${WHITESPACE}]*$`, 'u'), 'letters, digits and . _ : - only').trim();

/** 204: no body. Documented without content (a null schema); send() and send(null) both pass. */
export const NoContent = z.union([z.undefined(), z.null()]).describe('No Content');

/** ?wait=true: answer when the workflow finishes instead of 202 at once. */
export const WaitQuery = z.object({
  wait: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export const WorkflowStarted = z.object({
  workflow_id: z.string(),
  run_id: z.string().optional(),
  status: z.string(),
  /** true when this request found a workflow started earlier instead of starting one. */
  existing: z.boolean(),
});

export const IngestCounts = z.object({ inserted: z.number().int(), skipped: z.number().int() });
export const PromoteCounts = z.object({ promoted: z.number().int(), updated: z.number().int(), failed: z.number().int() });

/** Merge the record in the path into `into` (the survivor). */
export const MergeBody = z.object({ into: z.number().int().positive() });

export const MergeResult = z.object({
  survivor_id: z.number().int(),
  merged_id: z.number().int(),
  /** true for a repeated request: the merge had already happened and nothing changed */
  already_merged: z.boolean(),
});
