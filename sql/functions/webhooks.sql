-- Outbound webhook events. Any code that changes something a subscriber may care about calls
-- one of these IN THE SAME TRANSACTION as the change: the event commits (or rolls back) with it,
-- and the dispatcher (workflows/webhooks.ts) delivers it at least once to every subscription of
-- its type that existed when it was emitted.
--
--   select ops.f_emit_event('conversion.recorded', jsonb_build_object('conversion_id', 42, ...));
--   select ops.f_emit_events('contact.promoted', jsonb_agg(...));   -- a set at once
--
-- Types: contact.promoted, reply.received, email.bounced, contact.unsubscribed,
-- conversion.recorded, campaign.completed (ops.events' check constraint). Payloads are small
-- JSON objects of ids and the facts a receiver needs; they are sent as the body's "data".
-- Nothing is stored when no subscription wants the type, so emitting is cheap when unused.
--
-- Every function here that writes ops.* runs as its owner (SECURITY DEFINER, search_path pinned,
-- every name schema-qualified): the processes' role, and the invoker functions of other schemas
-- that emit, read these tables and cannot write them directly.

-- Emits a set of events of one type (p_payloads: a jsonb array of objects). Returns how many.
create or replace function ops.f_emit_events(p_type text, p_payloads jsonb) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_count integer;
begin
  if p_payloads is null or jsonb_array_length(p_payloads) = 0 then return 0; end if;
  if not exists (select 1 from ops.webhook_subscriptions where deleted_at is null and event_types @> array[p_type]) then
    return 0;
  end if;
  with ev as (
    insert into ops.events (event_type, payload)
    select p_type, x from jsonb_array_elements(p_payloads) as x
    returning event_id
  ), d as (
    insert into ops.webhook_deliveries (event_id, subscription_id)
    select ev.event_id, s.subscription_id
      from ev cross join ops.webhook_subscriptions s
     where s.deleted_at is null and s.event_types @> array[p_type]
    returning 1
  )
  select count(*)::int into v_count from ev;
  -- delivered at commit, never for a rolled-back change: the worker's listener wakes the dispatcher
  perform pg_notify('ops_webhook_events', p_type);
  return v_count;
end $$;

-- Emits one event; returns its id, or null when no subscription wants the type.
create or replace function ops.f_emit_event(p_type text, p_payload jsonb) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_id bigint;
begin
  if not exists (select 1 from ops.webhook_subscriptions where deleted_at is null and event_types @> array[p_type]) then
    return null;
  end if;
  insert into ops.events (event_type, payload) values (p_type, p_payload) returning event_id into v_id;
  insert into ops.webhook_deliveries (event_id, subscription_id)
  select v_id, s.subscription_id from ops.webhook_subscriptions s
   where s.deleted_at is null and s.event_types @> array[p_type];
  perform pg_notify('ops_webhook_events', p_type);
  return v_id;
end $$;

-- contact.promoted for the loads of p_load_ids this transaction promoted (promoted_at is the
-- transaction's start, now()): one event per load, with whether it created its contact.
create or replace function ops.f_emit_contacts_promoted(p_load_ids bigint[]) returns integer
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select ops.f_emit_events('contact.promoted', coalesce(jsonb_agg(jsonb_build_object(
           'contact_id', l.contact_id, 'email', l.email, 'load_id', l.load_id, 'batch_id', l.batch_id,
           'source', l.source, 'created', c.first_load_id = l.load_id) order by l.load_id), '[]'))
    from intake.raw_loads l join vault.contacts c on c.contact_id = l.contact_id
   where l.load_id = any(p_load_ids) and l.status = 'promoted' and l.promoted_at = now()
     -- the cheap test first: nothing is read when nobody subscribed
     and exists (select 1 from ops.webhook_subscriptions where deleted_at is null and event_types @> array['contact.promoted'])
$$;

-- Subscriptions (the API's /webhooks routes).

create or replace function ops.f_create_webhook_subscription(p_url text, p_event_types text[], p_secret text,
                                                             p_description text, p_created_by text)
returns ops.webhook_subscriptions language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  insert into ops.webhook_subscriptions (url, event_types, secret, description, created_by)
  values (p_url, p_event_types, p_secret, p_description, p_created_by)
  returning *
$$;

-- Ends a subscription: nothing new is emitted to it, and its pending deliveries are cancelled.
-- False when there is no live subscription with this id.
create or replace function ops.f_delete_webhook_subscription(p_subscription_id bigint) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  update ops.webhook_subscriptions set deleted_at = now() where subscription_id = p_subscription_id and deleted_at is null;
  if not found then return false; end if;
  update ops.webhook_deliveries set status = 'cancelled' where subscription_id = p_subscription_id and status = 'pending';
  return true;
end $$;

-- Deliveries (the dispatcher and the delivery activities).

create or replace function ops.f_mark_deliveries_dispatched(p_delivery_ids bigint[]) returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  update ops.webhook_deliveries set dispatched_at = now() where delivery_id = any(p_delivery_ids) and dispatched_at is null
$$;

-- Counts an attempt before it is made (a crash mid-attempt still counts): the attempt's number,
-- no row when there is no such delivery.
create or replace function ops.f_begin_delivery_attempt(p_delivery_id bigint) returns table (attempts integer)
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  update ops.webhook_deliveries d set attempts = d.attempts + 1, last_attempt_at = now()
   where d.delivery_id = p_delivery_id
  returning d.attempts
$$;

create or replace function ops.f_record_delivery_attempt(p_delivery_id bigint, p_status integer, p_error text, p_delivered boolean)
returns void language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  update ops.webhook_deliveries
     set last_status = p_status, last_error = p_error,
         status = case when p_delivered then 'delivered' else status end,
         delivered_at = case when p_delivered then now() else delivered_at end
   where delivery_id = p_delivery_id
$$;

-- Ends a pending delivery that will not be attempted again (retries exhausted, refused, subscription gone).
create or replace function ops.f_settle_delivery(p_delivery_id bigint, p_status text, p_reason text) returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  update ops.webhook_deliveries set status = p_status, last_error = coalesce(p_reason, last_error)
   where delivery_id = p_delivery_id and status = 'pending'
$$;
