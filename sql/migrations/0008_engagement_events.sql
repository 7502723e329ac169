-- One row per response event of a send: the facts that reports, attribution and the dashboard
-- count. outreach_history keeps its first-seen timestamps and counters for the send loop (stop on
-- reply, suppression); this table keeps every event with its verdict, so "unique", "human" and
-- "per link" can be counted without the tracking endpoints knowing what a report wants.
create table marketing.engagement_events (
  event_id      bigint generated always as identity primary key,
  outreach_id   bigint not null references marketing.outreach_history (outreach_id) on delete cascade,
  campaign_id   bigint not null,
  step_no       smallint not null,
  contact_id    bigint not null,
  kind          text not null check (kind in ('open', 'click', 'reply', 'auto_reply', 'hard_bounce',
                                              'soft_bounce', 'complaint', 'unsubscribe')),
  -- who did it: a person, a mail proxy fetching images (opens), a link scanner (clicks)
  verdict       text not null default 'human' check (verdict in ('human', 'machine', 'bot')),
  agent_class   text,         -- the user agent's class (apple_mpp, gmail_proxy, scanner, browser, …); never the IP
  url           text,         -- a click's target
  seconds_after_send integer, -- from the send's sent_at, when known
  details       jsonb not null default '{}',
  occurred_at   timestamptz not null default now(),
  dedupe_key    text unique   -- an inbound event's own identity (IMAP UIDVALIDITY:UID, provider event id)
);
create index engagement_events_campaign on marketing.engagement_events (campaign_id, kind, occurred_at);
create index engagement_events_contact on marketing.engagement_events (contact_id, occurred_at);
create index engagement_events_outreach on marketing.engagement_events (outreach_id);
