-- Results, part 2: rollups for the campaign report and the analytics dashboard. Triggers on the
-- raw tables (sql/functions/analytics.sql) keep them current in the transactions that write the
-- events, so no request scans raw history. Counters are sharded by the writing backend
-- (analytics.f_shard(): pid % 8) so concurrent writers of the same day or campaign rarely wait
-- on one row's lock; readers sum the shards.
create schema if not exists analytics;

-- System-wide counters per UTC day: metric (sent, bounced, staged, duplicates, promoted, failed,
-- people_created, …) and a dimension (a failure reason, a provider, a currency, or '').
create table analytics.daily_counts (
  day    date not null,
  metric text not null,
  dim    text not null default '',
  shard  smallint not null,
  n      bigint not null default 0,
  amount numeric not null default 0,
  primary key (day, metric, dim, shard)
);

-- The counters a campaign's sends and their responses add up to. "unique_*": messages
-- (outreach rows) with at least one such event; the others count events.
create table analytics.campaign_steps (
  campaign_id         bigint not null,
  step_no             smallint not null,
  shard               smallint not null,
  sent                bigint not null default 0,
  bounced             bigint not null default 0,   -- messages with a hard or soft bounce
  hard_bounces        bigint not null default 0,
  soft_bounces        bigint not null default 0,
  opens               bigint not null default 0,
  human_opens         bigint not null default 0,
  machine_opens       bigint not null default 0,
  unique_opens        bigint not null default 0,
  unique_human_opens  bigint not null default 0,
  clicks              bigint not null default 0,
  human_clicks        bigint not null default 0,
  bot_clicks          bigint not null default 0,
  unique_clicks       bigint not null default 0,
  unique_human_clicks bigint not null default 0,
  replies             bigint not null default 0,   -- messages with a human reply
  auto_replies        bigint not null default 0,
  unsubscribes        bigint not null default 0,
  complaints          bigint not null default 0,
  primary key (campaign_id, step_no, shard)
);

-- The same counters per campaign and UTC day (of the send, or of the event), for the dashboard's
-- top campaigns over a date range.
create table analytics.campaign_daily (like analytics.campaign_steps including defaults);
alter table analytics.campaign_daily drop column step_no, add column day date not null,
  add primary key (campaign_id, day, shard);
create index campaign_daily_day on analytics.campaign_daily (day);

-- Clicks per link of a campaign (url_hash: md5 of the URL, which may be long).
create table analytics.campaign_links (
  campaign_id         bigint not null,
  url_hash            text not null,
  shard               smallint not null,
  url                 text not null,
  clicks              bigint not null default 0,
  human_clicks        bigint not null default 0,
  bot_clicks          bigint not null default 0,
  unique_clicks       bigint not null default 0,
  unique_human_clicks bigint not null default 0,
  primary key (campaign_id, url_hash, shard)
);

-- A campaign's messages by the recipient's segment when sent or when the response came:
-- dimension company_domain (the contact's), seniority (its golden person), industry (its company).
create table analytics.campaign_segments (
  campaign_id         bigint not null,
  dimension           text not null check (dimension in ('company_domain', 'seniority', 'industry')),
  value               text not null,
  shard               smallint not null,
  sent                bigint not null default 0,
  bounced             bigint not null default 0,
  unique_human_opens  bigint not null default 0,
  unique_human_clicks bigint not null default 0,
  replies             bigint not null default 0,
  unsubscribes        bigint not null default 0,
  primary key (campaign_id, dimension, value, shard)
);

-- Attributed credit per campaign, model, currency and UTC day of the conversion; conversions:
-- how many conversions gave the campaign credit in that model.
create table analytics.attribution_daily (
  campaign_id bigint not null,
  day         date not null,
  model       text not null,
  currency    text not null,
  shard       smallint not null,
  conversions bigint not null default 0,
  credit      numeric not null default 0,
  primary key (campaign_id, day, model, currency, shard)
);
create index attribution_daily_day on analytics.attribution_daily (day);

-- What has already been counted once per message: first open, first human click, … (flag), and
-- first click per link. Inserting (ON CONFLICT DO NOTHING) is the test, so concurrent events of
-- one message never count a "unique" twice.
create table analytics.outreach_firsts (
  outreach_id bigint not null,
  flag        text not null,
  primary key (outreach_id, flag)
);
create table analytics.outreach_link_firsts (
  outreach_id bigint not null,
  url_hash    text not null,
  flag        text not null check (flag in ('click', 'human_click')),
  primary key (outreach_id, url_hash, flag)
);
-- Contacts with matched provider data at least once (enrichment coverage).
create table analytics.enriched_contacts (
  contact_id bigint primary key
);

-- When the rollups were (re)built from the raw tables: sql/functions/analytics.sql builds them
-- once after this migration (existing data is counted), and analytics.f_rebuild_rollups() again.
create table analytics.rollup_state (
  singleton boolean primary key default true check (singleton),
  built_at  timestamptz
);
insert into analytics.rollup_state default values;
