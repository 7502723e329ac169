-- Browser sessions (issue 11): opened with an API key, revoked by signing out or with their key;
-- each opening and revocation audited in the same transaction (actor: the key's name). The
-- functions that write auth.sessions run as their owner (SECURITY DEFINER, search_path pinned).

-- What the audit log keeps of a session: never its token or hash.
create or replace function auth.f_session_image(s auth.sessions) returns jsonb
language sql stable as $$
  select jsonb_build_object('session_id', s.session_id, 'key_id', s.key_id,
                            'key_prefix', (select prefix from auth.api_keys where key_id = s.key_id),
                            'scopes', to_jsonb(s.scopes), 'expires_at', s.expires_at,
                            'idle_expires_at', s.idle_expires_at, 'revoked_at', s.revoked_at)
$$;

-- Opens a session for an active key: its absolute expiry never passes the key's. Null when the key
-- is not active (revoked or expired meanwhile). Sessions dead for a week are pruned on the way.
create or replace function auth.f_create_session(p_key_id bigint, p_token_hash bytea, p_idle interval, p_absolute interval)
returns auth.sessions language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  k auth.api_keys;
  s auth.sessions;
  v_expires timestamptz;
begin
  select * into k from auth.api_keys
   where key_id = p_key_id and revoked_at is null and (expires_at is null or expires_at > now());
  if not found then return null; end if;
  delete from auth.sessions where expires_at < now() - interval '7 days';
  v_expires := least(now() + p_absolute, k.expires_at);
  insert into auth.sessions (token_hash, key_id, scopes, idle_expires_at, expires_at)
  values (p_token_hash, k.key_id, k.scopes, least(now() + p_idle, v_expires), v_expires)
  returning * into s;
  perform intake.f_audit('session_created', 'session', s.session_id::text, null, auth.f_session_image(s));
  return s;
end $$;

-- A live session was seen: its idle expiry moves on (never past its absolute expiry).
create or replace function auth.f_touch_session(p_session_id bigint, p_idle interval) returns void
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  update auth.sessions set last_seen_at = now(), idle_expires_at = least(now() + p_idle, expires_at)
   where session_id = p_session_id and revoked_at is null
$$;

-- Signs a session out by its token's hash; null when no unrevoked session has it.
create or replace function auth.f_revoke_session(p_token_hash bytea) returns auth.sessions
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  s auth.sessions;
begin
  update auth.sessions set revoked_at = now() where token_hash = p_token_hash and revoked_at is null returning * into s;
  if not found then return null; end if;
  perform intake.f_audit('session_revoked', 'session', s.session_id::text, jsonb_build_object('revoked_at', null),
                         jsonb_build_object('revoked_at', s.revoked_at, 'reason', 'signed_out'));
  return s;
end $$;

-- Revokes every session of a key (its revocation or rotation), each audited; the number revoked.
create or replace function auth.f_revoke_key_sessions(p_key_id bigint, p_reason text) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  s record;
  n integer := 0;
begin
  for s in update auth.sessions set revoked_at = now() where key_id = p_key_id and revoked_at is null returning session_id, revoked_at loop
    perform intake.f_audit('session_revoked', 'session', s.session_id::text, jsonb_build_object('revoked_at', null),
                           jsonb_build_object('revoked_at', s.revoked_at, 'reason', p_reason));
    n := n + 1;
  end loop;
  return n;
end $$;
