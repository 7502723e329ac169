-- Layers 1 and 2 of the seed: staging (intake) and validated contacts (vault), plus API keys.
create schema if not exists intake;
create schema if not exists vault;
create schema if not exists auth;

-- An upload as the API received it. Rows wait here (not in workflow payloads) until the
-- ingest workflow moves them, chunk by chunk, into raw_loads; then they are deleted.
create table intake.batches (
  batch_id    text primary key,
  source      text not null,
  row_count   integer not null check (row_count >= 0),
  actor       text,
  created_at  timestamptz not null default now()
);

create table intake.batch_rows (
  batch_id text not null references intake.batches (batch_id) on delete cascade,
  row_no   integer not null,
  payload  jsonb not null,
  primary key (batch_id, row_no)
);

create table intake.raw_loads (
  load_id        bigint generated always as identity primary key,
  batch_id       text not null,
  row_no         integer not null,
  source         text not null,
  raw            jsonb not null,
  email          text,            -- normalized (trimmed, lower case); null when the row has none
  row_hash       text,            -- md5 of the raw payload, for rows without an email (their duplicate key)
  status         text not null default 'pending'
                 check (status in ('pending', 'duplicate', 'promoted', 'failed')),
  failure_reason text,
  contact_id     bigint,
  created_at     timestamptz not null default now(),
  promoted_at    timestamptz,
  -- a retried chunk can never stage the same source row twice
  unique (batch_id, row_no)
);
-- duplicate detection: "same email (or same payload) seen in the last 30 days"
create index raw_loads_email_created on intake.raw_loads (email, created_at) where email is not null;
create index raw_loads_hash_created on intake.raw_loads (row_hash, created_at) where email is null;
-- promotion scans only what is still pending (seed: partial indexes for status)
create index raw_loads_pending_batch on intake.raw_loads (batch_id, load_id) where status = 'pending';
create index raw_loads_pending on intake.raw_loads (load_id) where status = 'pending';

-- Exactly-once ledgers: a chunk's counts are written in the same transaction as its rows,
-- so an activity retried after a commit returns the stored counts instead of redoing work.
create table intake.ingest_chunks (
  batch_id  text not null,
  chunk_no  integer not null,
  inserted  integer not null,
  skipped   integer not null,
  done_at   timestamptz not null default now(),
  primary key (batch_id, chunk_no)
);

create table intake.promotion_chunks (
  run_key      text not null,    -- the promotion workflow's first run id
  chunk_no     integer not null,
  load_count   integer not null,
  last_load_id bigint,
  promoted     integer not null,
  updated      integer not null,
  failed       integer not null,
  done_at      timestamptz not null default now(),
  primary key (run_key, chunk_no)
);

create table intake.audit_log (
  audit_id    bigint generated always as identity primary key,
  at          timestamptz not null default now(),
  actor       text,
  action      text not null,
  entity      text not null,
  entity_id   text,
  before      jsonb,
  after       jsonb,
  workflow_id text
);
create index audit_log_entity on intake.audit_log (entity, entity_id);
-- append-only and time-ordered: a BRIN index costs next to nothing per insert
create index audit_log_at on intake.audit_log using brin (at);

create table vault.contacts (
  contact_id     bigint generated always as identity primary key,
  email          text not null unique,
  first_name     text,
  last_name      text,
  full_name      text,
  title          text,
  company_name   text,
  company_domain text,
  phone          text,
  linkedin_url   text,
  city           text,
  state          text,
  country        text,
  source         text not null,
  -- consent/suppression state: set by tracking and by people, never by an import
  status         text not null default 'active'
                 check (status in ('active', 'bounced', 'unsubscribed', 'do_not_contact')),
  -- completeness, 0-100 (seed default target: score >= 80):
  -- email 40 + name 15 + title 15 + company 15 + LinkedIn 10 + phone 5
  score          smallint generated always as (
                   40
                   + case when coalesce(full_name, first_name, last_name) is not null then 15 else 0 end
                   + case when title is not null then 15 else 0 end
                   + case when coalesce(company_name, company_domain) is not null then 15 else 0 end
                   + case when linkedin_url is not null then 10 else 0 end
                   + case when phone is not null then 5 else 0 end) stored,
  first_load_id  bigint,
  last_load_id   bigint,
  version        integer not null default 1,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create index contacts_status_score on vault.contacts (status, score);
create index contacts_company_domain on vault.contacts (company_domain);

create table auth.api_keys (
  key_id       bigint generated always as identity primary key,
  name         text not null,
  prefix       text not null unique,  -- shown in lists and logs; the secret is never stored
  secret_hash  text not null,         -- sha256 of the whole key (keys carry 192 random bits)
  scopes       text[] not null,
  rate_limit_per_minute integer not null default 100 check (rate_limit_per_minute > 0),
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz
);
