import { z } from 'zod';
import { webhookEventTypes } from '../../contracts/webhooks';

const EventType = z.enum(webhookEventTypes);

export const SubscriptionBody = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2048).describe('where deliveries are POSTed: https (plain http only outside production), at a public address'),
  event_types: z.array(EventType).min(1).max(webhookEventTypes.length),
  description: z.string().max(500).optional(),
});

export const Subscription = z.object({
  subscription_id: z.number().int(),
  url: z.string(),
  event_types: z.array(EventType),
  description: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.date(),
});
export const SubscriptionCreated = Subscription.extend({
  secret: z.string().describe('signs every delivery (Barton-Signature); shown only in this answer'),
});
export const SubscriptionList = z.object({ subscriptions: z.array(Subscription), next_cursor: z.number().int().nullable() });
export const SubscriptionParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
export const SubscriptionCursorQuery = z.object({
  cursor: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const Delivery = z.object({
  delivery_id: z.number().int(),
  event_id: z.string().describe('the event\'s idempotency key (Idempotency-Key header)'),
  event_type: EventType,
  occurred_at: z.date(),
  status: z.enum(['pending', 'delivered', 'failed', 'cancelled']),
  attempts: z.number().int(),
  last_attempt_at: z.date().nullable(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.date().nullable(),
});
export const DeliveryPage = z.object({ deliveries: z.array(Delivery), next_cursor: z.number().int().nullable() });
