-- Rollups for the campaign report and the analytics dashboard (tables: migration 0021), kept
-- current by statement-level triggers on the raw tables, in the transaction that writes the
-- rows. Each f_count_* takes the ids of rows just written and adds them up set-based, so a
-- 5,000-row promotion chunk or a 1,000-message confirm costs a few statements, not a trigger
-- call per row. analytics.f_rebuild_rollups() runs the same functions over all of history.
-- The functions that write rollups run as their owner (SECURITY DEFINER, search_path pinned,
-- every name schema-qualified): the processes' role reads the rollups and cannot write them.

create or replace function analytics.f_shard() returns smallint
language sql volatile as $$ select (pg_backend_pid() % 8)::smallint $$;

-- A contact's segments for the report's breakdowns: its company domain, its golden person's
-- seniority and that person's company's industry; '(none)' when unknown.
create or replace function analytics.f_contact_segments(p_contact_ids bigint[])
returns table (contact_id bigint, company_domain text, seniority text, industry text)
language sql stable as $$
  select c.contact_id,
         coalesce(nullif(lower(trim(c.company_domain)), ''), '(none)'),
         coalesce(nullif(lower(trim(p.seniority)), ''), '(none)'),
         coalesce(nullif(lower(trim(p.industry)), ''), '(none)')
    from vault.contacts c
    left join (
      select distinct on (ps.contact_id) ps.contact_id, pm.seniority, cm.industry
        from people.slot ps
        join people.master pm on pm.person_id = ps.person_id
        left join company.master cm on cm.company_id = pm.company_id
       where ps.contact_id = any(p_contact_ids)
       order by ps.contact_id, pm.merged_into is not null, ps.slot_id) p on p.contact_id = c.contact_id
   where c.contact_id = any(p_contact_ids)
$$;

-- Adds to a system-wide daily counter (the caller groups by day, metric and dim).
create or replace function analytics.f_add_daily(p_rows jsonb) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  insert into analytics.daily_counts as t (day, metric, dim, shard, n, amount)
  select r.day, r.metric, coalesce(r.dim, ''), analytics.f_shard(), coalesce(r.n, 0), coalesce(r.amount, 0)
    from jsonb_to_recordset(p_rows) as r(day date, metric text, dim text, n bigint, amount numeric)
   order by 1, 2, 3
  on conflict (day, metric, dim, shard) do update set n = t.n + excluded.n, amount = t.amount + excluded.amount
$$;

-- Sends confirmed (status 'sent'): per step, per day, system-wide and per segment.
create or replace function analytics.f_count_sends(p_ids bigint[]) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_shard smallint := analytics.f_shard();
begin
  if coalesce(cardinality(p_ids), 0) = 0 then return; end if;
  with s as materialized (
    select h.campaign_id, h.step_no, h.contact_id, h.sent_at, (coalesce(h.sent_at, now()) at time zone 'UTC')::date as day
      from marketing.outreach_history h where h.outreach_id = any(p_ids) and h.status = 'sent'),
  -- a contact who replied before this send was confirmed: its first send may be this one
  reply_times as (
    update analytics.campaign_reply_times t set first_sent_at = least(t.first_sent_at, f.sent_at)
      from (select campaign_id, contact_id, min(sent_at) as sent_at from s group by 1, 2) f
     where t.campaign_id = f.campaign_id and t.contact_id = f.contact_id
       and (t.first_sent_at is null or f.sent_at < t.first_sent_at)),
  steps as (
    insert into analytics.campaign_steps as t (campaign_id, step_no, shard, sent)
    select campaign_id, step_no, v_shard, count(*) from s group by 1, 2 order by 1, 2
    on conflict (campaign_id, step_no, shard) do update set sent = t.sent + excluded.sent),
  daily as (
    insert into analytics.campaign_daily as t (campaign_id, day, shard, sent)
    select campaign_id, day, v_shard, count(*) from s group by 1, 2 order by 1, 2
    on conflict (campaign_id, day, shard) do update set sent = t.sent + excluded.sent),
  total as (
    insert into analytics.daily_counts as t (day, metric, dim, shard, n)
    select day, 'sent', '', v_shard, count(*) from s group by 1 order by 1
    on conflict (day, metric, dim, shard) do update set n = t.n + excluded.n),
  seg as (
    select s.campaign_id, d.dimension, d.value, count(*) as n
      from s join analytics.f_contact_segments(array(select distinct s.contact_id from s)) g on g.contact_id = s.contact_id
     cross join lateral (values ('company_domain', g.company_domain), ('seniority', g.seniority), ('industry', g.industry)) d(dimension, value)
     group by 1, 2, 3),
  seg_up as (
    insert into analytics.campaign_segments as t (campaign_id, dimension, value, shard, sent)
    select campaign_id, dimension, value, v_shard, n from seg order by 1, 2, 3
    on conflict (campaign_id, dimension, value, shard) do update set sent = t.sent + excluded.sent)
  insert into analytics.campaign_segment_ranks as t (campaign_id, dimension, value, sent)
  select campaign_id, dimension, value, n from seg order by 1, 2, 3
  on conflict (campaign_id, dimension, value) do update set sent = t.sent + excluded.sent;
end $$;

-- Response events (marketing.engagement_events): event totals, and the "unique" counts of
-- messages whose first such event this is (analytics.outreach_firsts decides, safely under
-- concurrency). With p_conversions, a message's first human reply also becomes a conversion
-- when the settings say so (marketing.f_reply_conversions). Returns nothing.
create or replace function analytics.f_count_events(p_ids bigint[], p_conversions boolean default true) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_shard smallint := analytics.f_shard();
  v_replies bigint[];
