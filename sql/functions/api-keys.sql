-- API keys (issue 10): create, revoke and rotate, each audited in the same transaction (the actor
-- comes from the transaction's audit context: the admin key's name, or the script); the shared
-- per-key rate limit; the replay guard of signed provider webhooks.
-- Every function that writes auth.* runs as its owner (SECURITY DEFINER, search_path pinned, every
-- name schema-qualified): the processes' role reads these tables and cannot write them directly.

-- What the audit log keeps of a key: never its hash.
create or replace function auth.f_api_key_image(k auth.api_keys) returns jsonb
language sql immutable as $$
  select jsonb_build_object('key_id', k.key_id, 'name', k.name, 'prefix', k.prefix, 'workspace_id', k.workspace_id, 'scopes', to_jsonb(k.scopes),
                            'rate_limit_per_minute', k.rate_limit_per_minute, 'expires_at', k.expires_at,
                            'revoked_at', k.revoked_at, 'rotated_from', k.rotated_from)
$$;

-- The workspace with this slug, made (and audited, workspace_created) when there is none.
create or replace function auth.f_ensure_workspace(p_slug text, p_name text default null) returns auth.workspaces
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  w auth.workspaces;
begin
  insert into auth.workspaces (slug, name) values (p_slug, coalesce(p_name, p_slug))
  on conflict (slug) do nothing
  returning * into w;
  if found then
    -- a workspace's creation is the first row of its own audit log
    perform set_config('app.workspace_id', w.workspace_id::text, true);
    perform intake.f_audit('workspace_created', 'workspace', w.workspace_id::text, null, to_jsonb(w));
    return w;
  end if;
  select * into w from auth.workspaces where slug = p_slug;
  return w;
end $$;

create or replace function auth.f_create_api_key(p_name text, p_prefix text, p_secret_hash text, p_scopes text[],
                                                 p_rate_limit_per_minute integer, p_expires_at timestamptz,
                                                 p_workspace_id integer)
returns auth.api_keys language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  k auth.api_keys;
begin
  insert into auth.api_keys (name, prefix, secret_hash, scopes, rate_limit_per_minute, expires_at, workspace_id)
  values (p_name, p_prefix, p_secret_hash, p_scopes, p_rate_limit_per_minute, p_expires_at, p_workspace_id)
  returning * into k;
  perform intake.f_audit('api_key_created', 'api_key', k.prefix, null, auth.f_api_key_image(k));
  return k;
end $$;

-- Stamps a key's last use, at most once a minute whoever else stamped it (the caller does not wait
-- for it; the change trigger of 0055 notifies nothing for it).
create or replace function auth.f_stamp_api_key_use(p_key_id bigint) returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  update auth.api_keys set last_used_at = now()
   where key_id = p_key_id and (last_used_at is null or last_used_at < now() - interval '1 minute')
$$;

-- Revokes the active key with this prefix; null when there is none.
create or replace function auth.f_revoke_api_key(p_prefix text) returns auth.api_keys
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  k auth.api_keys;
begin
  update auth.api_keys set revoked_at = now() where prefix = p_prefix and revoked_at is null returning * into k;
  if not found then return null; end if;
  perform auth.f_revoke_key_sessions(k.key_id, 'api_key_revoked');
  perform intake.f_audit('api_key_revoked', 'api_key', k.prefix, jsonb_build_object('revoked_at', null),
                         jsonb_build_object('revoked_at', k.revoked_at));
  return k;
end $$;

-- Replaces the active key with this prefix by a new secret with the same name, scopes, limit and
-- expiry; the old one stops at once. Null when there is no active key with this prefix.
create or replace function auth.f_rotate_api_key(p_prefix text, p_new_prefix text, p_new_secret_hash text) returns auth.api_keys
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  old auth.api_keys;
  k auth.api_keys;
