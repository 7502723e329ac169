import { z } from 'zod';
import { SCOPES } from '../../db/api-keys';

export const SessionBody = z.object({
  apiKey: z.string().min(1).max(200).describe('an API key (bo_<prefix>_<secret>); only checked, never kept'),
});

export const SessionInfo = z.object({
  name: z.string().describe('the API key\'s name: who the session acts as (and is audited as)'),
  key_prefix: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  created_at: z.date(),
  expires_at: z.date().describe('absolute: 7 days after sign-in, or the key\'s expiry when sooner'),
  idle_expires_at: z.date().describe('12 hours after the last request (moved on at most once a minute), never past expires_at'),
  csrf_token: z.string().describe('send as X-CSRF-Token on every write (POST, PUT, PATCH, DELETE) made with the session cookie'),
});