begin
  if coalesce(cardinality(p_ids), 0) = 0 then return; end if;
  with ev as materialized (
    select e.event_id, e.outreach_id, e.campaign_id, e.step_no, e.contact_id, e.kind, e.verdict, e.url,
           md5(e.url) as url_hash, e.occurred_at, (e.occurred_at at time zone 'UTC')::date as day
      from marketing.engagement_events e where e.event_id = any(p_ids)),
  flagged as (
    select ev.*, f.flag from ev cross join lateral (values
      (case when kind = 'open' then 'open' end),
      (case when kind = 'open' and verdict = 'human' then 'human_open' end),
      (case when kind = 'click' then 'click' end),
      (case when kind = 'click' and verdict = 'human' then 'human_click' end),
      (case when kind = 'reply' and verdict = 'human' then 'reply' end),
      (case when kind = 'auto_reply' or (kind = 'reply' and verdict <> 'human') then 'auto_reply' end),
      (case when kind in ('hard_bounce', 'soft_bounce') then 'bounce' end),
      (case when kind in ('hard_bounce', 'soft_bounce', 'unsubscribe', 'complaint') then kind end)) f(flag)
     where f.flag is not null),
  candidates as materialized (
    select distinct on (outreach_id, flag) outreach_id, flag, campaign_id, step_no, contact_id, day
      from flagged order by outreach_id, flag, occurred_at, event_id),
  firsts as (
    insert into analytics.outreach_firsts (outreach_id, flag)
    select outreach_id, flag from candidates order by 1, 2
    on conflict do nothing returning outreach_id, flag),
  new_firsts as materialized (select c.* from candidates c join firsts f using (outreach_id, flag)),
  -- one row per (campaign, step, day) with every counter this batch adds
  parts as (
    select campaign_id, step_no, day,
           0::bigint as bounced, 0::bigint as hard_bounces, 0::bigint as soft_bounces,
           count(*) filter (where kind = 'open') as opens,
           count(*) filter (where kind = 'open' and verdict = 'human') as human_opens,
           count(*) filter (where kind = 'open' and verdict <> 'human') as machine_opens,
           0::bigint as unique_opens, 0::bigint as unique_human_opens,
           count(*) filter (where kind = 'click') as clicks,
           count(*) filter (where kind = 'click' and verdict = 'human') as human_clicks,
           count(*) filter (where kind = 'click' and verdict <> 'human') as bot_clicks,
           0::bigint as unique_clicks, 0::bigint as unique_human_clicks,
           0::bigint as replies, 0::bigint as auto_replies, 0::bigint as unsubscribes, 0::bigint as complaints
      from ev where kind in ('open', 'click') group by 1, 2, 3
    union all
    select campaign_id, step_no, day,
           count(*) filter (where flag = 'bounce'), count(*) filter (where flag = 'hard_bounce'),
           count(*) filter (where flag = 'soft_bounce'), 0, 0, 0,
           count(*) filter (where flag = 'open'), count(*) filter (where flag = 'human_open'), 0, 0, 0,
           count(*) filter (where flag = 'click'), count(*) filter (where flag = 'human_click'),
           count(*) filter (where flag = 'reply'), count(*) filter (where flag = 'auto_reply'),
           count(*) filter (where flag = 'unsubscribe'), count(*) filter (where flag = 'complaint')
      from new_firsts group by 1, 2, 3),
  d as materialized (
    select campaign_id, step_no, day, sum(bounced) as bounced, sum(hard_bounces) as hard_bounces, sum(soft_bounces) as soft_bounces,
           sum(opens) as opens, sum(human_opens) as human_opens, sum(machine_opens) as machine_opens,
           sum(unique_opens) as unique_opens, sum(unique_human_opens) as unique_human_opens,
           sum(clicks) as clicks, sum(human_clicks) as human_clicks, sum(bot_clicks) as bot_clicks,
           sum(unique_clicks) as unique_clicks, sum(unique_human_clicks) as unique_human_clicks,
           sum(replies) as replies, sum(auto_replies) as auto_replies, sum(unsubscribes) as unsubscribes, sum(complaints) as complaints
      from parts group by 1, 2, 3),
  steps as (
    insert into analytics.campaign_steps as t (campaign_id, step_no, shard, bounced, hard_bounces, soft_bounces, opens, human_opens,
                machine_opens, unique_opens, unique_human_opens, clicks, human_clicks, bot_clicks, unique_clicks,
                unique_human_clicks, replies, auto_replies, unsubscribes, complaints)
    select campaign_id, step_no, v_shard, sum(bounced), sum(hard_bounces), sum(soft_bounces), sum(opens), sum(human_opens),
           sum(machine_opens), sum(unique_opens), sum(unique_human_opens), sum(clicks), sum(human_clicks), sum(bot_clicks),
           sum(unique_clicks), sum(unique_human_clicks), sum(replies), sum(auto_replies), sum(unsubscribes), sum(complaints)
      from d group by 1, 2 order by 1, 2
    on conflict (campaign_id, step_no, shard) do update set
      bounced = t.bounced + excluded.bounced, hard_bounces = t.hard_bounces + excluded.hard_bounces,
      soft_bounces = t.soft_bounces + excluded.soft_bounces, opens = t.opens + excluded.opens,
      human_opens = t.human_opens + excluded.human_opens, machine_opens = t.machine_opens + excluded.machine_opens,
      unique_opens = t.unique_opens + excluded.unique_opens, unique_human_opens = t.unique_human_opens + excluded.unique_human_opens,
      clicks = t.clicks + excluded.clicks, human_clicks = t.human_clicks + excluded.human_clicks, bot_clicks = t.bot_clicks + excluded.bot_clicks,
      unique_clicks = t.unique_clicks + excluded.unique_clicks, unique_human_clicks = t.unique_human_clicks + excluded.unique_human_clicks,
      replies = t.replies + excluded.replies, auto_replies = t.auto_replies + excluded.auto_replies,
      unsubscribes = t.unsubscribes + excluded.unsubscribes, complaints = t.complaints + excluded.complaints),
  daily as (
    insert into analytics.campaign_daily as t (campaign_id, day, shard, bounced, hard_bounces, soft_bounces, opens, human_opens,
                machine_opens, unique_opens, unique_human_opens, clicks, human_clicks, bot_clicks, unique_clicks,
                unique_human_clicks, replies, auto_replies, unsubscribes, complaints)
    select campaign_id, day, v_shard, sum(bounced), sum(hard_bounces), sum(soft_bounces), sum(opens), sum(human_opens),
           sum(machine_opens), sum(unique_opens), sum(unique_human_opens), sum(clicks), sum(human_clicks), sum(bot_clicks),
           sum(unique_clicks), sum(unique_human_clicks), sum(replies), sum(auto_replies), sum(unsubscribes), sum(complaints)
      from d group by 1, 2 order by 1, 2
    on conflict (campaign_id, day, shard) do update set
      bounced = t.bounced + excluded.bounced, hard_bounces = t.hard_bounces + excluded.hard_bounces,
      soft_bounces = t.soft_bounces + excluded.soft_bounces, opens = t.opens + excluded.opens,
      human_opens = t.human_opens + excluded.human_opens, machine_opens = t.machine_opens + excluded.machine_opens,
      unique_opens = t.unique_opens + excluded.unique_opens, unique_human_opens = t.unique_human_opens + excluded.unique_human_opens,
      clicks = t.clicks + excluded.clicks, human_clicks = t.human_clicks + excluded.human_clicks, bot_clicks = t.bot_clicks + excluded.bot_clicks,
      unique_clicks = t.unique_clicks + excluded.unique_clicks, unique_human_clicks = t.unique_human_clicks + excluded.unique_human_clicks,
      replies = t.replies + excluded.replies, auto_replies = t.auto_replies + excluded.auto_replies,
      unsubscribes = t.unsubscribes + excluded.unsubscribes, complaints = t.complaints + excluded.complaints),
  total as (
    insert into analytics.daily_counts as t (day, metric, dim, shard, n)
    select day, m.metric, '', v_shard, sum(m.n)
      from d cross join lateral (values ('bounced', d.bounced), ('human_opens', d.unique_human_opens),
             ('clicks', d.unique_clicks), ('human_clicks', d.unique_human_clicks), ('replies', d.replies),
             ('auto_replies', d.auto_replies), ('unsubscribes', d.unsubscribes), ('complaints', d.complaints)) m(metric, n)
     group by 1, 2 having sum(m.n) > 0 order by 1, 2
    on conflict (day, metric, dim, shard) do update set n = t.n + excluded.n),
  seg as (
    select f.campaign_id, g.dimension, g.value,
           count(*) filter (where f.flag = 'bounce') as bounced, count(*) filter (where f.flag = 'human_open') as opens,
           count(*) filter (where f.flag = 'human_click') as clicks, count(*) filter (where f.flag = 'reply') as replies,
           count(*) filter (where f.flag = 'unsubscribe') as unsubscribes
      from new_firsts f
      join analytics.f_contact_segments(array(select distinct contact_id from new_firsts
                                                where flag in ('bounce', 'human_open', 'human_click', 'reply', 'unsubscribe'))) s
        on s.contact_id = f.contact_id
     cross join lateral (values ('company_domain', s.company_domain), ('seniority', s.seniority), ('industry', s.industry)) g(dimension, value)
     where f.flag in ('bounce', 'human_open', 'human_click', 'reply', 'unsubscribe')
     group by 1, 2, 3),
  seg_up as (
    insert into analytics.campaign_segments as t (campaign_id, dimension, value, shard, bounced, unique_human_opens,
                unique_human_clicks, replies, unsubscribes)
    select campaign_id, dimension, value, v_shard, bounced, opens, clicks, replies, unsubscribes from seg order by 1, 2, 3
    on conflict (campaign_id, dimension, value, shard) do update set
      bounced = t.bounced + excluded.bounced, unique_human_opens = t.unique_human_opens + excluded.unique_human_opens,
      unique_human_clicks = t.unique_human_clicks + excluded.unique_human_clicks, replies = t.replies + excluded.replies,
      unsubscribes = t.unsubscribes + excluded.unsubscribes),
  -- a segment known only by its events still ranks (0 sent); an existing rank row is not locked
  seg_rank as (
    insert into analytics.campaign_segment_ranks (campaign_id, dimension, value)
    select campaign_id, dimension, value from seg order by 1, 2, 3
    on conflict do nothing),
  link_candidates as (
    select distinct ev.outreach_id, ev.url_hash, f.flag
      from ev cross join lateral (values ('click'), (case when ev.verdict = 'human' then 'human_click' end)) f(flag)
     where ev.kind = 'click' and ev.url is not null and f.flag is not null),
  link_firsts as (
    insert into analytics.outreach_link_firsts (outreach_id, url_hash, flag)
    select outreach_id, url_hash, flag from link_candidates order by 1, 2, 3
    on conflict do nothing returning outreach_id, url_hash, flag),
  link_parts as (
    select campaign_id, url_hash, min(url) as url, count(*) as clicks, count(*) filter (where verdict = 'human') as human_clicks,
           count(*) filter (where verdict <> 'human') as bot_clicks, 0::bigint as unique_clicks, 0::bigint as unique_human_clicks
      from ev where kind = 'click' and url is not null group by 1, 2
    union all
    select o.campaign_id, l.url_hash, null, 0, 0, 0, count(*) filter (where l.flag = 'click'), count(*) filter (where l.flag = 'human_click')
      from link_firsts l join (select distinct outreach_id, campaign_id from ev) o using (outreach_id) group by 1, 2),
  links as (
    insert into analytics.campaign_links as t (campaign_id, url_hash, shard, url, clicks, human_clicks, bot_clicks, unique_clicks, unique_human_clicks)
    select campaign_id, url_hash, v_shard, min(url), sum(clicks), sum(human_clicks), sum(bot_clicks), sum(unique_clicks), sum(unique_human_clicks)
      from link_parts group by 1, 2 order by 1, 2
    on conflict (campaign_id, url_hash, shard) do update set
      clicks = t.clicks + excluded.clicks, human_clicks = t.human_clicks + excluded.human_clicks, bot_clicks = t.bot_clicks + excluded.bot_clicks,
      unique_clicks = t.unique_clicks + excluded.unique_clicks, unique_human_clicks = t.unique_human_clicks + excluded.unique_human_clicks),
  -- each contact's first human reply in the campaign, and its first send then (the report's median)
  reply_times as (
    insert into analytics.campaign_reply_times as t (campaign_id, contact_id, first_reply_at, first_sent_at)
    select r.campaign_id, r.contact_id, r.at,
           (select min(h.sent_at) from marketing.outreach_history h
             where h.campaign_id = r.campaign_id and h.contact_id = r.contact_id and h.status = 'sent')
      from (select campaign_id, contact_id, min(occurred_at) as at from ev where kind = 'reply' and verdict = 'human' group by 1, 2) r
     order by 1, 2
    on conflict (campaign_id, contact_id) do update
      set first_reply_at = least(t.first_reply_at, excluded.first_reply_at), first_sent_at = least(t.first_sent_at, excluded.first_sent_at))
  select array_agg(outreach_id) filter (where flag = 'reply') into v_replies from new_firsts;

  if p_conversions and v_replies is not null then
    perform marketing.f_reply_conversions(v_replies);
  end if;
