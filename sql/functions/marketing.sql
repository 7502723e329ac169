-- Campaign sending: token buckets, claim/confirm of sends, sending windows, tracking events.
-- Every function here that writes marketing.* runs as its owner (SECURITY DEFINER, search_path
-- pinned, every name schema-qualified): the processes' role reads the marketing tables and cannot
-- write them directly (issue 10).

-- Time zone for a recipient from the contact's country, where the country has one zone.
-- Others (US, CA, AU, BR, RU, ...) fall back to the campaign's zone.
create or replace function marketing.f_country_time_zone(p_country text) returns text
language sql immutable as $$
  select case upper(trim(coalesce(p_country, '')))
    when 'GB' then 'Europe/London' when 'UK' then 'Europe/London' when 'UNITED KINGDOM' then 'Europe/London'
    when 'IE' then 'Europe/Dublin' when 'IRELAND' then 'Europe/Dublin'
    when 'DE' then 'Europe/Berlin' when 'GERMANY' then 'Europe/Berlin'
    when 'FR' then 'Europe/Paris' when 'FRANCE' then 'Europe/Paris'
    when 'NL' then 'Europe/Amsterdam' when 'NETHERLANDS' then 'Europe/Amsterdam'
    when 'ES' then 'Europe/Madrid' when 'SPAIN' then 'Europe/Madrid'
    when 'IT' then 'Europe/Rome' when 'ITALY' then 'Europe/Rome'
    when 'SE' then 'Europe/Stockholm' when 'SWEDEN' then 'Europe/Stockholm'
    when 'PL' then 'Europe/Warsaw' when 'POLAND' then 'Europe/Warsaw'
    when 'CH' then 'Europe/Zurich' when 'SWITZERLAND' then 'Europe/Zurich'
    when 'IN' then 'Asia/Kolkata' when 'INDIA' then 'Asia/Kolkata'
    when 'JP' then 'Asia/Tokyo' when 'JAPAN' then 'Asia/Tokyo'
    when 'SG' then 'Asia/Singapore' when 'SINGAPORE' then 'Asia/Singapore'
    when 'IL' then 'Asia/Jerusalem' when 'ISRAEL' then 'Asia/Jerusalem'
    when 'AE' then 'Asia/Dubai' when 'UNITED ARAB EMIRATES' then 'Asia/Dubai'
    when 'NZ' then 'Pacific/Auckland' when 'NEW ZEALAND' then 'Pacific/Auckland'
    when 'ZA' then 'Africa/Johannesburg' when 'SOUTH AFRICA' then 'Africa/Johannesburg'
    else null end
$$;

-- Is `p_at` inside the window (ISO weekdays, local start/end) in zone p_tz? No window: always.
create or replace function marketing.f_in_window(p_at timestamptz, p_tz text, p_days smallint[], p_start time, p_end time)
returns boolean language sql stable as $$
  select p_start is null or (
    extract(isodow from (p_at at time zone p_tz))::smallint = any(p_days)
    and (p_at at time zone p_tz)::time >= p_start
    and (p_at at time zone p_tz)::time < p_end)
$$;

-- The first moment at or after p_at that is inside the window.
create or replace function marketing.f_next_window_open(p_at timestamptz, p_tz text, p_days smallint[], p_start time, p_end time)
returns timestamptz language sql stable as $$
  select case when marketing.f_in_window(p_at, p_tz, p_days, p_start, p_end) then p_at else (
    select min(((((p_at at time zone p_tz)::date + d) + p_start) at time zone p_tz))
    from generate_series(0, 7) as d
    where extract(isodow from ((p_at at time zone p_tz)::date + d))::smallint = any(p_days)
      and ((((p_at at time zone p_tz)::date + d) + p_start) at time zone p_tz) > p_at)
  end
$$;

