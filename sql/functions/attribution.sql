-- Conversions and multi-touch attribution (tables: migration 0020). A conversion's touches are
-- its contact's sends (outreach_history 'sent'), human opens, human clicks and human replies
-- (engagement_events) within the lookback window before it, in time order. Each model gives
-- every touch a weight; marketing.f_split_units turns the weights into whole minor units of the
-- conversion's value that sum to it exactly.
-- The writers run as their owner (SECURITY DEFINER, search_path pinned, every name
-- schema-qualified): the processes' role reads these tables and cannot write them directly.

-- Splits p_units (a value in minor units: cents) over weights (>= 0) so the parts sum to
-- exactly p_units, none is negative, and each is within one unit of its exact share: part i is
-- round(units x cumulative weight up to i / total) minus the same up to i-1 (the rounding
-- remainder goes deterministically where the cumulative share crosses a unit). The last
-- cumulative share is the whole value, so the parts add up.
create or replace function marketing.f_split_units(p_units bigint, p_weights numeric[]) returns bigint[]
language sql immutable as $$
  select array_agg(cu - prev order by i) from (
    select i, cu, coalesce(lag(cu) over (order by i), 0) as prev from (
      select i, case when cw >= tw then p_units else least(p_units, round(p_units * cw / tw))::bigint end as cu
        from (select i, sum(w) over (order by i) as cw, sum(w) over () as tw
                from unnest(p_weights) with ordinality as t(w, i)) a) b) c
$$;

-- Each model's weight for touch touch_no of n, at age_seconds before the conversion.
create or replace function marketing.f_touch_weight(p_model text, p_touch_no bigint, p_n bigint, p_age_seconds double precision,
                                                    p_half_life_days numeric) returns numeric
language sql immutable as $$
  select case p_model
    when 'first_touch' then case when p_touch_no = 1 then 1 else 0 end
    when 'last_touch' then case when p_touch_no = p_n then 1 else 0 end
    when 'linear' then 1
    -- halves every half-life before the conversion
    -- (at least 2^-1000: a tiny half-life must not underflow, which Postgres raises as an error)
    when 'time_decay' then power(2::double precision,
                                 greatest(-1000, -greatest(p_age_seconds, 0) / (p_half_life_days::double precision * 86400)))::numeric
    -- 40% first, 40% last, 20% shared by the touches between (one touch: all; two: half each)
    when 'position_based' then case when p_n = 1 then 1 when p_n = 2 then 0.5
                                    when p_touch_no = 1 or p_touch_no = p_n then 0.4 else 0.2 / (p_n - 2) end
  end::numeric
$$;

-- (Re)computes the attribution of these conversions: their rows are replaced in one
-- transaction (the rollups follow through triggers). Returns the rows written.
create or replace function marketing.f_attribute_conversions(p_ids bigint[]) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_rows integer;
begin
  if coalesce(cardinality(p_ids), 0) = 0 then return 0; end if;
  delete from marketing.attribution where conversion_id = any(p_ids);
  with conv as materialized (
    select c.conversion_id, c.contact_id, c.currency, c.currency_scale, c.occurred_at,
           round(c.value * (10::numeric ^ c.currency_scale))::bigint as units,
           c.occurred_at - make_interval(days => s.lookback_days) as window_start, s.half_life_days
      from marketing.conversions c cross join marketing.attribution_settings s
     where c.conversion_id = any(p_ids)),
  touches as (
    select cv.conversion_id, 'send'::text as kind, 0 as rank, h.sent_at as at, h.outreach_id, null::bigint as event_id, h.campaign_id, h.step_no
      from conv cv join marketing.outreach_history h on h.contact_id = cv.contact_id
     where h.status = 'sent' and h.sent_at >= cv.window_start and h.sent_at <= cv.occurred_at
    union all
    select cv.conversion_id, e.kind, case e.kind when 'open' then 1 when 'click' then 2 else 3 end, e.occurred_at, e.outreach_id,
           e.event_id, e.campaign_id, e.step_no
      from conv cv join marketing.engagement_events e on e.contact_id = cv.contact_id
     where e.occurred_at >= cv.window_start and e.occurred_at <= cv.occurred_at
       and e.kind in ('open', 'click', 'reply') and e.verdict = 'human'),
  numbered as materialized (
    select t.*, row_number() over (partition by t.conversion_id order by t.at, t.rank, t.event_id nulls first, t.outreach_id) as touch_no,
           count(*) over (partition by t.conversion_id) as n
      from touches t),
  split as (
    select nb.conversion_id, m.model,
           array_agg(nb.touch_no order by nb.touch_no) as touch_nos,
           marketing.f_split_units(min(cv.units),
             array_agg(marketing.f_touch_weight(m.model, nb.touch_no, nb.n, extract(epoch from cv.occurred_at - nb.at)::double precision,
                                                cv.half_life_days) order by nb.touch_no)) as parts
      from numbered nb join conv cv using (conversion_id)
     cross join (values ('first_touch'), ('last_touch'), ('linear'), ('time_decay'), ('position_based')) m(model)
     group by 1, 2)
  insert into marketing.attribution (conversion_id, contact_id, outreach_id, campaign_id, step_no, model, touch_no, touch_kind,
                                     touched_at, event_id, credit, currency, converted_at)
  select s.conversion_id, cv.contact_id, nb.outreach_id, nb.campaign_id, nb.step_no, s.model, nb.touch_no, nb.kind, nb.at, nb.event_id,
         round(p.units::numeric / (10::numeric ^ cv.currency_scale), cv.currency_scale), cv.currency, cv.occurred_at
    from split s
    join conv cv using (conversion_id)
   cross join lateral unnest(s.touch_nos, s.parts) as p(touch_no, units)
    join numbered nb on nb.conversion_id = s.conversion_id and nb.touch_no = p.touch_no
   order by s.conversion_id, s.model, nb.touch_no;
  get diagnostics v_rows = row_count;
  return v_rows;
