import { z } from 'zod';

export const SuppressionBody = z.object({
  emails: z.array(z.email().max(254)).min(1).max(10_000),
  reason: z.enum(['manual', 'do_not_contact']).default('manual'),
});
export const SuppressionAdded = z.object({ added: z.number().int(), already: z.number().int() });
export const Suppression = z.object({
  email: z.string(),
  reason: z.string(),
  source: z.string().nullable(),
  outreach_id: z.number().int().nullable(),
  created_at: z.date(),
});
export const SuppressionQuery = z.object({
  cursor: z.string().max(254).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const SuppressionPage = z.object({ suppressions: z.array(Suppression), next_cursor: z.string().nullable() });
export const SuppressionParams = z.object({ email: z.email().max(254) });
export const SuppressionLiftQuery = z.object({ note: z.string().max(500).optional().describe('why it is lifted, kept in the audit log') });