-- The one writer of marketing.campaigns.status. The moves a campaign can make:
--   draft <-> scheduled                 a schedule is created or deleted
--   draft, scheduled, completed -> running   a run starts (a schedule runs a campaign again)
--   running <-> paused                  pause and resume
--   running, paused -> completed, cancelled  a run ends
--   completed <-> cancelled             a run ends after another run of the same campaign
--                                       ended, or after everything was sent but before the
--                                       cancel reached the workflow
--   draft, scheduled -> cancelled       a run that never got past its start is cancelled
-- A cancelled campaign never runs again. Staying put is always allowed and writes nothing;
-- anything else raises SQLSTATE CS001. p_only_from is the caller's precondition: when the
-- status is not one of these, nothing changes. Returns whether the campaign now has p_to
-- (false: no such campaign, or the precondition did not hold).
create or replace function marketing.f_transition_campaign(p_campaign_id bigint, p_to text, p_only_from text[] default null)
returns boolean language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_from text;
begin
  select status into v_from from marketing.campaigns where campaign_id = p_campaign_id for update;
  if not found then return false; end if;
  if p_only_from is not null and not (v_from = any(p_only_from)) then return false; end if;
  if v_from = p_to then return true; end if;
  if not (p_to = any(case v_from
      when 'draft' then array['scheduled', 'running', 'cancelled']
      when 'scheduled' then array['draft', 'running', 'cancelled']
      when 'running' then array['paused', 'completed', 'cancelled']
      when 'paused' then array['running', 'completed', 'cancelled']
      when 'completed' then array['running', 'cancelled']
      when 'cancelled' then array['completed']
      else array[]::text[] end)) then
    raise exception 'campaign % is %: it cannot become %', p_campaign_id, v_from, p_to using errcode = 'CS001';
  end if;
  update marketing.campaigns set status = p_to, updated_at = now() where campaign_id = p_campaign_id;
  -- every move is audited, by whoever the transaction's audit context names (issue 10)
  perform intake.f_audit(case
      when p_to = 'running' and v_from = 'paused' then 'campaign_resumed'
      when p_to = 'running' then 'campaign_started'
      when p_to = 'draft' then 'campaign_unscheduled'
      else 'campaign_' || p_to end,
    'campaign', p_campaign_id::text, jsonb_build_object('status', v_from), jsonb_build_object('status', p_to));
  return true;
end $$;

-- Takes up to p_want tokens from every bucket in p_keys at once (the smallest grant wins), so a
-- campaign's rate and its sending domain's cap hold across all workers. Rows are locked in key
-- order, so concurrent callers never deadlock. wait_ms: how long until the next token.
create or replace function marketing.f_take_send_tokens(p_keys text[], p_rates_per_minute double precision[], p_want integer)
returns table (granted integer, wait_ms integer) language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_granted double precision := p_want;
  v_wait double precision := 0;
  r record;
begin
  insert into marketing.send_buckets (bucket_key, tokens, rate_per_sec, burst)
  select k, greatest(1, rpm / 60), rpm / 60, greatest(1, rpm / 60)
  from unnest(p_keys, p_rates_per_minute) as t(k, rpm)
  order by k
  on conflict (bucket_key) do update
    set rate_per_sec = excluded.rate_per_sec, burst = excluded.burst
    where send_buckets.rate_per_sec is distinct from excluded.rate_per_sec;

  for r in
    select b.bucket_key, b.rate_per_sec,
           least(b.burst, b.tokens + extract(epoch from clock_timestamp() - b.updated_at) * b.rate_per_sec) as avail
    from marketing.send_buckets b where b.bucket_key = any(p_keys) order by b.bucket_key for update
  loop
    v_granted := least(v_granted, floor(r.avail));
    if r.avail < 1 then v_wait := greatest(v_wait, (1 - r.avail) / r.rate_per_sec); end if;
  end loop;
  v_granted := greatest(0, v_granted);

  update marketing.send_buckets b
     set tokens = least(b.burst, b.tokens + extract(epoch from clock_timestamp() - b.updated_at) * b.rate_per_sec) - v_granted,
         updated_at = clock_timestamp()
   where b.bucket_key = any(p_keys);
  granted := v_granted::integer;
  wait_ms := ceil(v_wait * 1000)::integer;
  return next;
