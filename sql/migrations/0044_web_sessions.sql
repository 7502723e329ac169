-- Issue 11, sign-in: browser sessions opened with an API key. The cookie carries a random token;
-- only its sha256 is stored. A session acts with its key's name, scopes and rate limit, and dies
-- with the key (revoked, rotated away or expired), when idle too long, or at its absolute expiry.
create table auth.sessions (
  session_id      bigint generated always as identity primary key,
  token_hash      bytea not null unique,  -- sha256 of the cookie's token; the token is never stored
  key_id          bigint not null references auth.api_keys (key_id),
  scopes          text[] not null,        -- the key's scopes when the session was opened
  created_at      timestamptz not null default now(),
  last_seen_at    timestamptz not null default now(),  -- to the minute
  idle_expires_at timestamptz not null,
  expires_at      timestamptz not null,   -- absolute: never later than the key's own expiry
  revoked_at      timestamptz,
  check (idle_expires_at <= expires_at)
);
-- a key's live sessions, revoked with it
create index sessions_key_live on auth.sessions (key_id) where revoked_at is null;
-- pruning of sessions long dead
create index sessions_expires_at on auth.sessions (expires_at);
