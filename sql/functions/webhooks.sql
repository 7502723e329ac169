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

-- Emits a set of events of one type (p_payloads: a jsonb array of objects). Returns how many.
create or replace function ops.f_emit_events(p_type text, p_payloads jsonb) returns integer
language plpgsql as $$
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
language plpgsql as $$
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
language sql as $$
  select ops.f_emit_events('contact.promoted', coalesce(jsonb_agg(jsonb_build_object(
           'contact_id', l.contact_id, 'email', l.email, 'load_id', l.load_id, 'batch_id', l.batch_id,
           'source', l.source, 'created', c.first_load_id = l.load_id) order by l.load_id), '[]'))
    from intake.raw_loads l join vault.contacts c on c.contact_id = l.contact_id
   where l.load_id = any(p_load_ids) and l.status = 'promoted' and l.promoted_at = now()
     -- the cheap test first: nothing is read when nobody subscribed
     and exists (select 1 from ops.webhook_subscriptions where deleted_at is null and event_types @> array['contact.promoted'])
$$;