end $$;

-- Staged loads: all of them, and those staged as duplicates, by the day staged.
create or replace function analytics.f_count_staged(p_ids bigint[]) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
    select (created_at at time zone 'UTC')::date as day, m.metric, count(*) as n
      from intake.raw_loads l
     cross join lateral (values ('staged'), (case when l.status = 'duplicate' then 'duplicates' end)) m(metric)
     where l.load_id = any(p_ids) and m.metric is not null
     group by 1, 2) x
$$;

-- Promoted loads by the day promoted; failed ones by their reason and the day they were staged
-- (a failed load keeps no time of its own).
create or replace function analytics.f_count_settled(p_ids bigint[]) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
    select case when status = 'promoted' then (coalesce(promoted_at, now()) at time zone 'UTC')::date
                else (created_at at time zone 'UTC')::date end as day,
           status as metric, case when status = 'failed' then coalesce(failure_reason, 'unknown') else '' end as dim,
           count(*) as n
      from intake.raw_loads
     where load_id = any(p_ids) and status in ('promoted', 'failed')
     group by 1, 2, 3) x
$$;

-- Golden records created (by creation day) or merged into another (by the merge's day).
create or replace function analytics.f_count_masters(p_kind text, p_created bigint[], p_merged bigint[]) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_kind = 'people' then
    perform analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
      select (created_at at time zone 'UTC')::date as day, 'people_created' as metric, count(*) as n
        from people.master where person_id = any(p_created) group by 1
      union all
      select (updated_at at time zone 'UTC')::date, 'people_merged', count(*)
        from people.master where person_id = any(p_merged) and merged_into is not null group by 1) x;
  else
    perform analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
      select (created_at at time zone 'UTC')::date as day, 'companies_created' as metric, count(*) as n
        from company.master where company_id = any(p_created) group by 1
      union all
      select (updated_at at time zone 'UTC')::date, 'companies_merged', count(*)
        from company.master where company_id = any(p_merged) and merged_into is not null group by 1) x;
  end if;
