import { z } from 'zod';
import { IsoDateTime } from './common';

export const AuditQuery = z.object({
  entity: z.string().min(1).max(100).optional().describe('campaign, template, campaign_schedule, suppression, api_key, contact, person, company, raw_load, outreach, …'),
  entity_id: z.string().min(1).max(500).optional(),
  actor: z.string().min(1).max(200).optional().describe('an API key\'s name, or a process (campaign, tracking, apikey:script, …)'),
  action: z.string().min(1).max(100).optional().describe('campaign_created, campaign_paused, template_updated, api_key_rotated, person_merged, …'),
  since: IsoDateTime.optional().describe('rows at or after this time'),
  until: IsoDateTime.optional().describe('rows before this time'),
  cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]*$/, 'not a cursor this API returned').optional().describe('next_cursor of the previous page, with the same filters'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const AuditEntry = z.object({
  audit_id: z.number().int(),
  at: z.date(),
  actor: z.string().nullable(),
  action: z.string(),
  entity: z.string(),
  entity_id: z.string().nullable(),
  before: z.unknown().describe('the changed fields before (a whole record for deletes); null for creations'),
  after: z.unknown().describe('the changed fields after (a whole record for creations); null for deletions'),
  request_id: z.string().nullable().describe('the API request that made the change (its requestId)'),
  workflow_id: z.string().nullable(),
});

export const AuditPage = z.object({ entries: z.array(AuditEntry), next_cursor: z.string().nullable() });