end $$;

-- Gives back tokens that were taken but not used (fewer sends were due than granted).
create or replace function marketing.f_return_send_tokens(p_keys text[], p_count integer) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  update marketing.send_buckets set tokens = least(burst, tokens + p_count) where bucket_key = any(p_keys) and p_count > 0
$$;

-- Ends a contact's later queued steps when one of its steps ended without a send.
create or replace function marketing.f_end_later_steps(p_campaign_id bigint, p_contact_ids bigint[], p_status text, p_reason text)
returns void language sql security definer set search_path = pg_catalog, pg_temp as $$
  update marketing.outreach_history
     set status = p_status, failure_reason = p_reason
   where campaign_id = p_campaign_id and contact_id = any(p_contact_ids) and status = 'queued'
$$;

-- Claims the next due sends of a campaign: rows still held by an earlier attempt of this
-- sender (a retried activity after a crash) come back first, then queued rows that are due and inside the recipient's window.
-- Rows whose contact replied in this campaign are stopped; suppressed contacts are suppressed
-- (with their later steps). Committed before any SMTP call: the claim is the send's intent.
drop function if exists marketing.f_claim_sends(bigint, text, integer, integer);
drop function if exists marketing.f_claim_sends(bigint, text, text, integer, integer);
-- p_now is campaign time (due times, windows); leases are the sender processes' wall-clock time.
create or replace function marketing.f_claim_sends(p_campaign_id bigint, p_claim_chain text, p_claim_token text, p_limit integer, p_lease_seconds integer,
                                                   p_now timestamptz default now())
returns table (outreach_id bigint, contact_id bigint, step_no smallint, email text, action text, reclaimed boolean)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  c marketing.campaigns;
begin
  select * into c from marketing.campaigns where campaign_id = p_campaign_id;

  create temporary table if not exists pg_temp.claim_candidates (
    outreach_id bigint, contact_id bigint, step_no smallint, email text, reclaimed boolean, action text
  ) on commit drop;
  truncate pg_temp.claim_candidates;

  insert into pg_temp.claim_candidates
  select h.outreach_id, h.contact_id, h.step_no, h.email, true, null
  from marketing.outreach_history h
  where h.campaign_id = p_campaign_id and h.status = 'sending'
    -- an earlier attempt of this sender (same chain, other token) is known dead: Temporal only
    -- retries after its heartbeat timed out; anyone else's claim is respected until its lease ends
    and h.claim_token <> p_claim_token
    and (starts_with(h.claim_token, p_claim_chain || '#') or h.lease_until < now())
  order by h.outreach_id
  limit p_limit
  for update skip locked;

  insert into pg_temp.claim_candidates
  select h.outreach_id, h.contact_id, h.step_no, h.email, false, null
  from marketing.outreach_history h
  where h.campaign_id = p_campaign_id and h.status = 'queued' and h.due_at <= p_now
    and marketing.f_in_window(p_now, coalesce(h.time_zone, c.time_zone), c.window_days, c.window_start, c.window_end)
  order by h.due_at, h.outreach_id
  limit greatest(0, p_limit - (select count(*) from pg_temp.claim_candidates))
  for update skip locked;

  update pg_temp.claim_candidates k set action = case
    when exists (select 1 from marketing.outreach_history r
                 where r.campaign_id = p_campaign_id and r.contact_id = k.contact_id and r.replied_at is not null) then 'stopped'
    when exists (select 1 from marketing.suppressions s where s.email = k.email)
      or exists (select 1 from vault.contacts v where v.contact_id = k.contact_id and v.status <> 'active') then 'suppressed'
    else 'send' end;
  update marketing.outreach_history h
     set status = 'sending', claim_token = p_claim_token, lease_until = now() + make_interval(secs => p_lease_seconds),
         attempts = h.attempts + 1,
         -- set once, at the first claim, and committed before SMTP: every retry sends the same
         -- Message-ID. 122 random bits make it unguessable (replies and bounces prove with it
         -- that they answer our mail); the outreach_id in it finds the row by primary key.
         message_id = coalesce(h.message_id, '<oh.' || h.outreach_id || '.' || replace(gen_random_uuid()::text, '-', '')
                                             || '@' || split_part(c.from_email, '@', 2) || '>')
    from pg_temp.claim_candidates k
   where h.outreach_id = k.outreach_id and k.action = 'send';

  update marketing.outreach_history h
     set status = k.action, claim_token = null, lease_until = null,
         failure_reason = case k.action when 'stopped' then 'contact replied' else 'contact suppressed' end
    from pg_temp.claim_candidates k
   where h.outreach_id = k.outreach_id and k.action <> 'send';
  perform marketing.f_end_later_steps(p_campaign_id, array_agg(k.contact_id), 'stopped', 'contact replied')
     from pg_temp.claim_candidates k where k.action = 'stopped';
  perform marketing.f_end_later_steps(p_campaign_id, array_agg(k.contact_id), 'suppressed', 'contact suppressed')
     from pg_temp.claim_candidates k where k.action = 'suppressed';

  return query select k.outreach_id, k.contact_id, k.step_no, k.email, k.action, k.reclaimed
                 from pg_temp.claim_candidates k order by k.outreach_id;
