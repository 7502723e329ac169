-- Outbound webhooks: subscriptions per event type, an outbox of events written in the same
-- transaction as the change they describe, and one delivery row per event x subscription.
-- Events are emitted with ops.f_emit_event / ops.f_emit_events (sql/functions/webhooks.sql) and
-- delivered by the webhook workflows (workflows/webhooks.ts).
create schema if not exists ops;

create table ops.webhook_subscriptions (
  subscription_id bigint generated always as identity primary key,
  url             text not null,
  event_types     text[] not null check (cardinality(event_types) > 0),
  -- signs every delivery (HMAC-SHA256); shown once, at creation. It has to be stored as it is:
  -- the signature is computed from it at each attempt.
  secret          text not null,
  description     text,
  created_by      text,
  created_at      timestamptz not null default now(),
  -- deleted subscriptions keep their rows (deliveries point at them) and get nothing new
  deleted_at      timestamptz
);
create index webhook_subscriptions_types on ops.webhook_subscriptions using gin (event_types) where deleted_at is null;

-- The outbox. An event is stored only when some subscription wants its type.
create table ops.events (
  event_id    bigint generated always as identity primary key,
  -- the idempotency key receivers see (Idempotency-Key header, "id" in the body): the same on
  -- every attempt and for every subscription
  event_key   uuid not null default gen_random_uuid() unique,
  event_type  text not null check (event_type in ('contact.promoted', 'reply.received', 'email.bounced',
                                                  'contact.unsubscribed', 'conversion.recorded', 'campaign.completed')),
  payload     jsonb not null,
  occurred_at timestamptz not null default now()
);

create table ops.webhook_deliveries (
  delivery_id     bigint generated always as identity primary key,
  event_id        bigint not null references ops.events (event_id) on delete cascade,
  subscription_id bigint not null references ops.webhook_subscriptions (subscription_id),
  status          text not null default 'pending' check (status in ('pending', 'delivered', 'failed', 'cancelled')),
  -- when the dispatcher handed it to its delivery workflow (webhook:<event_key>:<subscription_id>)
  dispatched_at   timestamptz,
  attempts        integer not null default 0,
  last_attempt_at timestamptz,
  last_status     integer,      -- the receiver's HTTP status at the last attempt (null: no answer)
  last_error      text,
  delivered_at    timestamptz,
  created_at      timestamptz not null default now(),
  unique (event_id, subscription_id)
);
-- what the dispatcher looks for: deliveries not yet handed to a workflow
create index webhook_deliveries_undispatched on ops.webhook_deliveries (delivery_id) where dispatched_at is null;
create index webhook_deliveries_subscription on ops.webhook_deliveries (subscription_id, delivery_id);