end $$;

-- Provider answers (each fetch of people.intelligence) and contacts matched for the first time.
create or replace function analytics.f_count_intelligence(p_contacts bigint[], p_providers text[]) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_new bigint[];
begin
  if coalesce(cardinality(p_contacts), 0) = 0 then return; end if;
  with ins as (
    insert into analytics.enriched_contacts (contact_id)
    select distinct i.contact_id from unnest(p_contacts, p_providers) as k(contact_id, provider)
      join people.intelligence i on i.contact_id = k.contact_id and i.provider = k.provider
     where i.matched order by 1
    on conflict do nothing returning contact_id)
  select array_agg(contact_id) into v_new from ins;
  perform analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
    select day, 'enrich_lookups' as metric, provider as dim, count(*) as n from (
      select i.provider, (i.fetched_at at time zone 'UTC')::date as day
        from unnest(p_contacts, p_providers) as k(contact_id, provider)
        join people.intelligence i on i.contact_id = k.contact_id and i.provider = k.provider) l group by 1, 3
    union all
    select day, 'enrich_matched', provider, count(*) from (
      select i.provider, (i.fetched_at at time zone 'UTC')::date as day
        from unnest(p_contacts, p_providers) as k(contact_id, provider)
        join people.intelligence i on i.contact_id = k.contact_id and i.provider = k.provider
       where i.matched) m group by 1, 3
    union all
    select day, 'contacts_enriched', '', count(*) from (
      select min((fetched_at at time zone 'UTC')::date) as day from people.intelligence
       where contact_id = any(v_new) and matched group by contact_id) e group by 1) x;