end $$;

-- Confirms sends the SMTP server accepted; makes the next step due `delay` later; counts them.
-- One SQL statement (planned per call: a cached generic plan chose scans as the table grew).
-- The next step is found by its unique key; its status is not tested, so that index is used
-- (a due_at on a stopped row is harmless: only queued rows are claimed).
drop function if exists marketing.f_confirm_sends(bigint, bigint[], text[]);
drop function if exists marketing.f_confirm_sends(bigint, bigint[], text[], timestamptz);
create function marketing.f_confirm_sends(p_campaign_id bigint, p_ids bigint[], p_responses text[], p_now timestamptz default now())
returns integer language sql security definer set search_path = pg_catalog, pg_temp as $$
  with done as (
    update marketing.outreach_history h
       set status = 'sent', sent_at = p_now, smtp_response = t.resp, claim_token = null, lease_until = null
      from unnest(p_ids, p_responses) as t(id, resp)
     -- claim_token is set exactly while a row is 'sending'; testing it (not status) keeps the
     -- planner on the primary key instead of the partial index full of dead claim versions
     where h.outreach_id = t.id and h.claim_token is not null
    returning h.contact_id, h.step_no
  ), nxt as (
    update marketing.outreach_history n
       set due_at = p_now + make_interval(secs => s.delay_seconds)
      from done d
      join marketing.campaign_steps s on s.campaign_id = p_campaign_id and s.step_no = d.step_no + 1
     where n.campaign_id = p_campaign_id and n.contact_id = d.contact_id and n.step_no = d.step_no + 1
       and n.due_at is null
    returning 1
  ), counted as (
    update marketing.campaigns set sent_count = sent_count + (select count(*) from done), updated_at = now()
     where campaign_id = p_campaign_id and exists (select 1 from done)
    returning 1
  )
  select count(*)::integer from done
$$;

-- The SMTP server refused these for good: they fail, and so do the contact's later steps.
create or replace function marketing.f_fail_sends(p_campaign_id bigint, p_ids bigint[], p_reasons text[])
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_contacts bigint[];
begin
  with failed as (
    update marketing.outreach_history h
       set status = 'failed', failure_reason = t.reason, claim_token = null, lease_until = null
      from unnest(p_ids, p_reasons) as t(id, reason)
     where h.outreach_id = t.id and h.status = 'sending'
    returning h.contact_id
  ) select array_agg(contact_id) into v_contacts from failed;
  perform marketing.f_end_later_steps(p_campaign_id, v_contacts, 'failed', 'an earlier step failed');
