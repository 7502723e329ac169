-- Layer 5 of the seed: campaigns, their templates and steps, the send ledger (outreach_history),
-- suppressions, attribution and feedback reports, plus the shared send-throttle buckets.
create schema if not exists marketing;

-- Liquid templates (strict variables: checked against the contact variables at save).
create table marketing.templates (
  template_id bigint generated always as identity primary key,
  name        text not null,
  subject     text not null,
  html        text,
  text_body   text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  check (html is not null or text_body is not null)
);

create table marketing.campaigns (
  campaign_id     bigint generated always as identity primary key,
  name            text not null,
  status          text not null default 'draft'
                  check (status in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
  from_email      text not null,
  from_name       text,
  reply_to        text,
  -- target selection (see activities/campaign.ts audienceFilter); {} means the seed's default
  criteria        jsonb not null default '{}',
  time_zone       text not null default 'UTC',  -- fallback for recipients without one
  -- sending window: ISO weekdays (1 = Monday) and local start/end times; null = any time
  window_days     smallint[],
  window_start    time,
  window_end      time,
  rate_per_minute integer not null default 60 check (rate_per_minute > 0),
  sent_count      integer not null default 0,
  response_count  integer not null default 0,
  workflow_id     text,
  last_run_at     timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  started_at      timestamptz,
  completed_at    timestamptz,
  check ((window_start is null) = (window_end is null))
);

-- Step n goes delay_seconds after step n-1 was sent to that contact (step 1: at once).
create table marketing.campaign_steps (
  campaign_id   bigint not null references marketing.campaigns (campaign_id) on delete cascade,
  step_no       smallint not null check (step_no >= 1),
  template_id   bigint not null references marketing.templates (template_id),
  delay_seconds integer not null default 0 check (delay_seconds >= 0),
  primary key (campaign_id, step_no)
);

-- One row per contact x step: the idempotency key of a send. status moves
-- queued -> sending (claimed, before SMTP) -> sent (confirmed, after SMTP) | failed,
-- or queued -> stopped (replied) | suppressed | cancelled.
create table marketing.outreach_history (
  outreach_id     bigint generated always as identity primary key,
  campaign_id     bigint not null references marketing.campaigns (campaign_id) on delete cascade,
  contact_id      bigint not null references vault.contacts (contact_id),
  step_no         smallint not null,
  email           text not null,
  time_zone       text,
  status          text not null default 'queued'
                  check (status in ('queued', 'sending', 'sent', 'failed', 'stopped', 'suppressed', 'cancelled')),
  due_at          timestamptz,          -- null until the previous step was sent
  claim_token     text,                 -- which activity holds the row while sending
  lease_until     timestamptz,
  attempts        smallint not null default 0,
  message_id      text,
  smtp_response   text,
  failure_reason  text,
  queued_at       timestamptz not null default now(),
  sent_at         timestamptz,
  opened_at       timestamptz,
  open_count      integer not null default 0,
  clicked_at      timestamptz,
  click_count     integer not null default 0,
  replied_at      timestamptz,
  bounced_at      timestamptz,
  bounce_type     text check (bounce_type in ('hard', 'soft', 'complaint')),
  soft_bounces    integer not null default 0,
  unsubscribed_at timestamptz,
  unique (campaign_id, contact_id, step_no)
);
create index outreach_due on marketing.outreach_history (campaign_id, due_at) where status = 'queued';
create index outreach_sending on marketing.outreach_history (campaign_id) where status = 'sending';
-- Every claim and confirm rewrites the row with a new status, so each index costs an insert per
-- send: only these. Lookups by (campaign, contact) use the unique key; a Message-ID carries its
-- outreach_id (<oh.{outreach_id}.c{campaign_id}@domain>), so it needs no index of its own;
-- a sender's address is found through vault.contacts (unique email) and this index.
create index outreach_contact on marketing.outreach_history (contact_id);

-- Addresses nobody may send to, from any campaign.
create table marketing.suppressions (
  email       text primary key,
  reason      text not null check (reason in ('unsubscribed', 'bounced', 'complained', 'do_not_contact', 'manual')),
  source      text,
  outreach_id bigint,
  created_at  timestamptz not null default now()
);

create table marketing.attribution (
  attribution_id bigint generated always as identity primary key,
  contact_id     bigint not null references vault.contacts (contact_id),
  outreach_id    bigint references marketing.outreach_history (outreach_id),
  campaign_id    bigint references marketing.campaigns (campaign_id),
  model          text not null check (model in ('first_touch', 'last_touch', 'linear')),
  weight         numeric not null,
  conversion     jsonb not null default '{}',
  created_at     timestamptz not null default now()
);

create table marketing.feedback_reports (
  report_id   bigint generated always as identity primary key,
  campaign_id bigint not null references marketing.campaigns (campaign_id) on delete cascade,
  report      jsonb not null,
  created_at  timestamptz not null default now()
);

-- Token buckets shared by every worker: one per campaign and one per sending domain.
create table marketing.send_buckets (
  bucket_key   text primary key,
  tokens       double precision not null,
  rate_per_sec double precision not null,
  burst        double precision not null,
  updated_at   timestamptz not null default clock_timestamp()
);

-- Per-sending-domain caps that differ from SEND_DOMAIN_RATE_PER_MINUTE; changed without a redeploy.
create table marketing.sending_domains (
  domain          text primary key,
  rate_per_minute integer not null check (rate_per_minute > 0)
);
