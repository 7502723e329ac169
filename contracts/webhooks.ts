// The outbound webhook lifecycle's contract: event types, the dispatcher's wake-up signal, the
// delivery workflows' inputs and results.
import { defineSignal } from '@temporalio/workflow';

/** What a subscription can ask for (ops.events' check constraint lists the same). */
export const webhookEventTypes = [
  'contact.promoted',
  'reply.received',
  'email.bounced',
  'contact.unsubscribed',
  'conversion.recorded',
  'campaign.completed',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** Sent by the worker's outbox listener when events commit: look for deliveries now. */
export const wakeWebhookDispatchSignal = defineSignal('wake');

/** How a delivery retries: exponential backoff from initialIntervalMs, doubling, capped. */
export interface WebhookRetryPolicy {
  initialIntervalMs: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

export interface WebhookDispatchInput {
  retry: WebhookRetryPolicy;
  /** Deliveries handed out per look at the outbox. */
  batchSize?: number;
  /** How long the dispatcher sleeps when it is not woken (a notification lost while no listener ran). */
  pollMs?: number;
  /** Looks at the outbox per run before continue-as-new. */
  roundsPerRun?: number;
}

/** One delivery as the dispatcher hands it out: ids only. */
export interface PendingDelivery {
  deliveryId: number;
  eventKey: string;
  subscriptionId: number;
}

export interface WebhookDeliveryInput {
  deliveryId: number;
  retry: WebhookRetryPolicy;
}

export interface WebhookDeliveryResult {
  deliveryId: number;
  status: 'delivered' | 'failed' | 'cancelled';
  attempts: number;
}
