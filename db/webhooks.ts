// Outbound webhooks: subscriptions (API), the outbox's deliveries (dispatcher and delivery
// activities) and the outbox's commit notifications (the worker's listener). Events are written
// by ops.f_emit_event / ops.f_emit_events (sql/functions/webhooks.sql) in the emitter's transaction;
// subscriptions and deliveries change only through the SECURITY DEFINER functions beside them.
import type pg from 'pg';
import type { Pool } from './pool';
import type { PendingDelivery, WebhookEventType } from '../contracts/webhooks';

export interface WebhookSubscription {
  subscription_id: number;
  url: string;
  event_types: WebhookEventType[];
  description: string | null;
  created_by: string | null;
  created_at: Date;
}

/** What one delivery attempt needs: the destination, the secret and the event. */
export interface DeliveryWork {
  delivery_id: number;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempts: number;
  url: string;
  secret: string;
  subscription_deleted: boolean;
  event_key: string;
  event_type: WebhookEventType;
  payload: unknown;
  occurred_at: Date;
}

const SUBSCRIPTION_COLUMNS = 'subscription_id, url, event_types, description, created_by, created_at';
/** The outbox's commit notifications (ops.f_emit_events). */
const CHANNEL = 'ops_webhook_events';

export function createWebhooksRepository(pool: Pool) {
  return {
    async createSubscription(s: { url: string; eventTypes: WebhookEventType[]; secret: string; description: string | null; createdBy: string | null }): Promise<WebhookSubscription> {
      const { rows: [row] } = await pool.query(
        `select ${SUBSCRIPTION_COLUMNS} from ops.f_create_webhook_subscription($1, $2, $3, $4, $5)`,
        [s.url, s.eventTypes, s.secret, s.description, s.createdBy],
      );
      return row;
    },

    /** Live subscriptions after the cursor (a subscription_id), in id order; never their secrets. */
    async page(cursor: number | undefined, limit: number): Promise<{ rows: WebhookSubscription[]; nextCursor: number | null }> {
      const { rows } = await pool.query(
        `select ${SUBSCRIPTION_COLUMNS} from ops.webhook_subscriptions
          where deleted_at is null and subscription_id > $1 order by subscription_id limit $2`,
        [cursor ?? 0, limit + 1],
      );
      const page = rows.slice(0, limit);
      return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1].subscription_id : null };
    },

    async find(subscriptionId: number): Promise<WebhookSubscription | null> {
      const { rows: [row] } = await pool.query(
        `select ${SUBSCRIPTION_COLUMNS} from ops.webhook_subscriptions where subscription_id = $1 and deleted_at is null`,
        [subscriptionId],
      );
      return row ?? null;
    },

    /** Ends a subscription: nothing new is emitted to it, and its pending deliveries are cancelled. */
    async deleteSubscription(subscriptionId: number): Promise<boolean> {
      const { rows: [row] } = await pool.query('select ops.f_delete_webhook_subscription($1) as deleted', [subscriptionId]);
      return row.deleted;
    },

    /** A subscription's deliveries, newest first, cursor-paginated by delivery_id. */
    async deliveries(subscriptionId: number, cursor: number | undefined, limit: number) {
      const { rows } = await pool.query(
        `select d.delivery_id, e.event_key as event_id, e.event_type, e.occurred_at, d.status, d.attempts,
                d.last_attempt_at, d.last_status, d.last_error, d.delivered_at
           from ops.webhook_deliveries d join ops.events e on e.event_id = d.event_id
          where d.subscription_id = $1 and ($2::bigint is null or d.delivery_id < $2)
          order by d.delivery_id desc limit $3`,
        [subscriptionId, cursor ?? null, limit + 1],
      );
      const page = rows.slice(0, limit);
      return { rows: page, nextCursor: rows.length > limit ? (page[page.length - 1].delivery_id as number) : null };
    },

    /** Deliveries not yet handed to a delivery workflow, oldest first. */
    async undispatched(limit: number): Promise<PendingDelivery[]> {
      const { rows } = await pool.query(
        `select d.delivery_id, e.event_key, d.subscription_id
           from ops.webhook_deliveries d join ops.events e on e.event_id = d.event_id
          where d.dispatched_at is null order by d.delivery_id limit $1`,
        [limit],
      );
      return rows.map((r) => ({ deliveryId: r.delivery_id, eventKey: r.event_key, subscriptionId: r.subscription_id }));
    },

    async markDispatched(ids: number[]): Promise<void> {
      await pool.query('select ops.f_mark_deliveries_dispatched($1)', [ids]);
    },

    async work(deliveryId: number): Promise<DeliveryWork | null> {
      const { rows: [row] } = await pool.query(
        `select d.delivery_id, d.status, d.attempts, s.url, s.secret, s.deleted_at is not null as subscription_deleted,
                e.event_key, e.event_type, e.payload, e.occurred_at
           from ops.webhook_deliveries d
           join ops.events e on e.event_id = d.event_id
           join ops.webhook_subscriptions s on s.subscription_id = d.subscription_id
          where d.delivery_id = $1`,
        [deliveryId],
      );
      return row ?? null;
    },

    /** Counts an attempt before it is made (so a crash mid-attempt still counts); returns the attempt's number. */
    async beginAttempt(deliveryId: number): Promise<number> {
      const { rows: [row] } = await pool.query('select attempts from ops.f_begin_delivery_attempt($1)', [deliveryId]);
      return row.attempts;
    },

    async recordAttempt(deliveryId: number, outcome: { status: number | null; error: string | null; delivered: boolean }): Promise<void> {
      await pool.query('select ops.f_record_delivery_attempt($1, $2, $3, $4)', [deliveryId, outcome.status, outcome.error, outcome.delivered]);
    },

    /** Ends a delivery that will not be attempted again (retries exhausted, refused, subscription gone). */
    async settle(deliveryId: number, status: 'failed' | 'cancelled', reason: string | null): Promise<void> {
      await pool.query('select ops.f_settle_delivery($1, $2, $3)', [deliveryId, status, reason]);
    },
  };
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>;

/**
 * Calls onEvents whenever emitted events commit (LISTEN on the outbox's channel), on a connection
 * of its own; reconnects after a lost connection. Returns a function that stops listening.
 */
export function listenForWebhookEvents(pool: Pool, onEvents: () => void, log: (msg: string) => void = () => undefined): () => Promise<void> {
  let client: pg.PoolClient | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    try {
      const c = await pool.connect();
      client = c;
      c.on('notification', (n) => {
        if (n.channel === CHANNEL) onEvents();
      });
      c.on('error', (err) => {
        log(`webhook listener lost its connection (${err.message}); reconnecting`);
        c.release(err);
        if (client === c) client = undefined;
        if (!stopped) retry = setTimeout(() => void connect(), 1000);
      });
      await c.query(`listen ${CHANNEL}`);
      if (stopped) {
        c.release();
        return;
      }
      onEvents(); // events may have committed while no one listened
    } catch (err) {
      log(`webhook listener could not connect (${(err as Error).message}); retrying`);
      if (!stopped) retry = setTimeout(() => void connect(), 1000);
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = undefined;
    if (c) {
      await c.query(`unlisten ${CHANNEL}`).catch(() => undefined);
      c.release();
    }
  };
}
