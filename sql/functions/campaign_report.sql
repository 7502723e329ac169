-- A campaign's report (GET /api/campaigns/:id/report, and marketing.feedback_reports at the
-- end of a run), from the rollups of sql/functions/analytics.sql: its cost does not grow with
-- the campaign's sends (breakdowns: the top N segments of campaign_segment_ranks, migration
-- 0051), except the median time to conversion (the campaign's attributed conversions). Rates
-- are over delivered messages (sent minus bounced) and count human events: unique human opens,
-- unique human clicks, human replies. Null: no such campaign.

create or replace function analytics.f_rate(p_n numeric, p_d numeric) returns numeric
language sql immutable as $$ select case when coalesce(p_d, 0) = 0 then 0 else round(p_n / p_d, 4) end $$;

create or replace function analytics.f_campaign_report(p_campaign_id bigint, p_breakdown_limit integer default 20) returns jsonb
language plpgsql stable as $$
declare
  k record;
  t record;
  v_funnel jsonb;
  v_links jsonb;
  v_models jsonb;
  v_breakdowns jsonb;
  v_reply_median numeric;
  v_conversion jsonb;
  v_delivered bigint;
begin
  select campaign_id, name, status, started_at, completed_at into k from marketing.campaigns where campaign_id = p_campaign_id;
  if not found then return null; end if;

  select coalesce(sum(sent), 0) as sent, coalesce(sum(bounced), 0) as bounced, coalesce(sum(hard_bounces), 0) as hard_bounces,
         coalesce(sum(soft_bounces), 0) as soft_bounces, coalesce(sum(opens), 0) as opens, coalesce(sum(human_opens), 0) as human_opens,
         coalesce(sum(machine_opens), 0) as machine_opens, coalesce(sum(unique_opens), 0) as unique_opens,
         coalesce(sum(unique_human_opens), 0) as unique_human_opens, coalesce(sum(clicks), 0) as clicks,
         coalesce(sum(human_clicks), 0) as human_clicks, coalesce(sum(bot_clicks), 0) as bot_clicks,
         coalesce(sum(unique_clicks), 0) as unique_clicks, coalesce(sum(unique_human_clicks), 0) as unique_human_clicks,
         coalesce(sum(replies), 0) as replies, coalesce(sum(auto_replies), 0) as auto_replies,
         coalesce(sum(unsubscribes), 0) as unsubscribes, coalesce(sum(complaints), 0) as complaints
    into t from analytics.campaign_steps where campaign_id = p_campaign_id;
  v_delivered := t.sent - t.bounced;

  -- per step, in step order; drop-off: the share of the previous step's sends this step did not send
  select coalesce(jsonb_agg(jsonb_build_object(
           'step', s.step_no, 'sent', s.sent, 'delivered', s.sent - s.bounced, 'unique_human_opens', s.unique_human_opens,
           'unique_human_clicks', s.unique_human_clicks, 'replies', s.replies, 'unsubscribes', s.unsubscribes,
           'open_rate', analytics.f_rate(s.unique_human_opens, s.sent - s.bounced),
           'reply_rate', analytics.f_rate(s.replies, s.sent - s.bounced),
           'drop_off', case when s.prev_sent is null then null
                            else round(1 - s.sent::numeric / nullif(s.prev_sent, 0), 4) end) order by s.step_no), '[]')
    into v_funnel
    from (select st.step_no, st.sent, st.bounced, st.unique_human_opens, st.unique_human_clicks, st.replies, st.unsubscribes,
                 lag(st.sent) over (order by st.step_no) as prev_sent
            from (select cs.step_no, coalesce(sum(g.sent), 0) as sent, coalesce(sum(g.bounced), 0) as bounced,
                         coalesce(sum(g.unique_human_opens), 0) as unique_human_opens,
                         coalesce(sum(g.unique_human_clicks), 0) as unique_human_clicks, coalesce(sum(g.replies), 0) as replies,
                         coalesce(sum(g.unsubscribes), 0) as unsubscribes
                    from marketing.campaign_steps cs
                    left join analytics.campaign_steps g on g.campaign_id = cs.campaign_id and g.step_no = cs.step_no
                   where cs.campaign_id = p_campaign_id group by cs.step_no) st) s;
  select coalesce(jsonb_agg(jsonb_build_object('url', l.url, 'total', l.clicks, 'unique', l.unique_clicks, 'human', l.human_clicks,
                                               'unique_human', l.unique_human_clicks, 'bot', l.bot_clicks)
                            order by l.unique_human_clicks desc, l.clicks desc, l.url), '[]')
    into v_links
    from (select min(url) as url, sum(clicks) as clicks, sum(unique_clicks) as unique_clicks, sum(human_clicks) as human_clicks,
                 sum(unique_human_clicks) as unique_human_clicks, sum(bot_clicks) as bot_clicks
            from analytics.campaign_links where campaign_id = p_campaign_id group by url_hash) l;

  select coalesce(jsonb_agg(jsonb_build_object('model', m.model, 'conversions', coalesce(a.conversions, 0), 'values', coalesce(a.values, '[]'))
                            order by m.ord), '[]')
    into v_models
    from (values ('first_touch', 1), ('last_touch', 2), ('linear', 3), ('time_decay', 4), ('position_based', 5)) m(model, ord)
    left join (select model, sum(conversions) as conversions,
                      jsonb_agg(jsonb_build_object('currency', currency, 'value', credit::text) order by currency) as values
                 from (select model, currency, sum(conversions) as conversions, sum(credit) as credit
                         from analytics.attribution_daily where campaign_id = p_campaign_id group by 1, 2) x
                group by model) a on a.model = m.model;

  -- per dimension: the top segments by an index scan of campaign_segment_ranks, then the shards of those only
  select jsonb_object_agg(dim.dimension, b.rows) into v_breakdowns
    from (values ('company_domain'), ('seniority'), ('industry')) dim(dimension)
   cross join lateral (
     select coalesce(jsonb_agg(jsonb_build_object(
              'value', r.value, 'sent', r.sent, 'delivered', r.sent - r.bounced, 'unique_human_opens', r.opens,
              'unique_human_clicks', r.clicks, 'replies', r.replies, 'unsubscribes', r.unsubscribes,
              'open_rate', analytics.f_rate(r.opens, r.sent - r.bounced), 'click_rate', analytics.f_rate(r.clicks, r.sent - r.bounced),
              'reply_rate', analytics.f_rate(r.replies, r.sent - r.bounced)) order by r.sent desc, r.value), '[]') as rows
       from (select top.value, top.sent, coalesce(sum(g.bounced), 0) as bounced, coalesce(sum(g.unique_human_opens), 0) as opens,
                    coalesce(sum(g.unique_human_clicks), 0) as clicks, coalesce(sum(g.replies), 0) as replies,
                    coalesce(sum(g.unsubscribes), 0) as unsubscribes
               from (select value, sent from analytics.campaign_segment_ranks
                      where campaign_id = p_campaign_id and dimension = dim.dimension
                      order by sent desc, value limit p_breakdown_limit) top
               left join analytics.campaign_segments g
                 on g.campaign_id = p_campaign_id and g.dimension = dim.dimension and g.value = top.value
              group by top.value, top.sent) r) b;

  -- seconds from the contact's first send of this campaign to its first human reply (rollup: migration 0050).
  -- first_sent_at is null only when the reply was counted while its send's confirmation was still
  -- uncommitted (neither transaction saw the other's row): that rare row's first send is looked up
  -- here (coalesce evaluates the lookup only for it), so the race costs no reply its place in the median.
  select percentile_cont(0.5) within group (order by extract(epoch from first_reply_at - first_sent_at))::numeric
    into v_reply_median
    from (select r.first_reply_at,
                 coalesce(r.first_sent_at, (select min(h.sent_at) from marketing.outreach_history h
                                             where h.contact_id = r.contact_id and h.campaign_id = r.campaign_id and h.status = 'sent')) as first_sent_at
            from analytics.campaign_reply_times r
           where r.campaign_id = p_campaign_id) t
   where first_sent_at <= first_reply_at;

  -- conversions this campaign touched, and seconds from its first touch of them to the conversion
  select jsonb_build_object('count', count(*),
           'median_seconds', round(percentile_cont(0.5) within group (order by extract(epoch from converted_at - first_at))::numeric, 3))
    into v_conversion
    from (select conversion_id, min(converted_at) as converted_at, min(touched_at) as first_at from marketing.attribution
           where campaign_id = p_campaign_id and model = 'linear' group by conversion_id) c;

  return jsonb_build_object(
    'campaign_id', k.campaign_id, 'name', k.name, 'status', k.status, 'started_at', k.started_at, 'completed_at', k.completed_at,
    'generated_at', now(),
    'delivery', jsonb_build_object('sent', t.sent, 'delivered', v_delivered, 'bounced', t.bounced, 'hard_bounces', t.hard_bounces,
                                   'soft_bounces', t.soft_bounces, 'delivery_rate', analytics.f_rate(v_delivered, t.sent)),
    'opens', jsonb_build_object('total', t.opens, 'unique', t.unique_opens, 'human', t.human_opens, 'unique_human', t.unique_human_opens,
                                'machine', t.machine_opens, 'rate', analytics.f_rate(t.unique_human_opens, v_delivered)),
    'clicks', jsonb_build_object('total', t.clicks, 'unique', t.unique_clicks, 'human', t.human_clicks, 'unique_human', t.unique_human_clicks,
                                 'bot', t.bot_clicks, 'ctr', analytics.f_rate(t.unique_human_clicks, v_delivered),
                                 'ctor', analytics.f_rate(t.unique_human_clicks, t.unique_human_opens), 'links', v_links),
    'replies', jsonb_build_object('human', t.replies, 'auto', t.auto_replies, 'rate', analytics.f_rate(t.replies, v_delivered),
                                  'median_seconds_to_first_reply', round(v_reply_median, 3)),
    'unsubscribes', jsonb_build_object('count', t.unsubscribes, 'rate', analytics.f_rate(t.unsubscribes, v_delivered)),
    'complaints', jsonb_build_object('count', t.complaints, 'rate', analytics.f_rate(t.complaints, v_delivered)),
    'conversions', jsonb_build_object('count', v_conversion -> 'count', 'median_seconds_to_conversion', v_conversion -> 'median_seconds',
                                      'models', v_models),
    'funnel', v_funnel,
    'breakdowns', v_breakdowns);
end $$;
