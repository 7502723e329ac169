-- Results, part 1: conversions and their multi-touch attribution (sql/functions/attribution.sql
-- computes it). A conversion names a contact; its touches are that contact's sends, human opens,
-- human clicks and human replies within the lookback window before it.

create table marketing.conversions (
  conversion_id  bigint generated always as identity primary key,
  -- the caller's own id of the conversion: a repeat of it answers the stored conversion
  external_id    text not null unique,
  contact_id     bigint not null references vault.contacts (contact_id),
  type           text not null,
  value          numeric not null check (value >= 0),
  currency       text not null check (currency ~ '^[A-Z]{3}$'),
  -- the currency's minor units (2 for USD, 0 for JPY, 3 for KWD): credits are whole minor units
  currency_scale smallint not null check (currency_scale between 0 and 4),
  occurred_at    timestamptz not null,
  source         text not null default 'api' check (source in ('api', 'csv', 'reply')),
  details        jsonb not null default '{}',
  created_at     timestamptz not null default now(),
  check (value = round(value, currency_scale))
);
create index conversions_contact on marketing.conversions (contact_id, occurred_at);
create index conversions_occurred on marketing.conversions (occurred_at);

-- One row of settings: the lookback window, time decay's half-life, and whether a human reply
-- is itself a conversion (B2B's primary signal) and with what type and value.
create table marketing.attribution_settings (
  singleton       boolean primary key default true check (singleton),
  lookback_days   integer not null default 30 check (lookback_days between 1 and 3650),
  half_life_days  numeric not null default 7 check (half_life_days > 0 and half_life_days <= 3650),
  reply_is_conversion boolean not null default false,
  reply_type      text not null default 'reply',
  reply_value     numeric not null default 0 check (reply_value >= 0),
  reply_currency  text not null default 'USD' check (reply_currency ~ '^[A-Z]{3}$'),
  reply_currency_scale smallint not null default 2 check (reply_currency_scale between 0 and 4),
  updated_at      timestamptz not null default now(),
  check (reply_value = round(reply_value, reply_currency_scale))
);
insert into marketing.attribution_settings default values;

-- marketing.attribution (0004) was never written by anything: it becomes one row per
-- conversion x touch x model with an exact credit in the conversion's currency.
delete from marketing.attribution;
alter table marketing.attribution
  drop constraint attribution_model_check,
  drop column weight,
  drop column conversion,
  add column conversion_id bigint not null references marketing.conversions (conversion_id) on delete cascade,
  add column touch_no smallint not null check (touch_no >= 1),
  add column touch_kind text not null check (touch_kind in ('send', 'open', 'click', 'reply')),
  add column touched_at timestamptz not null,
  add column event_id bigint,
  add column step_no smallint,
  add column credit numeric not null check (credit >= 0),
  add column currency text not null,
  add column converted_at timestamptz not null,  -- the conversion's occurred_at (rollups read it after a cascade)
  add constraint attribution_model_check
    check (model in ('first_touch', 'last_touch', 'linear', 'time_decay', 'position_based')),
  add constraint attribution_one_credit unique (conversion_id, model, touch_no);
create index attribution_campaign on marketing.attribution (campaign_id, model);
