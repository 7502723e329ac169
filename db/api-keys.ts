import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from './pool';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: Scope[];
  rateLimitPerMinute: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Key format: bo_<prefix>_<secret>; 192 random bits of secret, stored only as a sha256 hash. */
export async function createApiKey(
  pool: Pool,
  { name, scopes, rateLimitPerMinute = 100 }: { name: string; scopes: Scope[]; rateLimitPerMinute?: number },
): Promise<{ key: string; apiKey: ApiKey }> {
  const prefix = randomBytes(6).toString('hex');
  const key = `bo_${prefix}_${randomBytes(24).toString('base64url')}`;
  const { rows } = await pool.query(
    `insert into auth.api_keys (name, prefix, secret_hash, scopes, rate_limit_per_minute)
     values ($1, $2, $3, $4, $5) returning key_id`,
    [name, prefix, sha256(key).toString('hex'), scopes, rateLimitPerMinute],
  );
  return { key, apiKey: { id: rows[0].key_id, name, prefix, scopes, rateLimitPerMinute } };
}

/**
 * The active key a presented secret belongs to, or null. One indexed lookup (prefix is unique),
 * made on every request so a revocation holds from the next one.
 */
export async function findApiKey(pool: Pool, presented: string): Promise<ApiKey | null> {
  const match = /^bo_([0-9a-f]{12})_[\w-]{32}$/.exec(presented);
  if (!match) return null;
  const { rows } = await pool.query(
    `select key_id, name, prefix, secret_hash, scopes, rate_limit_per_minute, revoked_at from auth.api_keys where prefix = $1`,
    [match[1]],
  );
  const row = rows[0];
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), sha256(presented)) || row.revoked_at !== null) return null;
  return { id: row.key_id, name: row.name, prefix: row.prefix, scopes: row.scopes, rateLimitPerMinute: row.rate_limit_per_minute };
}

/** Revokes the key with this prefix; its name, or null when no active key has it. */
export async function revokeApiKey(pool: Pool, prefix: string): Promise<string | null> {
  const { rows } = await pool.query(
    `update auth.api_keys set revoked_at = now() where prefix = $1 and revoked_at is null returning name`,
    [prefix],
  );
  return rows[0]?.name ?? null;
}