end $$;

-- Contacts created in the vault (the coverage figure's denominator).
create or replace function analytics.f_count_contacts(p_ids bigint[]) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
    select (created_at at time zone 'UTC')::date as day, 'contacts_created' as metric, count(*) as n
      from vault.contacts where contact_id = any(p_ids) group by 1) x
$$;

-- Conversions (count and value per currency) and attributed credit, added (p_sign 1) or taken
-- away (-1, when attribution is recomputed), from rows given as jsonb.
create or replace function analytics.f_count_conversions(p_rows jsonb, p_sign integer) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
    select (r.occurred_at at time zone 'UTC')::date as day, 'conversions' as metric, r.currency as dim,
           p_sign * count(*) as n, p_sign * sum(r.value) as amount
      from jsonb_to_recordset(p_rows) as r(occurred_at timestamptz, currency text, value numeric) group by 1, 3) x
$$;

create or replace function analytics.f_count_attribution(p_rows jsonb, p_sign integer) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into analytics.attribution_daily as t (campaign_id, day, model, currency, shard, conversions, credit)
  select r.campaign_id, (r.converted_at at time zone 'UTC')::date, r.model, r.currency, analytics.f_shard(),
         p_sign * count(distinct r.conversion_id) filter (where r.credit > 0), p_sign * sum(r.credit)
    from jsonb_to_recordset(p_rows) as r(conversion_id bigint, campaign_id bigint, model text, currency text, credit numeric, converted_at timestamptz)
   where r.campaign_id is not null group by 1, 2, 3, 4 order by 1, 2, 3, 4
  on conflict (campaign_id, day, model, currency, shard) do update
    set conversions = t.conversions + excluded.conversions, credit = t.credit + excluded.credit;
  perform analytics.f_add_daily(coalesce(jsonb_agg(x), '[]')) from (
    select (r.converted_at at time zone 'UTC')::date as day, 'attributed:' || r.model as metric, r.currency as dim,
           p_sign * count(distinct r.conversion_id) filter (where r.credit > 0) as n, p_sign * sum(r.credit) as amount
      from jsonb_to_recordset(p_rows) as r(conversion_id bigint, model text, currency text, credit numeric, converted_at timestamptz)
     group by 1, 2, 3) x;
end $$;

-- Trigger functions: each passes the ids of the rows its statement wrote to an f_count_*.
create or replace function analytics.t_outreach_inserted() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform analytics.f_count_sends(array(select outreach_id from new_rows where status = 'sent'));
  return null;
end $$;

create or replace function analytics.t_outreach_updated() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform analytics.f_count_sends(array(
    select n.outreach_id from new_rows n join old_rows o using (outreach_id) where n.status = 'sent' and o.status <> 'sent'));
  return null;
end $$;

create or replace function analytics.t_events_inserted() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform analytics.f_count_events(array(select event_id from new_rows));
  return null;
end $$;

create or replace function analytics.t_loads_inserted() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform analytics.f_count_staged(array(select load_id from new_rows));
  perform analytics.f_count_settled(array(select load_id from new_rows where status in ('promoted', 'failed')));
  return null;
end $$;