end $$;

-- Sends the SMTP server refused for now (4xx, before acceptance): back in the queue.
create or replace function marketing.f_release_sends(p_ids bigint[]) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  update marketing.outreach_history set status = 'queued', claim_token = null, lease_until = null
   where outreach_id = any(p_ids) and status = 'sending'
$$;

-- What is left of a campaign and how long until the next send can go out (window-aware).
-- Due times count in campaign time (p_now); another sender's lease in wall-clock time.
drop function if exists marketing.f_campaign_outlook(bigint);
create or replace function marketing.f_campaign_outlook(p_campaign_id bigint, p_now timestamptz default now())
returns table (remaining integer, wait_ms bigint) language sql stable as $$
  with c as (select * from marketing.campaigns where campaign_id = p_campaign_id),
  open_rows as (
    select h.status, h.due_at, coalesce(h.time_zone, c.time_zone) as tz
      from marketing.outreach_history h, c
     where h.campaign_id = p_campaign_id and h.status in ('queued', 'sending')
  ),
  next_due as (
    select min(marketing.f_next_window_open(greatest(m.due, p_now), m.tz, c.window_days, c.window_start, c.window_end)) - p_now as wait
      from (select tz, min(due_at) as due from open_rows where status = 'queued' and due_at is not null group by tz) m, c
  )
  , next_lease as (
    -- rows another sender still holds: look again when its lease runs out
    select min(h.lease_until) - now() as wait from marketing.outreach_history h
     where h.campaign_id = p_campaign_id and h.status = 'sending'
  )
  select (select count(*)::integer from open_rows),
         (select case when least(n.wait, l.wait) is not null   -- greatest() would turn null into 0
                      then greatest(0, ceil(extract(epoch from least(n.wait, l.wait)) * 1000))::bigint end
            from next_due n, next_lease l)
$$;

-- Per-step counts, as the progress query and the metrics endpoint report them.
create or replace function marketing.f_step_progress(p_campaign_id bigint)
returns table (step_no smallint, total integer, queued integer, sending integer, sent integer, failed integer,
               stopped integer, suppressed integer, cancelled integer, opened integer, clicked integer,
               replied integer, bounced integer, unsubscribed integer)
language sql stable as $$
  select h.step_no, count(*)::int,
         count(*) filter (where status = 'queued')::int, count(*) filter (where status = 'sending')::int,
         count(*) filter (where status = 'sent')::int, count(*) filter (where status = 'failed')::int,
         count(*) filter (where status = 'stopped')::int, count(*) filter (where status = 'suppressed')::int,
         count(*) filter (where status = 'cancelled')::int,
         count(opened_at)::int, count(clicked_at)::int, count(replied_at)::int,
         count(*) filter (where bounce_type in ('hard', 'complaint') or (bounce_type = 'soft'))::int,
         count(unsubscribed_at)::int
    from marketing.outreach_history h
   where h.campaign_id = p_campaign_id
   group by h.step_no order by h.step_no
$$;

