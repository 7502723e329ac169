// auth.api_keys: keys are created, revoked and rotated through SQL functions that audit each
// change (sql/functions/api-keys.sql); every request looks its key up here.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from './pool';
import { withAudit, type AuditContext } from './audit';
import { InvalidCursorError, isIdValue } from './cursor';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: Scope[];
  rateLimitPerMinute: number;
}

/** A key as the admin list shows it: never its secret or hash. */
export interface ApiKeyInfo {
  key_id: number;
  prefix: string;
  name: string;
  scopes: Scope[];
  rate_limit_per_minute: number;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  rotated_from: number | null;
}

/** Keys made by the command-line scripts are audited as the script. */
const SCRIPT: AuditContext = { actor: 'apikey:script' };

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Key format: bo_<prefix>_<secret>; 192 random bits of secret, stored only as a sha256 hash. */
function newSecret(): { prefix: string; key: string; hash: string } {
  const prefix = randomBytes(6).toString('hex');
  const key = `bo_${prefix}_${randomBytes(24).toString('base64url')}`;
  return { prefix, key, hash: sha256(key).toString('hex') };
}

const toApiKey = (r: Record<string, any>): ApiKey => ({ id: r.key_id, name: r.name, prefix: r.prefix, scopes: r.scopes, rateLimitPerMinute: r.rate_limit_per_minute });

/** Creates a key, audited (api_key_created); the key itself is returned once and never stored. */
export async function createApiKey(
  pool: Pool,
  { name, scopes, rateLimitPerMinute = 100, expiresAt = null }: { name: string; scopes: Scope[]; rateLimitPerMinute?: number; expiresAt?: Date | null },
  ctx: AuditContext = SCRIPT,
): Promise<{ key: string; apiKey: ApiKey; expiresAt: Date | null }> {
  const { prefix, key, hash } = newSecret();
  const { rows } = await withAudit(pool, ctx, (db) => db.query('select * from auth.f_create_api_key($1, $2, $3, $4, $5, $6)',
    [name, prefix, hash, scopes, rateLimitPerMinute, expiresAt]));
  return { key, apiKey: toApiKey(rows[0]), expiresAt: rows[0].expires_at };
}

/**
 * The active key a presented secret belongs to, or null (unknown, wrong secret, revoked or
 * expired). One indexed read per request, by the unique prefix, so a revocation holds from the
 * next request. last_used_at is stamped at most once a minute, by a write the request does not
 * wait for (a write per request would double the cost of every request).
 */
export async function findApiKey(pool: Pool, presented: string): Promise<ApiKey | null> {
  const match = /^bo_([0-9a-f]{12})_[\w-]{32}$/.exec(presented);
  if (!match) return null;
  const { rows } = await pool.query(
    `select key_id, name, prefix, secret_hash, scopes, rate_limit_per_minute,
            revoked_at is null and (expires_at is null or expires_at > now()) as active,
            last_used_at is null or last_used_at < now() - interval '1 minute' as stale_use
       from auth.api_keys where prefix = $1`,
    [match[1]],
  );
  const row = rows[0];
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), sha256(presented)) || !row.active) return null;
  if (row.stale_use) {
    pool.query(`update auth.api_keys set last_used_at = now() where key_id = $1`, [row.key_id])
      .catch((err: Error) => console.error(`api key ${row.prefix}: last_used_at not stamped: ${err.message}`));
  }
  return toApiKey(row);
}

/** Revokes the key with this prefix, audited (api_key_revoked); its name, or null when no active key has it. */
export async function revokeApiKey(pool: Pool, prefix: string, ctx: AuditContext = SCRIPT): Promise<string | null> {
  const { rows } = await withAudit(pool, ctx, (db) => db.query('select name from auth.f_revoke_api_key($1) where key_id is not null', [prefix]));
  return rows[0]?.name ?? null;
}

/**
 * Replaces the active key with this prefix by a new one with the same name, scopes, limit and
 * expiry; the old key stops at once. Audited (api_key_rotated). Null: no active key has the prefix.
 */
export async function rotateApiKey(pool: Pool, prefix: string, ctx: AuditContext = SCRIPT): Promise<{ key: string; apiKey: ApiKey; expiresAt: Date | null } | null> {
  const { prefix: newPrefix, key, hash } = newSecret();
  const { rows } = await withAudit(pool, ctx, (db) => db.query('select * from auth.f_rotate_api_key($1, $2, $3) where key_id is not null', [prefix, newPrefix, hash]));
  return rows.length ? { key, apiKey: toApiKey(rows[0]), expiresAt: rows[0].expires_at } : null;
}

const encodeCursor = (keyId: number) => Buffer.from(JSON.stringify({ id: keyId })).toString('base64url');
function decodeCursor(text: string): number {
  let c: { id?: unknown };
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('not a cursor this API returned');
  }
  if (!c || typeof c !== 'object' || !isIdValue(c.id)) throw new InvalidCursorError('not a cursor this API returned');
  return c.id;
}

/** Keys in creation order (keyset on key_id), revoked and expired ones too unless activeOnly. Throws InvalidCursorError. */
export async function listApiKeys(pool: Pool, { cursor, limit, activeOnly }: { cursor?: string; limit: number; activeOnly: boolean }): Promise<{ rows: ApiKeyInfo[]; nextCursor: string | null }> {
  const { rows } = await pool.query(
    `select key_id, prefix, name, scopes, rate_limit_per_minute, created_at, last_used_at, expires_at, revoked_at, rotated_from
       from auth.api_keys
      where key_id > $1 and (not $2 or (revoked_at is null and (expires_at is null or expires_at > now())))
      order by key_id limit $3`,
    [cursor === undefined ? 0 : decodeCursor(cursor), activeOnly, limit + 1],
  );
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].key_id) : null };
}

/** One key by prefix, for the admin routes; null when there is none. */
export async function findApiKeyInfo(pool: Pool, prefix: string): Promise<ApiKeyInfo | null> {
  const { rows } = await pool.query(
    `select key_id, prefix, name, scopes, rate_limit_per_minute, created_at, last_used_at, expires_at, revoked_at, rotated_from
       from auth.api_keys where prefix = $1`,
    [prefix],
  );
  return rows[0] ?? null;
}
