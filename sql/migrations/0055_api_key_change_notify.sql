-- Issue 15: API processes keep verified keys in memory (api/plugins/auth.ts). Any change that can
-- stop a key (revoke, rotate, expiry, scopes, limit, deletion) notifies channel api_key_changed
-- with the key's prefix at commit, whoever makes it (the SQL functions, a script, a hand-written
-- update), so every process drops that key at once. last_used_at stamps notify nothing.
create function auth.f_notify_api_key_changed() returns trigger
language plpgsql as $$
begin
  if tg_op = 'UPDATE' and (old.prefix, old.secret_hash, old.scopes, old.rate_limit_per_minute, old.expires_at, old.revoked_at)
                          is not distinct from (new.prefix, new.secret_hash, new.scopes, new.rate_limit_per_minute, new.expires_at, new.revoked_at) then
    return null;
  end if;
  perform pg_notify('api_key_changed', old.prefix);
  return null;
end $$;

create trigger api_keys_notify_change after update or delete on auth.api_keys
  for each row execute function auth.f_notify_api_key_changed();
