// auth.sessions: browser sessions opened with an API key (issue 11). The cookie carries a random
// token; only its sha256 is stored. Opening and signing out are SQL functions that audit
// (sql/functions/sessions.sql); revoking or rotating the key revokes its sessions there too.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from './pool';
import { withAudit, type AuditContext } from './audit';
import type { ApiKey, Scope } from './api-keys';

/** A session is dropped after this long without a request… */
export const SESSION_IDLE_MS = 12 * 3_600_000;
/** …and this long after sign-in whatever happens (never later than its key's expiry). */
export const SESSION_ABSOLUTE_MS = 7 * 86_400_000;

export interface Session {
  sessionId: number;
  /** the key the session acts as: its name, scopes and rate limit */
  apiKey: ApiKey;
  createdAt: Date;
  expiresAt: Date;
  idleExpiresAt: Date;
  csrfToken: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * The CSRF token of a session: an HMAC keyed by the session's token, so it is never stored, is
 * computed again from the cookie on each request, and does not reveal the token it came from.
 */
export const csrfTokenOf = (token: string) => createHmac('sha256', token).update('barton-csrf').digest('base64url');

export function csrfTokenMatches(token: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const want = Buffer.from(csrfTokenOf(token));
  const got = Buffer.from(presented);
  return want.length === got.length && timingSafeEqual(want, got);
}

const TOKEN = /^bos_[\w-]{43}$/;

const toSession = (token: string, r: Record<string, any>): Session => ({
  sessionId: r.session_id,
  apiKey: { id: r.key_id, name: r.name, prefix: r.prefix, scopes: r.scopes as Scope[], rateLimitPerMinute: r.rate_limit_per_minute, workspaceId: r.workspace_id },
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  idleExpiresAt: r.idle_expires_at,
  csrfToken: csrfTokenOf(token),
});

/** Opens a session for an active key, audited (session_created); null when the key is no longer active. */
export async function createSession(pool: Pool, apiKey: ApiKey, ctx: AuditContext): Promise<{ token: string; session: Session } | null> {
  const token = `bos_${randomBytes(32).toString('base64url')}`;
  const { rows } = await withAudit(pool, ctx, (db) => db.query(
    `select s.*, k.name, k.prefix, k.rate_limit_per_minute, k.workspace_id
       from auth.f_create_session($1, $2, $3 * interval '1 millisecond', $4 * interval '1 millisecond') s
       join auth.api_keys k using (key_id)`,
    [apiKey.id, sha256(token), SESSION_IDLE_MS, SESSION_ABSOLUTE_MS],
  ));
  return rows.length ? { token, session: toSession(token, rows[0]) } : null;
}

/**
 * The live session a cookie's token belongs to, with its key, or null (unknown, signed out, idle
 * too long, past its expiry, or its key revoked, rotated away or expired). One indexed read per
 * request; the idle expiry moves on at most once a minute, by a write the request does not wait for.
 */
export async function findSession(pool: Pool, token: string): Promise<Session | null> {
  if (!TOKEN.test(token)) return null;
  const { rows } = await pool.query(
    `select s.session_id, s.key_id, s.scopes, s.created_at, s.expires_at, s.idle_expires_at,
            s.last_seen_at < now() - interval '1 minute' as stale, k.name, k.prefix, k.rate_limit_per_minute, k.workspace_id
       from auth.sessions s join auth.api_keys k using (key_id)
      where s.token_hash = $1 and s.revoked_at is null and s.expires_at > now() and s.idle_expires_at > now()
        and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())`,
    [sha256(token)],
  );
  const row = rows[0];
  if (!row) return null;
  if (row.stale) {
    pool.query("select auth.f_touch_session($1, $2 * interval '1 millisecond')", [row.session_id, SESSION_IDLE_MS])
      .catch((err: Error) => console.error(`session ${row.session_id}: idle expiry not moved on: ${err.message}`));
  }
  return toSession(token, row);
}

/** Signs the session with this token out, audited (session_revoked); false when it was not live. */
export async function revokeSession(pool: Pool, token: string, ctx: AuditContext): Promise<boolean> {
  if (!TOKEN.test(token)) return false;
  const { rows } = await withAudit(pool, ctx, (db) => db.query('select session_id from auth.f_revoke_session($1) where session_id is not null', [sha256(token)]));
  return rows.length > 0;
}
