-- Layer 4 of the seed (enrichment): provider intelligence with a 30-day TTL, and the ledgers
-- that make an enrichment request exactly-once under Temporal retries. Depends only on 0001.
create schema if not exists people;
create schema if not exists enrich;

-- What a provider last said about a contact. One row per contact and provider; a miss is kept
-- too (matched = false) so a person Apollo does not know is not asked again for 30 days.
create table people.intelligence (
  contact_id  bigint not null references vault.contacts (contact_id) on delete cascade,
  provider    text not null check (provider in ('apollo', 'apify')),
  matched     boolean not null,
  payload     jsonb,               -- the provider's record as it came (null on a miss)
  request_id  text,
  fetched_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  primary key (contact_id, provider)
);
create index intelligence_expires on people.intelligence (expires_at);

-- One enrichment request (workflow enrich:<request_id>) with its credit budget.
create table enrich.requests (
  request_id       text primary key,
  providers        text[] not null,
  waterfall        jsonb not null,   -- [{field, providers:[…]}] in the order fields are resolved
  force            boolean not null default false,
  credit_budget    integer check (credit_budget is null or credit_budget >= 0),
  credits_reserved integer not null default 0,  -- held by calls in flight plus spent by finished ones
  credits_used     integer not null default 0,
  ttl_days         integer not null default 30,
  actor            text,
  workflow_id      text,
  planned_at       timestamptz,
  written_back_at  timestamptz,
  written_back     integer,
  created_at       timestamptz not null default now()
);

-- The people a request covers; skipped_fresh: their intelligence had not expired (and no force).
create table enrich.request_contacts (
  request_id    text not null references enrich.requests (request_id) on delete cascade,
  contact_id    bigint not null references vault.contacts (contact_id) on delete cascade,
  skipped_fresh boolean not null,
  primary key (request_id, contact_id)
);

-- One provider call (an Apollo bulk_match of ≤ 10, an Apify run): the exactly-once ledger.
-- planned → done | failed | skipped_budget. Credits are reserved before the call and the unused
-- part released in the same transaction that records the results.
create table enrich.provider_calls (
  request_id       text not null references enrich.requests (request_id) on delete cascade,
  provider         text not null,
  round            integer not null,
  chunk_no         integer not null,
  contact_ids      bigint[] not null,
  status           text not null default 'planned' check (status in ('planned', 'done', 'failed', 'skipped_budget')),
  credits_reserved integer,
  credits_used     integer not null default 0,
  matched          integer not null default 0,
  failure          text,
  done_at          timestamptz,
  primary key (request_id, provider, round, chunk_no)
);

-- Fields each provider filled for each contact in a request (only non-empty values), the input
-- of the per-field waterfall.
create table enrich.results (
  request_id text not null references enrich.requests (request_id) on delete cascade,
  contact_id bigint not null,
  provider   text not null,
  fields     jsonb not null,
  primary key (request_id, contact_id, provider)
);
