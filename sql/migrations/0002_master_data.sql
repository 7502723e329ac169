-- Layers 3 and 4 of the seed: source slots → golden records (company.master, people.master) with
-- field-level history. Resolution and survivorship live in sql/functions/master.sql.
create schema if not exists company;
create schema if not exists people;
create extension if not exists pg_trgm;

create table company.master (
  company_id     bigint generated always as identity primary key,
  name           text,
  domain         text,           -- registrable domain (public-suffix aware)
  website        text,
  linkedin_url   text,           -- canonical https://www.linkedin.com/company/<slug>
  industry       text,
  employee_count integer,
  phone          text,
  city           text,
  state          text,
  country        text,
  -- per field: which slot's value won ({"name": {"source", "slot_id", "seen_at"}})
  field_sources  jsonb not null default '{}',
  merged_into    bigint references company.master (company_id),
  version        integer not null default 1,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create index company_master_domain on company.master (domain) where merged_into is null;
create index company_master_name_trgm on company.master using gin (name gin_trgm_ops);

-- Match keys: every domain, LinkedIn URL and normalized name any slot of a master carried.
-- One master per key, so "two masters share a key" can only arise as a merge.
create table company.master_key (
  kind       text not null check (kind in ('domain', 'linkedin', 'name')),
  value      text not null,
  company_id bigint not null references company.master (company_id),
  primary key (kind, value)
);
create index company_master_key_company on company.master_key (company_id);

-- One company as one source described it; lineage: source, source key/id, load, seen at.
create table company.slot (
  slot_id        bigint generated always as identity primary key,
  source         text not null,
  source_key     text not null,  -- the source's own id, else its strongest match key
  source_id      text,           -- the source's company id (Apollo account id, …) when it has one
  load_id        bigint not null,
  seen_at        timestamptz not null,  -- when these values were first seen (recency in survivorship)
  last_seen_at   timestamptz not null,
  company_id     bigint references company.master (company_id),
  name           text,
  domain         text,
  website        text,
  linkedin_url   text,
  industry       text,
  employee_count integer,
  phone          text,
  city           text,
  state          text,
  country        text,
  name_key       text,
  unique (source, source_key)
);
create index company_slot_company on company.slot (company_id);

create table people.master (
  person_id     bigint generated always as identity primary key,
  email         text,
  first_name    text,
  last_name     text,
  full_name     text,
  title         text,
  headline      text,
  seniority     text,
  departments   text,
  phone         text,
  linkedin_url  text,           -- canonical https://www.linkedin.com/in/<slug>
  city          text,
  state         text,
  country       text,
  company_id    bigint references company.master (company_id),
  field_sources jsonb not null default '{}',
  merged_into   bigint references people.master (person_id),
  version       integer not null default 1,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
create index people_master_company on people.master (company_id) where merged_into is null;

create table people.master_key (
  kind      text not null check (kind in ('email', 'linkedin', 'name_domain')),
  value     text not null,
  person_id bigint not null references people.master (person_id),
  primary key (kind, value)
);
create index people_master_key_person on people.master_key (person_id);

create table people.slot (
  slot_id          bigint generated always as identity primary key,
  source           text not null,
  source_key       text not null,
  source_id        text,
  load_id          bigint,         -- null for a person's edit through the API (source 'manual_edit')
  contact_id       bigint references vault.contacts (contact_id),
  seen_at          timestamptz not null,
  last_seen_at     timestamptz not null,
  person_id        bigint references people.master (person_id),
  company_slot_id  bigint references company.slot (slot_id),
  company_id       bigint references company.master (company_id),
  email            text,
  first_name       text,
  last_name        text,
  full_name        text,
  title            text,
  headline         text,
  seniority        text,
  departments      text,
  phone            text,
  linkedin_url     text,
  city             text,
  state            text,
  country          text,
  company_domain   text,
  unique (source, source_key)
);
create index people_slot_person on people.slot (person_id);
create index people_slot_contact on people.slot (contact_id);
create index people_slot_company on people.slot (company_id);

-- Field-level change log: one row per changed field (action 'set'), plus merge records.
-- A merge row's details hold the loser's snapshot and every moved row id, enough to reverse it.
create table company.history (
  history_id  bigint generated always as identity primary key,
  company_id  bigint not null references company.master (company_id),
  action      text not null default 'set' check (action in ('set', 'merge', 'merged_into')),
  field       text not null,
  old_value   jsonb,
  new_value   jsonb,
  source      text,
  slot_id     bigint,
  load_id     bigint,
  workflow_id text,
  details     jsonb,
  at          timestamptz not null default now()
);
create index company_history_company on company.history (company_id, history_id);

create table people.history (
  history_id  bigint generated always as identity primary key,
  person_id   bigint not null references people.master (person_id),
  action      text not null default 'set' check (action in ('set', 'merge', 'merged_into')),
  field       text not null,
  old_value   jsonb,
  new_value   jsonb,
  source      text,
  slot_id     bigint,
  load_id     bigint,
  workflow_id text,
  details     jsonb,
  at          timestamptz not null default now()
);
create index people_history_person on people.history (person_id, history_id);

-- Contact search and listing (GET /api/contacts): a trigram index over the searchable text and
-- keyset indexes for each sort, so every page is an index range scan.
create or replace function vault.f_contact_search_text(email text, full_name text, first_name text, last_name text, company_name text, company_domain text)
returns text language sql immutable parallel safe as $$
  select lower(concat_ws(' ', full_name, first_name, last_name, email, company_name, company_domain))
$$;
create index contacts_search_trgm on vault.contacts
  using gin (vault.f_contact_search_text(email, full_name, first_name, last_name, company_name, company_domain) gin_trgm_ops);
create index contacts_updated_keyset on vault.contacts (updated_at desc, contact_id desc);
create index contacts_created_keyset on vault.contacts (created_at desc, contact_id desc);
create index contacts_score_keyset on vault.contacts (score desc, contact_id desc);
create index contacts_name_keyset on vault.contacts ((coalesce(last_name, '')), (coalesce(first_name, '')), contact_id);
create index contacts_source on vault.contacts (source, updated_at desc, contact_id desc);
-- the common filters (status, source) with the score sort: without these a filter that is rare
-- among high scores walks most of contacts_score_keyset
create index contacts_source_score on vault.contacts (source, score desc, contact_id desc);
create index contacts_status_score_keyset on vault.contacts (status, score desc, contact_id desc);
create index contacts_domain_keyset on vault.contacts (company_domain, updated_at desc, contact_id desc);
create index contacts_title_trgm on vault.contacts using gin (lower(title) gin_trgm_ops);
create index contacts_status_updated on vault.contacts (status, updated_at desc, contact_id desc);
