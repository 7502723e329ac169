-- "Select all matching" in the Contacts view: a bulk action over a filter of vault.contacts (not
-- the rows a browser loaded), once per idempotency key: a retried request finds its row and
-- acts no second time. matched is the selection's count when it acted, affected what changed.
create table vault.contact_bulk_actions (
  bulk_id         bigint generated always as identity primary key,
  idempotency_key text not null unique,
  -- the request as first made (a reuse of the key with another request is refused)
  request         jsonb not null,
  action          text not null check (action in ('enrich', 'add_to_campaign', 'suppress')),
  campaign_id     bigint references marketing.campaigns (campaign_id) on delete set null,
  matched         integer not null,
  affected        integer not null,
  workflow_id     text,
  actor           text,
  created_at      timestamptz not null default now()
);

-- Contacts added to a campaign's audience by hand (a bulk action), beside its criteria: a run's
-- snapshot queues them too, while they are active and not suppressed.
create table marketing.campaign_members (
  campaign_id bigint not null references marketing.campaigns (campaign_id) on delete cascade,
  contact_id  bigint not null references vault.contacts (contact_id),
  bulk_id     bigint references vault.contact_bulk_actions (bulk_id) on delete set null,
  added_at    timestamptz not null default now(),
  primary key (campaign_id, contact_id)
);
