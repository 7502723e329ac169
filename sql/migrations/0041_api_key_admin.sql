-- Issue 10, API keys: optional expiry, when each key was last used (to the minute: the lookup
-- touches it at most once a minute), and the key a rotation replaced.
alter table auth.api_keys
  add column expires_at timestamptz,
  add column last_used_at timestamptz,
  add column rotated_from bigint references auth.api_keys (key_id);