begin
  update auth.api_keys set revoked_at = now()
   where prefix = p_prefix and revoked_at is null and (expires_at is null or expires_at > now())
  returning * into old;
  if not found then return null; end if;
  perform auth.f_revoke_key_sessions(old.key_id, 'api_key_rotated');
  insert into auth.api_keys (name, prefix, secret_hash, scopes, rate_limit_per_minute, expires_at, rotated_from, workspace_id)
  values (old.name, p_new_prefix, p_new_secret_hash, old.scopes, old.rate_limit_per_minute, old.expires_at, old.key_id, old.workspace_id)
  returning * into k;
  perform intake.f_audit('api_key_rotated', 'api_key', old.prefix,
                         jsonb_build_object('prefix', old.prefix, 'revoked_at', null),
                         jsonb_build_object('prefix', k.prefix, 'key_id', k.key_id, 'revoked_at', old.revoked_at));
  return k;
end $$;

-- One request against a bucket's fixed window (@fastify/rate-limit's store contract): the hits
-- so far in the window, this one included, and the milliseconds until it ends. The row lock
-- serializes the processes' counts of one key.
create or replace function auth.f_hit_rate_limit(p_bucket text, p_window_ms integer)
returns table (hits integer, ttl_ms integer) language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  insert into auth.rate_limit_windows as w (bucket, window_ends_at, hits)
  values (p_bucket, clock_timestamp() + p_window_ms * interval '1 millisecond', 1)
  on conflict (bucket) do update
    set hits = case when w.window_ends_at <= clock_timestamp() then 1 else w.hits + 1 end,
        window_ends_at = case when w.window_ends_at <= clock_timestamp()
                              then clock_timestamp() + p_window_ms * interval '1 millisecond' else w.window_ends_at end
  returning w.hits, greatest(0, ceil(extract(epoch from w.window_ends_at - clock_timestamp()) * 1000))::integer
$$;

-- Takes up to p_want requests of a bucket's fixed window at once, never past p_max in all: an API
-- process reserves a block and counts it down in memory (api/plugins/rate-limit-store.ts), so a
-- busy key costs one round trip per block instead of one per request. granted 0: the window is
-- spent until ttl_ms. hits: the window's count after this take (what was granted included).
create or replace function auth.f_take_rate_limit(p_bucket text, p_window_ms integer, p_want integer, p_max integer)
returns table (granted integer, hits integer, ttl_ms integer) language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
#variable_conflict use_column
declare
  w auth.rate_limit_windows;
  n integer;
begin
  -- the row lock taken here serializes the processes' takes of one bucket
  insert into auth.rate_limit_windows as r (bucket, window_ends_at, hits)
  values (p_bucket, clock_timestamp() + p_window_ms * interval '1 millisecond', 0)
  on conflict (bucket) do update
    set hits = case when r.window_ends_at <= clock_timestamp() then 0 else r.hits end,
        window_ends_at = case when r.window_ends_at <= clock_timestamp()
                              then clock_timestamp() + p_window_ms * interval '1 millisecond' else r.window_ends_at end
  returning * into w;
  n := greatest(0, least(p_want, p_max - w.hits));
  if n > 0 then
    update auth.rate_limit_windows set hits = w.hits + n where bucket = p_bucket;
  end if;
  return query select n, w.hits + n, greatest(0, ceil(extract(epoch from w.window_ends_at - clock_timestamp()) * 1000))::integer;
end $$;

-- A webhook signature's token, accepted once: false when it was seen before (a replay). Tokens
-- older than a signature's 5-minute life are pruned on the way.
create or replace function auth.f_claim_webhook_token(p_token text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  delete from auth.webhook_tokens where seen_at < now() - interval '10 minutes';
  insert into auth.webhook_tokens (token) values (p_token) on conflict (token) do nothing;
  return found;
end $$;

create or replace function auth.f_release_webhook_token(p_token text) returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  delete from auth.webhook_tokens where token = p_token
$$;
