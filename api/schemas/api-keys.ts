import { z } from 'zod';
import { IsoDateTime, trimmedText } from './common';
import { SCOPES } from '../../db/api-keys';

export const ApiKeyInfo = z.object({
  key_id: z.number().int(),
  prefix: z.string().describe('the 12 hex characters after bo_ in the key; names the key in these routes'),
  name: z.string(),
  workspace: z.string().describe("the slug of the key's workspace: the one its requests act in"),
  scopes: z.array(z.enum(SCOPES)),
  rate_limit_per_minute: z.number().int(),
  created_at: z.date(),
  last_used_at: z.date().nullable().describe('to the minute'),
  expires_at: z.date().nullable(),
  revoked_at: z.date().nullable(),
  rotated_from: z.number().int().nullable().describe('key_id of the key this one replaced'),
});

export const ApiKeyCreated = ApiKeyInfo.extend({ key: z.string().describe('the key itself: shown only in this answer, stored only as a hash') });

export const ApiKeyBody = z.object({
  name: trimmedText(1, 200),
  scopes: z.array(z.enum(SCOPES)).min(1).max(3),
  rate_limit_per_minute: z.number().int().min(1).max(1_000_000).default(100),
  expires_at: IsoDateTime.optional().describe('when the key stops working (in the future); none: it never expires'),
});

export const ApiKeyQuery = z.object({
  active: z.enum(['true', 'false']).default('false').transform((v) => v === 'true').describe('true: only keys that work (not revoked, not expired)'),
  cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]*$/, 'not a cursor this API returned').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const ApiKeyList = z.object({ keys: z.array(ApiKeyInfo), next_cursor: z.string().nullable() });
export const ApiKeyParams = z.object({ prefix: z.string().regex(/^[0-9a-f]{12}$/, 'the 12 hex characters after bo_ in the key') });