end $$;

-- Records conversions (rows: external_id, contact_id, type, value, currency, currency_scale,
-- occurred_at, details) and attributes the new ones in the same transaction. An external_id
-- already stored is not changed: its stored conversion is answered (created = false).
create or replace function marketing.f_record_conversions(p_rows jsonb, p_source text)
returns table (conversion_id bigint, external_id text, created boolean)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
#variable_conflict use_column
declare
  v_new bigint[];
begin
  with ins as (
    insert into marketing.conversions as c (external_id, contact_id, type, value, currency, currency_scale, occurred_at, source, details)
    select r.external_id, r.contact_id, r.type, r.value, r.currency, r.currency_scale, r.occurred_at, p_source, coalesce(r.details, '{}')
      from jsonb_to_recordset(p_rows) as r(external_id text, contact_id bigint, type text, value numeric, currency text,
                                           currency_scale smallint, occurred_at timestamptz, details jsonb)
    on conflict on constraint conversions_external_id_key do nothing
    returning c.conversion_id)
  select array_agg(ins.conversion_id) into v_new from ins;
  perform marketing.f_attribute_conversions(v_new);
  -- outbound webhooks (ops outbox), one event per new conversion, in this transaction
  perform ops.f_emit_events('conversion.recorded', coalesce(jsonb_agg(jsonb_build_object(
            'conversion_id', c.conversion_id, 'external_id', c.external_id, 'contact_id', c.contact_id, 'type', c.type,
            'value', c.value::text, 'currency', c.currency, 'occurred_at', c.occurred_at)), '[]'))
     from marketing.conversions c where c.conversion_id = any(coalesce(v_new, '{}'));
  return query
    select c.conversion_id, c.external_id, c.conversion_id = any(coalesce(v_new, '{}'))
      from marketing.conversions c
     where c.external_id in (select r.external_id from jsonb_to_recordset(p_rows) as r(external_id text));
end $$;

-- A message's first human reply as a conversion, when the settings say so: one per campaign and
-- contact (external_id reply:<campaign>:<contact>), at the reply's time, attributed at once.
create or replace function marketing.f_reply_conversions(p_outreach_ids bigint[]) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  s marketing.attribution_settings;
  v_rows jsonb;
begin
  select * into s from marketing.attribution_settings;
  if not s.reply_is_conversion then return 0; end if;
  select jsonb_agg(jsonb_build_object(
           'external_id', 'reply:' || r.campaign_id || ':' || r.contact_id, 'contact_id', r.contact_id, 'type', s.reply_type,
           'value', s.reply_value, 'currency', s.reply_currency, 'currency_scale', s.reply_currency_scale,
           'occurred_at', r.occurred_at, 'details', jsonb_build_object('outreach_id', r.outreach_id, 'event_id', r.event_id)))
    into v_rows
    from (select distinct on (e.campaign_id, e.contact_id) e.campaign_id, e.contact_id, e.outreach_id, e.event_id, e.occurred_at
            from marketing.engagement_events e
           where e.outreach_id = any(p_outreach_ids) and e.kind = 'reply' and e.verdict = 'human'
           order by e.campaign_id, e.contact_id, e.occurred_at, e.event_id) r;
  if v_rows is null then return 0; end if;
  return (select count(*) filter (where created) from marketing.f_record_conversions(v_rows, 'reply'));
end $$;

-- Changes the settings: each null keeps its current value.
create or replace function marketing.f_update_attribution_settings(p_lookback_days integer, p_half_life_days numeric,
  p_reply_is_conversion boolean, p_reply_type text, p_reply_value numeric, p_reply_currency text, p_reply_currency_scale smallint)
returns void language sql security definer set search_path = pg_catalog, pg_temp as $$
  update marketing.attribution_settings set
    lookback_days = coalesce(p_lookback_days, lookback_days), half_life_days = coalesce(p_half_life_days, half_life_days),
    reply_is_conversion = coalesce(p_reply_is_conversion, reply_is_conversion), reply_type = coalesce(p_reply_type, reply_type),
    reply_value = coalesce(p_reply_value, reply_value), reply_currency = coalesce(p_reply_currency, reply_currency),
    reply_currency_scale = coalesce(p_reply_currency_scale, reply_currency_scale), updated_at = now()
$$;

-- Recomputes the attribution of every conversion that occurred in [p_from, p_to), in chunks of
-- 1,000 (after a settings change, or late events). Returns the conversions and rows done.
create or replace function marketing.f_recompute_attribution(p_from timestamptz, p_to timestamptz)
returns table (conversions integer, attribution_rows integer)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_ids bigint[];
  v_after bigint := 0;
begin
  conversions := 0;
  attribution_rows := 0;
  loop
    select array_agg(conversion_id order by conversion_id) into v_ids from (
      select c.conversion_id from marketing.conversions c
       where c.occurred_at >= p_from and c.occurred_at < p_to and c.conversion_id > v_after
       order by c.conversion_id limit 1000) x;
    exit when v_ids is null;
    attribution_rows := attribution_rows + marketing.f_attribute_conversions(v_ids);
    conversions := conversions + cardinality(v_ids);
    v_after := v_ids[cardinality(v_ids)];
  end loop;
  return next;
end $$;