-- The joins of old_rows with new_rows run through EXECUTE: planned at each call, they see the
-- transition tables' sizes. A plpgsql statement's cached plan keeps the sizes of its first call in
-- the session (often 0 rows: promotion's update of failed loads), and its nested loop then
-- compared every old row with every new one (5,000 × 5,000 per promotion chunk: 4 s).
create or replace function analytics.t_loads_updated() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_ids bigint[];
begin
  execute $q$select array(select n.load_id from new_rows n join old_rows o using (load_id)
                          where n.status in ('promoted', 'failed') and o.status not in ('promoted', 'failed'))$q$ into v_ids;
  perform analytics.f_count_settled(v_ids);
  return null;
end $$;

create or replace function analytics.t_masters_inserted() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if tg_table_schema = 'people' then
    perform analytics.f_count_masters('people', array(select person_id from new_rows), null);
  else
    perform analytics.f_count_masters('company', array(select company_id from new_rows), null);
  end if;
  return null;
end $$;

create or replace function analytics.t_masters_updated() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_ids bigint[];
begin
  -- planned at each call, as in t_loads_updated
  if tg_table_schema = 'people' then
    execute $q$select array(select n.person_id from new_rows n join old_rows o using (person_id)
                            where n.merged_into is not null and o.merged_into is null)$q$ into v_ids;
    perform analytics.f_count_masters('people', null, v_ids);
  else
    execute $q$select array(select n.company_id from new_rows n join old_rows o using (company_id)
                            where n.merged_into is not null and o.merged_into is null)$q$ into v_ids;
    perform analytics.f_count_masters('company', null, v_ids);
  end if;
  return null;
end $$;

create or replace function analytics.t_intelligence_inserted() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform analytics.f_count_intelligence(array(select contact_id from new_rows), array(select provider from new_rows));
  return null;
end $$;

-- an upsert that refreshes a row is a new fetch (fetched_at moves); other updates are not
create or replace function analytics.t_intelligence_updated() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform analytics.f_count_intelligence(k.contacts, k.providers)
     from (select array_agg(n.contact_id) as contacts, array_agg(n.provider) as providers
             from new_rows n join old_rows o using (contact_id, provider) where n.fetched_at is distinct from o.fetched_at) k;
  return null;
end $$;

create or replace function analytics.t_contacts_inserted() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform analytics.f_count_contacts(array(select contact_id from new_rows));
  return null;
end $$;

create or replace function analytics.t_conversions_changed() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if tg_op = 'INSERT' then
    perform analytics.f_count_conversions((select coalesce(jsonb_agg(to_jsonb(r)), '[]') from new_rows r), 1);
  else
    perform analytics.f_count_conversions((select coalesce(jsonb_agg(to_jsonb(r)), '[]') from old_rows r), -1);
  end if;
  return null;
end $$;

create or replace function analytics.t_attribution_changed() returns trigger language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if tg_op = 'INSERT' then
    perform analytics.f_count_attribution((select coalesce(jsonb_agg(to_jsonb(r)), '[]') from new_rows r), 1);
  else
    perform analytics.f_count_attribution((select coalesce(jsonb_agg(to_jsonb(r)), '[]') from old_rows r), -1);
  end if;
  return null;
end $$;

-- Transition tables need one trigger per event.
create or replace trigger analytics_sends_inserted after insert on marketing.outreach_history
  referencing new table as new_rows for each statement execute function analytics.t_outreach_inserted();
create or replace trigger analytics_sends_updated after update on marketing.outreach_history
  referencing old table as old_rows new table as new_rows for each statement execute function analytics.t_outreach_updated();
create or replace trigger analytics_events_inserted after insert on marketing.engagement_events
  referencing new table as new_rows for each statement execute function analytics.t_events_inserted();
create or replace trigger analytics_loads_inserted after insert on intake.raw_loads
  referencing new table as new_rows for each statement execute function analytics.t_loads_inserted();
create or replace trigger analytics_loads_updated after update on intake.raw_loads
  referencing old table as old_rows new table as new_rows for each statement execute function analytics.t_loads_updated();
create or replace trigger analytics_people_inserted after insert on people.master
  referencing new table as new_rows for each statement execute function analytics.t_masters_inserted();
create or replace trigger analytics_people_updated after update on people.master
  referencing old table as old_rows new table as new_rows for each statement execute function analytics.t_masters_updated();
create or replace trigger analytics_companies_inserted after insert on company.master
  referencing new table as new_rows for each statement execute function analytics.t_masters_inserted();
create or replace trigger analytics_companies_updated after update on company.master
  referencing old table as old_rows new table as new_rows for each statement execute function analytics.t_masters_updated();
create or replace trigger analytics_intelligence_inserted after insert on people.intelligence
  referencing new table as new_rows for each statement execute function analytics.t_intelligence_inserted();
create or replace trigger analytics_intelligence_updated after update on people.intelligence
  referencing old table as old_rows new table as new_rows for each statement execute function analytics.t_intelligence_updated();
create or replace trigger analytics_contacts_inserted after insert on vault.contacts
  referencing new table as new_rows for each statement execute function analytics.t_contacts_inserted();
create or replace trigger analytics_conversions_inserted after insert on marketing.conversions
  referencing new table as new_rows for each statement execute function analytics.t_conversions_changed();
create or replace trigger analytics_conversions_deleted after delete on marketing.conversions
  referencing old table as old_rows for each statement execute function analytics.t_conversions_changed();
create or replace trigger analytics_attribution_inserted after insert on marketing.attribution
  referencing new table as new_rows for each statement execute function analytics.t_attribution_changed();
create or replace trigger analytics_attribution_deleted after delete on marketing.attribution
  referencing old table as old_rows for each statement execute function analytics.t_attribution_changed();

-- Empties the rollups and counts all of history again, set-based: one grouped INSERT ... SELECT
-- per rollup over the raw tables, by the rules f_count_sends and f_count_events apply per
-- statement (a message's "unique" event is its earliest; segments as f_contact_segments gives
-- them). A repair tool, how existing data is counted when the rollups first appear, and how a
-- bulk load (bench:analytics) fills them. p_chunk: the raw_loads chunk.
create or replace function analytics.f_rebuild_rollups(p_chunk integer default 100000) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_shard smallint := analytics.f_shard();
  v_from bigint;
  v_max bigint;
begin
  lock table marketing.outreach_history, marketing.engagement_events, marketing.attribution, marketing.conversions in share mode;
  truncate analytics.daily_counts, analytics.campaign_steps, analytics.campaign_daily, analytics.campaign_links,
           analytics.campaign_segments, analytics.attribution_daily, analytics.outreach_firsts,
           analytics.outreach_link_firsts, analytics.enriched_contacts, analytics.campaign_reply_times,
           analytics.campaign_segment_ranks;
  -- the grouped reads below hold millions of groups at the benchmark's size
  perform set_config('work_mem', '256MB', true);

  -- each message's first event of each flag (the flags of f_count_events): its day is its earliest event's
  create temp table rebuild_firsts on commit drop as
    select outreach_id, flag, min(campaign_id) as campaign_id, min(step_no) as step_no, min(contact_id) as contact_id,
           (min(occurred_at) at time zone 'UTC')::date as day
      from marketing.engagement_events cross join lateral unnest(case
             when kind = 'open' and verdict = 'human' then '{open,human_open}'::text[]
             when kind = 'open' then '{open}'
             when kind = 'click' and verdict = 'human' then '{click,human_click}'
             when kind = 'click' then '{click}'
             when kind = 'reply' and verdict = 'human' then '{reply}'
             when kind in ('reply', 'auto_reply') then '{auto_reply}'
             when kind in ('hard_bounce', 'soft_bounce') then array['bounce', kind]
             else array[kind] end) f(flag)   -- unsubscribe, complaint
     group by 1, 2;
  analyze rebuild_firsts;
  insert into analytics.outreach_firsts (outreach_id, flag) select outreach_id, flag from rebuild_firsts;

  -- every counter per (campaign, step, day): sends, event totals, first events
  create temp table rebuild_counts on commit drop as
    select campaign_id, step_no, day, sum(sent) as sent, sum(bounced) as bounced, sum(hard_bounces) as hard_bounces,
           sum(soft_bounces) as soft_bounces, sum(opens) as opens, sum(human_opens) as human_opens, sum(machine_opens) as machine_opens,
           sum(unique_opens) as unique_opens, sum(unique_human_opens) as unique_human_opens, sum(clicks) as clicks,
           sum(human_clicks) as human_clicks, sum(bot_clicks) as bot_clicks, sum(unique_clicks) as unique_clicks,
           sum(unique_human_clicks) as unique_human_clicks, sum(replies) as replies, sum(auto_replies) as auto_replies,
           sum(unsubscribes) as unsubscribes, sum(complaints) as complaints
      from (
        select campaign_id, step_no, day, count(*) as sent, 0::bigint as bounced, 0::bigint as hard_bounces, 0::bigint as soft_bounces,
               0::bigint as opens, 0::bigint as human_opens, 0::bigint as machine_opens, 0::bigint as unique_opens,
               0::bigint as unique_human_opens, 0::bigint as clicks, 0::bigint as human_clicks, 0::bigint as bot_clicks,
               0::bigint as unique_clicks, 0::bigint as unique_human_clicks, 0::bigint as replies, 0::bigint as auto_replies,
               0::bigint as unsubscribes, 0::bigint as complaints
          from (select campaign_id, step_no, (coalesce(sent_at, now()) at time zone 'UTC')::date as day
                  from marketing.outreach_history where status = 'sent') s group by 1, 2, 3
        union all
        select campaign_id, step_no, day, 0, 0, 0, 0,
               count(*) filter (where kind = 'open'), count(*) filter (where kind = 'open' and verdict = 'human'),
               count(*) filter (where kind = 'open' and verdict <> 'human'), 0, 0,
               count(*) filter (where kind = 'click'), count(*) filter (where kind = 'click' and verdict = 'human'),
               count(*) filter (where kind = 'click' and verdict <> 'human'), 0, 0, 0, 0, 0, 0
          from (select campaign_id, step_no, (occurred_at at time zone 'UTC')::date as day, kind, verdict
                  from marketing.engagement_events where kind in ('open', 'click')) e group by 1, 2, 3
        union all
        select campaign_id, step_no, day, 0,
               count(*) filter (where flag = 'bounce'), count(*) filter (where flag = 'hard_bounce'),
               count(*) filter (where flag = 'soft_bounce'), 0, 0, 0,
               count(*) filter (where flag = 'open'), count(*) filter (where flag = 'human_open'), 0, 0, 0,
               count(*) filter (where flag = 'click'), count(*) filter (where flag = 'human_click'),
               count(*) filter (where flag = 'reply'), count(*) filter (where flag = 'auto_reply'),
               count(*) filter (where flag = 'unsubscribe'), count(*) filter (where flag = 'complaint')
          from rebuild_firsts group by 1, 2, 3) parts
     group by 1, 2, 3;
  analyze rebuild_counts;
  insert into analytics.campaign_steps (campaign_id, step_no, shard, sent, bounced, hard_bounces, soft_bounces, opens, human_opens,
              machine_opens, unique_opens, unique_human_opens, clicks, human_clicks, bot_clicks, unique_clicks,
              unique_human_clicks, replies, auto_replies, unsubscribes, complaints)
  select campaign_id, step_no, v_shard, sum(sent), sum(bounced), sum(hard_bounces), sum(soft_bounces), sum(opens), sum(human_opens),
         sum(machine_opens), sum(unique_opens), sum(unique_human_opens), sum(clicks), sum(human_clicks), sum(bot_clicks),
         sum(unique_clicks), sum(unique_human_clicks), sum(replies), sum(auto_replies), sum(unsubscribes), sum(complaints)
    from rebuild_counts group by 1, 2;
  insert into analytics.campaign_daily (campaign_id, day, shard, sent, bounced, hard_bounces, soft_bounces, opens, human_opens,
              machine_opens, unique_opens, unique_human_opens, clicks, human_clicks, bot_clicks, unique_clicks,
              unique_human_clicks, replies, auto_replies, unsubscribes, complaints)
  select campaign_id, day, v_shard, sum(sent), sum(bounced), sum(hard_bounces), sum(soft_bounces), sum(opens), sum(human_opens),
         sum(machine_opens), sum(unique_opens), sum(unique_human_opens), sum(clicks), sum(human_clicks), sum(bot_clicks),
         sum(unique_clicks), sum(unique_human_clicks), sum(replies), sum(auto_replies), sum(unsubscribes), sum(complaints)
    from rebuild_counts group by 1, 2;
  insert into analytics.daily_counts (day, metric, dim, shard, n)
  select day, m.metric, '', v_shard, sum(m.n)
    from rebuild_counts cross join lateral (values ('sent', sent), ('bounced', bounced), ('human_opens', unique_human_opens),
           ('clicks', unique_clicks), ('human_clicks', unique_human_clicks), ('replies', replies),
           ('auto_replies', auto_replies), ('unsubscribes', unsubscribes), ('complaints', complaints)) m(metric, n)
   group by 1, 2 having sum(m.n) > 0;

  -- segments: sends and first events per contact, then the contact's segments
  insert into analytics.campaign_segments (campaign_id, dimension, value, shard, sent, bounced, unique_human_opens,
              unique_human_clicks, replies, unsubscribes)
  select x.campaign_id, d.dimension, d.value, v_shard, sum(x.sent), sum(x.bounced), sum(x.opens), sum(x.clicks), sum(x.replies),
         sum(x.unsubscribes)
    from (select campaign_id, contact_id, sum(sent) as sent, sum(bounced) as bounced, sum(opens) as opens, sum(clicks) as clicks,
                 sum(replies) as replies, sum(unsubscribes) as unsubscribes
            from (select campaign_id, contact_id, count(*) as sent, 0::bigint as bounced, 0::bigint as opens, 0::bigint as clicks,
                         0::bigint as replies, 0::bigint as unsubscribes
                    from marketing.outreach_history where status = 'sent' group by 1, 2
                  union all
                  select campaign_id, contact_id, 0, count(*) filter (where flag = 'bounce'), count(*) filter (where flag = 'human_open'),
                         count(*) filter (where flag = 'human_click'), count(*) filter (where flag = 'reply'),
                         count(*) filter (where flag = 'unsubscribe')
                    from rebuild_firsts where flag in ('bounce', 'human_open', 'human_click', 'reply', 'unsubscribe') group by 1, 2) p
           group by 1, 2) x
    join (select c.contact_id,
                 coalesce(nullif(lower(trim(c.company_domain)), ''), '(none)') as company_domain,
                 coalesce(nullif(lower(trim(p.seniority)), ''), '(none)') as seniority,
                 coalesce(nullif(lower(trim(p.industry)), ''), '(none)') as industry
            from vault.contacts c
            left join (select distinct on (ps.contact_id) ps.contact_id, pm.seniority, cm.industry
                         from people.slot ps
                         join people.master pm on pm.person_id = ps.person_id
                         left join company.master cm on cm.company_id = pm.company_id
                        order by ps.contact_id, pm.merged_into is not null, ps.slot_id) p on p.contact_id = c.contact_id) g
      on g.contact_id = x.contact_id
   cross join lateral (values ('company_domain', g.company_domain), ('seniority', g.seniority), ('industry', g.industry)) d(dimension, value)
   group by 1, 2, 3;

  insert into analytics.campaign_segment_ranks (campaign_id, dimension, value, sent)
  select campaign_id, dimension, value, sent from analytics.campaign_segments;   -- one shard here

  -- links: click totals, and each message's first click (human click) per link
  insert into analytics.outreach_link_firsts (outreach_id, url_hash, flag)
  select distinct e.outreach_id, md5(e.url), f.flag
    from marketing.engagement_events e cross join lateral (values ('click'), (case when e.verdict = 'human' then 'human_click' end)) f(flag)
   where e.kind = 'click' and e.url is not null and f.flag is not null;
  insert into analytics.campaign_links (campaign_id, url_hash, shard, url, clicks, human_clicks, bot_clicks, unique_clicks, unique_human_clicks)
  select campaign_id, md5(url), v_shard, min(url), count(*), count(*) filter (where verdict = 'human'),
         count(*) filter (where verdict <> 'human'), count(distinct outreach_id),
         count(distinct outreach_id) filter (where verdict = 'human')
    from marketing.engagement_events where kind = 'click' and url is not null group by 1, 2;

  insert into analytics.campaign_reply_times (campaign_id, contact_id, first_reply_at, first_sent_at)
  select r.campaign_id, r.contact_id, r.at, s.sent_at
    from (select campaign_id, contact_id, min(occurred_at) as at from marketing.engagement_events
           where kind = 'reply' and verdict = 'human' group by 1, 2) r
    cross join lateral (select min(h.sent_at) as sent_at from marketing.outreach_history h
                         where h.campaign_id = r.campaign_id and h.contact_id = r.contact_id and h.status = 'sent') s;

  select coalesce(max(load_id), 0) into v_max from intake.raw_loads;
  v_from := 0;
  while v_from < v_max loop
    perform analytics.f_count_staged(array(select load_id from intake.raw_loads where load_id > v_from and load_id <= v_from + p_chunk));
    perform analytics.f_count_settled(array(select load_id from intake.raw_loads where load_id > v_from and load_id <= v_from + p_chunk));
    v_from := v_from + p_chunk;
  end loop;
  perform analytics.f_count_masters('people', array(select person_id from people.master), array(select person_id from people.master));
  perform analytics.f_count_masters('company', array(select company_id from company.master), array(select company_id from company.master));
  perform analytics.f_count_intelligence(array(select contact_id from people.intelligence order by contact_id, provider),
                                         array(select provider from people.intelligence order by contact_id, provider));
  perform analytics.f_count_contacts(array(select contact_id from vault.contacts));
  perform analytics.f_count_conversions((select coalesce(jsonb_agg(to_jsonb(c)), '[]') from marketing.conversions c), 1);
  perform analytics.f_count_attribution((select coalesce(jsonb_agg(to_jsonb(a)), '[]') from marketing.attribution a), 1);
  drop table rebuild_firsts, rebuild_counts;
  update analytics.rollup_state set built_at = now();
end $$;

-- The first migrate after migration 0021 counts what the raw tables already hold.
do $$
begin
  if (select built_at is null from analytics.rollup_state) then
    perform analytics.f_rebuild_rollups();
  end if;
end $$;