-- Tracking events. Each writes its marketing.engagement_events row (f_record_engagement), the
-- outreach_history timestamp and an audit row; all return whether the outreach row exists.
--
-- opened_at/open_count and clicked_at/click_count count people only: an image proxy prefetching
-- the pixel or a scanner following every link would otherwise mark nearly every send opened and
-- clicked. Machine opens and bot clicks are kept in engagement_events with their verdict.
drop function if exists marketing.f_track_open(bigint);
create or replace function marketing.f_track_open(p_outreach_id bigint, p_verdict text, p_agent_class text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if not marketing.f_record_engagement(p_outreach_id, 'open', p_verdict, p_agent_class, null, '{}', null) then return false; end if;
  if p_verdict = 'human' then
    update marketing.outreach_history set opened_at = coalesce(opened_at, now()), open_count = open_count + 1
     where outreach_id = p_outreach_id;
  end if;
  insert into intake.audit_log (actor, action, entity, entity_id, after)
  values ('tracking', 'email_opened', 'outreach', p_outreach_id::text, jsonb_build_object('verdict', p_verdict, 'agent_class', p_agent_class));
  return true;
end $$;

drop function if exists marketing.f_track_click(bigint, text);
create or replace function marketing.f_track_click(p_outreach_id bigint, p_url text, p_verdict text, p_agent_class text, p_honeypot boolean)
returns boolean language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if not marketing.f_record_engagement(p_outreach_id, 'click', p_verdict, p_agent_class, p_url,
                                       case when p_honeypot then '{"honeypot": true}'::jsonb else '{}' end, null) then
    return false;
  end if;
  if p_verdict = 'human' then
    update marketing.outreach_history
       set clicked_at = coalesce(clicked_at, now()), click_count = click_count + 1, opened_at = coalesce(opened_at, now())
     where outreach_id = p_outreach_id;
  end if;
  insert into intake.audit_log (actor, action, entity, entity_id, after)
  values ('tracking', 'email_clicked', 'outreach', p_outreach_id::text,
          jsonb_build_object('url', p_url, 'verdict', p_verdict, 'agent_class', p_agent_class, 'honeypot', p_honeypot));
  return true;
end $$;

-- Unsubscribes the contact everywhere: contact status, suppression list, the row's timestamp.
create or replace function marketing.f_unsubscribe(p_outreach_id bigint, p_via text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_contact bigint;
  v_email text;
  v_campaign bigint;
  v_at timestamptz;
  v_before text;
begin
  update marketing.outreach_history set unsubscribed_at = coalesce(unsubscribed_at, now())
   where outreach_id = p_outreach_id returning contact_id, email, campaign_id, unsubscribed_at into v_contact, v_email, v_campaign, v_at;
  if not found then return false; end if;
  -- one unsubscribe event (and one outbound webhook) per send, however often its link is posted
  if marketing.f_record_engagement(p_outreach_id, 'unsubscribe', 'human', null, null, jsonb_build_object('via', p_via),
                                   'unsubscribe:' || p_outreach_id) then
    perform ops.f_emit_event('contact.unsubscribed', jsonb_build_object('contact_id', v_contact, 'email', v_email,
              'campaign_id', v_campaign, 'outreach_id', p_outreach_id, 'via', p_via, 'at', v_at));
  end if;
  select status into v_before from vault.contacts where contact_id = v_contact for update;
  update vault.contacts set status = 'unsubscribed', version = version + 1, updated_at = now()
   where contact_id = v_contact and status = 'active';
  insert into marketing.suppressions (email, reason, source, outreach_id) values (v_email, 'unsubscribed', p_via, p_outreach_id)
  on conflict (email) do nothing;
  insert into intake.audit_log (actor, action, entity, entity_id, before, after)
  values ('tracking', 'contact_unsubscribed', 'contact', v_contact::text, jsonb_build_object('status', v_before),
          jsonb_build_object('status', case when v_before = 'active' then 'unsubscribed' else v_before end,
                             'outreach_id', p_outreach_id, 'via', p_via));
  return true;
end $$;

-- A reply: stops the contact's later steps in this campaign (checked at claim time) and
-- counts once per contact in the campaign's response_count. p_dedupe_key is the reply's own
-- identity (its Message-ID, its place in a mailbox): a reply delivered again changes nothing.
drop function if exists marketing.f_record_reply(bigint, jsonb);
create or replace function marketing.f_record_reply(p_outreach_id bigint, p_details jsonb, p_dedupe_key text default null) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_campaign bigint;
  v_contact bigint;
  v_first boolean;
begin
  select campaign_id, contact_id into v_campaign, v_contact from marketing.outreach_history where outreach_id = p_outreach_id;
  if not found then return false; end if;
  if not marketing.f_record_engagement(p_outreach_id, 'reply', 'human', null, null, p_details, p_dedupe_key) then
    return true; -- recorded before
  end if;
  perform 1 from marketing.campaigns where campaign_id = v_campaign for update;
  v_first := not exists (select 1 from marketing.outreach_history
                          where campaign_id = v_campaign and contact_id = v_contact and replied_at is not null);
  update marketing.outreach_history set replied_at = coalesce(replied_at, now()) where outreach_id = p_outreach_id;
  perform ops.f_emit_event('reply.received', jsonb_build_object('contact_id', h.contact_id, 'email', h.email,
            'campaign_id', h.campaign_id, 'outreach_id', h.outreach_id, 'step_no', h.step_no, 'at', now()))
     from marketing.outreach_history h where h.outreach_id = p_outreach_id;
  if v_first then
    update marketing.campaigns set response_count = response_count + 1, updated_at = now() where campaign_id = v_campaign;
  end if;
  insert into intake.audit_log (actor, action, entity, entity_id, after)
  values ('tracking', 'reply_received', 'outreach', p_outreach_id::text, p_details);
  return true;
end $$;

-- An automatic reply (out of office, vacation, RFC 3834 Auto-Submitted): counted as what it is,
-- and it does not stop the sequence: nobody has answered yet.
create or replace function marketing.f_record_auto_reply(p_outreach_id bigint, p_details jsonb, p_dedupe_key text default null) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if not exists (select 1 from marketing.outreach_history where outreach_id = p_outreach_id) then return false; end if;
  if not marketing.f_record_engagement(p_outreach_id, 'auto_reply', 'machine', null, null, p_details, p_dedupe_key) then
    return true; -- recorded before
  end if;
  insert into intake.audit_log (actor, action, entity, entity_id, after)
  values ('tracking', 'auto_reply_received', 'outreach', p_outreach_id::text, p_details);
  return true;
end $$;

-- Bounces and complaints. Hard bounces and complaints suppress the address in every campaign;
-- soft bounces are only counted. They count only for mail we sent: p_outreach_id is the row the
-- event's Message-ID named (the caller checked the whole Message-ID), else the address's latest
-- sent row. An event for an address we never mailed changes nothing and returns false: anyone
-- could otherwise suppress any address for good. p_dedupe_key: the event's own identity, when it
-- has one (a DSN's place in a mailbox); p_source: who reported it (webhook, mailbox).
drop function if exists marketing.f_record_bounce(text, text, bigint, jsonb);
create or replace function marketing.f_record_bounce(p_email text, p_kind text, p_outreach_id bigint, p_details jsonb,
                                                     p_dedupe_key text default null, p_source text default 'webhook')
returns boolean language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_email text := lower(trim(p_email));
  v_row bigint := p_outreach_id;
  v_contact bigint;
  v_before text;
  v_status text := case p_kind when 'complaint' then 'do_not_contact' else 'bounced' end;
begin
  if v_row is not null then
    -- the address the message went to, whatever the event says
    select email into v_email from marketing.outreach_history where outreach_id = v_row;
    if not found then return false; end if;
  elsif v_email is not null and v_email <> '' then
    -- the address's latest sent message; else one being sent: accepted by the server, its
    -- confirmation not committed yet (sends are confirmed in groups, SEND_CONFIRM_GROUP_MS)
    select h.outreach_id into v_row from vault.contacts c join marketing.outreach_history h on h.contact_id = c.contact_id
     where c.email = v_email and h.email = v_email and h.status in ('sent', 'sending') and h.message_id is not null
     order by h.status = 'sent' desc, h.sent_at desc nulls last, h.outreach_id desc limit 1;
  end if;
  if v_row is null then return false; end if;
  if not marketing.f_record_engagement(v_row, case p_kind when 'hard' then 'hard_bounce' when 'soft' then 'soft_bounce' else 'complaint' end,
                                       case p_kind when 'complaint' then 'human' else 'machine' end, null, null,
                                       p_details || jsonb_build_object('source', p_source), p_dedupe_key) then
    return true; -- recorded before
  end if;
  if p_kind = 'soft' then
    update marketing.outreach_history
       set soft_bounces = soft_bounces + 1, bounce_type = coalesce(bounce_type, 'soft'), bounced_at = coalesce(bounced_at, now())
     where outreach_id = v_row;
  else
    update marketing.outreach_history set bounce_type = p_kind, bounced_at = now() where outreach_id = v_row;
    insert into marketing.suppressions (email, reason, source, outreach_id)
    values (v_email, case p_kind when 'complaint' then 'complained' else 'bounced' end, p_source, v_row)
    on conflict (email) do update set reason = excluded.reason
      where marketing.suppressions.reason not in ('complained', 'bounced');
    select contact_id, status into v_contact, v_before from vault.contacts where email = v_email for update;
    update vault.contacts set status = v_status, version = version + 1, updated_at = now()
     where contact_id = v_contact and status in ('active', 'unsubscribed', 'bounced') and status <> v_status;
  end if;
  perform ops.f_emit_event('email.bounced', jsonb_build_object('email', v_email, 'kind', p_kind, 'outreach_id', v_row,
            'contact_id', h.contact_id, 'campaign_id', h.campaign_id, 'at', now()))
     from marketing.outreach_history h where h.outreach_id = v_row;
  insert into intake.audit_log (actor, action, entity, entity_id, before, after)
  values ('tracking', case p_kind when 'complaint' then 'complaint_received' else 'bounce_received' end,
          'contact', coalesce(v_contact::text, v_email),
          case when v_before is null then null else jsonb_build_object('status', v_before) end,
          p_details || jsonb_build_object('kind', p_kind, 'email', v_email, 'outreach_id', v_row));
  return true;
end $$;

-- Lifts a suppression (an admin's decision, audited with before and after). The contact's status
-- goes back to active when the suppression had set it: bounced for a bounce, do_not_contact for a
-- complaint, unsubscribed for an unsubscribe. Returns the entry lifted, or null when there was none.
create or replace function marketing.f_lift_suppression(p_email text, p_actor text, p_note text)
returns jsonb language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  s marketing.suppressions;
  v_contact bigint;
  v_before text;
  v_after text;
  v_set_by text;   -- the contact status this kind of suppression sets
begin
  delete from marketing.suppressions where email = p_email returning * into s;
  if not found then return null; end if;
  select contact_id, status into v_contact, v_before from vault.contacts where email = p_email for update;
  v_after := v_before;
  v_set_by := case s.reason when 'bounced' then 'bounced' when 'complained' then 'do_not_contact'
                            when 'unsubscribed' then 'unsubscribed' end;
  if v_before = v_set_by then
    update vault.contacts set status = 'active', version = version + 1, updated_at = now() where contact_id = v_contact;
    v_after := 'active';
  end if;
  insert into intake.audit_log (actor, action, entity, entity_id, before, after)
  values (p_actor, 'suppression_lifted', 'suppression', p_email,
          jsonb_build_object('suppression', jsonb_build_object('reason', s.reason, 'source', s.source, 'outreach_id', s.outreach_id,
                                                               'created_at', s.created_at),
                             'contact_id', v_contact, 'contact_status', v_before),
          jsonb_build_object('suppression', null, 'contact_id', v_contact, 'contact_status', v_after, 'note', p_note));
  return jsonb_build_object('reason', s.reason, 'contact_status_before', v_before, 'contact_status', v_after);
end $$;
