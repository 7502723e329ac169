-- The report's median time to first reply, from a rollup instead of per request: one row per
-- campaign and replying contact with its first human reply and its first send of the campaign,
-- kept by analytics.f_count_events / f_count_sends (sql/functions/analytics.sql) in the
-- transactions that write the events and sends. Measured before (bench:analytics, 2M outreach
-- rows): the per-request median looked up every replier's first send, ≈ 1,000 index probes.
create table analytics.campaign_reply_times (
  campaign_id    bigint not null,
  contact_id     bigint not null,
  first_reply_at timestamptz not null,
  first_sent_at  timestamptz,          -- null until one of the contact's sends is confirmed
  primary key (campaign_id, contact_id)
);
-- the median reads a campaign's rows from this index alone (its rows lie all over the heap)
create index campaign_reply_times_campaign on analytics.campaign_reply_times (campaign_id) include (first_reply_at, first_sent_at);

-- existing history, by the rules the report used
insert into analytics.campaign_reply_times (campaign_id, contact_id, first_reply_at, first_sent_at)
select r.campaign_id, r.contact_id, r.at,
       (select min(h.sent_at) from marketing.outreach_history h
         where h.campaign_id = r.campaign_id and h.contact_id = r.contact_id and h.status = 'sent')
  from (select campaign_id, contact_id, min(occurred_at) as at from marketing.engagement_events
         where kind = 'reply' and verdict = 'human' group by 1, 2) r;
