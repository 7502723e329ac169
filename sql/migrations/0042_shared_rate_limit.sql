-- Issue 10, the per-key rate limit across API processes: one fixed one-minute window per bucket
-- (a key), counted in Postgres by every API process. Unlogged: a counter needs no WAL, and after a
-- crash the windows simply start again empty.
create unlogged table auth.rate_limit_windows (
  bucket         text primary key,
  window_ends_at timestamptz not null,
  hits           integer not null
);
