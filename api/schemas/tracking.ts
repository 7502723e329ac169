import { z } from 'zod';

export const TokenParams = z.object({ token: z.string().min(1).max(4096) });

/** Mailgun's signature object, as its webhooks send it; required when MAILGUN_WEBHOOK_SIGNING_KEY is set. */
const Signature = z
  .object({
    timestamp: z.string().regex(/^[0-9]{1,12}$/, 'seconds since the epoch'),
    token: z.string().min(1).max(200),
    signature: z.string().regex(/^[0-9a-f]{64}$/, 'hex HMAC-SHA256 of timestamp + token'),
  })
  .optional()
  .describe('Mailgun webhook signature (HMAC-SHA256 of timestamp + token with the webhook signing key); required when the API has MAILGUN_WEBHOOK_SIGNING_KEY');

const messageIdList = z.union([z.string().max(10_000), z.array(z.string().max(998)).max(100)]);

/** Inbound reply, as an inbound-mail webhook (parsed message) delivers it. */
export const ReplyWebhook = z.object({
  from: z.email().max(254),
  in_reply_to: z.string().max(998).optional(),
  references: messageIdList.optional(),
  message_id: z.string().max(998).optional(),
  subject: z.string().max(998).optional(),
  text: z.string().max(100_000).optional(),
  signature: Signature,
});

export const BounceWebhook = z
  .object({
    type: z.enum(['hard', 'soft', 'complaint']),
    email: z.email().max(254).optional(),
    message_id: z.string().max(998).optional(),
    diagnostic: z.string().max(2000).optional(),
    signature: Signature,
  })
  .refine((b) => b.email || b.message_id, { message: 'give email or message_id', path: ['email'] });

export const WebhookAccepted = z.object({ matched: z.boolean(), outreach_id: z.number().int().nullable().optional() });
