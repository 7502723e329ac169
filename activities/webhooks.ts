// Outbound webhook activities: the dispatcher's look at the outbox, and one delivery attempt.
import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from '../db/pool';
import { createWebhooksRepository } from '../db/webhooks';
import { DestinationRefused, postWebhook, type DestinationPolicy, type Resolver } from '../clients/webhook-http';
import { SIGNATURE_HEADER, signatureHeader } from '../common/webhook-signature';
import type { PendingDelivery, WebhookDeliveryResult } from '../contracts/webhooks';

export interface WebhookSettings {
  policy: DestinationPolicy;
  timeoutMs?: number;
  /** Name resolution for destinations (tests stand in a resolver; production uses the system's). */
  resolve?: Resolver;
}

/** Without settings, only public https destinations. */
const STRICT: WebhookSettings = { policy: { allowPrivate: false, allowHttp: false } };

/** First attempts made at once by one dispatcher activity (each its own connection). */
const FIRST_ATTEMPT_CONCURRENCY = 8;

export function createWebhookActivities({ pool, webhooks: settings = STRICT }: { pool: Pool; webhooks?: WebhookSettings }) {
  const repo = createWebhooksRepository(pool);
  const activities = {
    async listWebhookDeliveries({ limit }: { limit: number }): Promise<PendingDelivery[]> {
      return repo.undispatched(limit);
    },

    async markWebhookDeliveriesDispatched({ ids }: { ids: number[] }): Promise<void> {
      await repo.markDispatched(ids);
    },

    /**
     * One attempt: POST the event, signed, to the subscription's URL. 2xx: delivered. Any other
     * answer (3xx included: redirects are not followed) or no answer: a retryable failure, so
     * Temporal retries with backoff. A destination the policy refuses fails for good. Idempotent:
     * a delivery already settled is not sent again.
     */
    async deliverWebhook({ deliveryId }: { deliveryId: number }): Promise<Omit<WebhookDeliveryResult, 'deliveryId'>> {
      const work = await repo.work(deliveryId);
      if (!work) throw ApplicationFailure.nonRetryable(`webhook delivery ${deliveryId} does not exist`, 'WebhookDeliveryNotFound');
      if (work.status !== 'pending') return { status: work.status === 'delivered' ? 'delivered' : work.status, attempts: work.attempts };
      if (work.subscription_deleted) {
        await repo.settle(deliveryId, 'cancelled', 'subscription deleted');
        return { status: 'cancelled', attempts: work.attempts };
      }
      const attempt = await repo.beginAttempt(deliveryId);
      const body = JSON.stringify({ id: work.event_key, type: work.event_type, created_at: work.occurred_at.toISOString(), data: work.payload });
      const headers = {
        [SIGNATURE_HEADER]: signatureHeader(work.secret, body, Math.floor(Date.now() / 1000)),
        // the same for every attempt of this event: receivers drop repeats by it
        'idempotency-key': work.event_key,
        'barton-event-type': work.event_type,
        'barton-delivery-attempt': String(attempt),
      };
      let status: number;
      try {
        ({ status } = await postWebhook(work.url, body, headers, { policy: settings.policy, timeoutMs: settings.timeoutMs, resolve: settings.resolve }));
      } catch (err) {
        const message = (err as Error).message;
        await repo.recordAttempt(deliveryId, { status: null, error: `${err instanceof DestinationRefused ? 'refused' : 'no answer'}: ${message}`.slice(0, 500), delivered: false });
        if (err instanceof DestinationRefused) throw ApplicationFailure.nonRetryable(`destination refused: ${message}`, 'WebhookDestinationRefused');
        throw ApplicationFailure.retryable(`webhook receiver unreachable: ${message}`, 'WebhookUnreachable');
      }
      const delivered = status >= 200 && status < 300;
      await repo.recordAttempt(deliveryId, { status, error: delivered ? null : `answered ${status}`, delivered });
      if (!delivered) throw ApplicationFailure.retryable(`webhook receiver answered ${status}`, 'WebhookRejected');
      return { status: 'delivered', attempts: attempt };
    },

    /** Ends a delivery whose retries are spent; returns its attempts. */
    async settleWebhookDelivery({ deliveryId, reason }: { deliveryId: number; reason: string }): Promise<number> {
      await repo.settle(deliveryId, 'failed', reason.slice(0, 500));
      return (await repo.work(deliveryId))?.attempts ?? 0;
    },

    /**
     * The dispatcher's first attempt at new deliveries, several at a time in one activity, so a
     * receiver that answers costs no workflow of its own. Returns the deliveries to retry (the
     * attempt failed retryably); refused destinations are settled failed here. Retried after a
     * crash, it skips what was delivered meanwhile (at least once: one may be sent again).
     */
    async attemptWebhookDeliveries({ ids }: { ids: number[] }): Promise<number[]> {
      const retry: number[] = [];
      const queue = ids.slice();
      const lane = async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          try {
            await activities.deliverWebhook({ deliveryId: id });
          } catch (err) {
            if (err instanceof ApplicationFailure && err.nonRetryable) await repo.settle(id, 'failed', err.message.slice(0, 500));
            else retry.push(id);
          }
          heartbeat();
        }
      };
      await Promise.all(Array.from({ length: FIRST_ATTEMPT_CONCURRENCY }, lane));
      return retry.sort((a, b) => a - b);
    },
  };
  return activities;
}
