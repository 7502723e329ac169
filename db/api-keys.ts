// auth.api_keys: keys are created, revoked and rotated through SQL functions that audit each
// change (sql/functions/api-keys.sql); the API authenticates through createApiKeyCache.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import pg from 'pg';
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
  /** The workspace the key acts in (auth.workspaces; 1 is the default workspace). */
  workspaceId: number;
}

/** The workspace keys belong to when none is named (migration 0060). */
export const DEFAULT_WORKSPACE_ID = 1;

/** A key as the admin list shows it: never its secret or hash. */
export interface ApiKeyInfo {
  key_id: number;
  prefix: string;
  name: string;
  workspace: string;
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

const toApiKey = (r: Record<string, any>): ApiKey => ({
  id: r.key_id, name: r.name, prefix: r.prefix, scopes: r.scopes, rateLimitPerMinute: r.rate_limit_per_minute, workspaceId: r.workspace_id,
});

/** The id of the workspace with this slug, made (audited, workspace_created) when there is none. */
export async function ensureWorkspace(pool: Pool, slug: string, ctx: AuditContext = SCRIPT): Promise<number> {
  const { rows } = await withAudit(pool, ctx, (db) => db.query('select workspace_id from auth.f_ensure_workspace($1)', [slug]));
  return rows[0].workspace_id;
}

/** Creates a key, audited (api_key_created); the key itself is returned once and never stored. */
export async function createApiKey(
  pool: Pool,
  { name, scopes, rateLimitPerMinute = 100, expiresAt = null, workspaceId = DEFAULT_WORKSPACE_ID }:
    { name: string; scopes: Scope[]; rateLimitPerMinute?: number; expiresAt?: Date | null; workspaceId?: number },
  ctx: AuditContext = SCRIPT,
): Promise<{ key: string; apiKey: ApiKey; expiresAt: Date | null }> {
  const { prefix, key, hash } = newSecret();
  const { rows } = await withAudit(pool, ctx, (db) => db.query('select * from auth.f_create_api_key($1, $2, $3, $4, $5, $6, $7)',
    [name, prefix, hash, scopes, rateLimitPerMinute, expiresAt, workspaceId]));
  return { key, apiKey: toApiKey(rows[0]), expiresAt: rows[0].expires_at };
}

/** A key as read for authentication: the key, its expiry and whether last_used_at is due a stamp. */
interface KeyRow { apiKey: ApiKey; expiresAt: number | null; staleUse: boolean }

const KEY_FORMAT = /^bo_([0-9a-f]{12})_[\w-]{32}$/;

/** The active key of this prefix and secret, read from Postgres; null when unknown, wrong, revoked or expired. */
async function readApiKey(pool: Pool, presented: string, hash: Buffer): Promise<KeyRow | null> {
  const match = KEY_FORMAT.exec(presented);
  if (!match) return null;
  const { rows } = await pool.query(
    `select key_id, name, prefix, secret_hash, scopes, rate_limit_per_minute, workspace_id, expires_at,
            revoked_at is null and (expires_at is null or expires_at > now()) as active,
            last_used_at is null or last_used_at < now() - interval '1 minute' as stale_use
       from auth.api_keys where prefix = $1`,
    [match[1]],
  );
  const row = rows[0];
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), hash) || !row.active) return null;
  return { apiKey: toApiKey(row), expiresAt: row.expires_at ? row.expires_at.getTime() : null, staleUse: row.stale_use };
}

/** Stamps last_used_at, unless another process did within the minute; the request does not wait for it. */
function stampUse(pool: Pool, apiKey: ApiKey): void {
  pool.query('select auth.f_stamp_api_key_use($1)', [apiKey.id])
    .catch((err: Error) => console.error(`api key ${apiKey.prefix}: last_used_at not stamped: ${err.message}`));
}

/**
 * The active key a presented secret belongs to, or null (unknown, wrong secret, revoked or
 * expired). One indexed read, by the unique prefix. last_used_at is stamped at most once a
 * minute, by a write the caller does not wait for. The API authenticates through
 * createApiKeyCache instead; sign-in and the MCP stdio check read here.
 */
export async function findApiKey(pool: Pool, presented: string): Promise<ApiKey | null> {
  const found = await readApiKey(pool, presented, sha256(presented));
  if (found?.staleUse) stampUse(pool, found.apiKey);
  return found?.apiKey ?? null;
}

/** The channel sql/migrations/0055 notifies, with the key's prefix, when a key changes or goes. */
const CHANGED = 'api_key_changed';

/**
 * Verified keys in memory, by the sha256 of the presented key, so a request does not read its key
 * from Postgres. A key that changes (revoked, rotated, expiry or scopes altered) is dropped at
 * once on every process: a trigger notifies api_key_changed, and one listening connection per
 * process drops the prefix. Expiry is checked here against the expires_at read with the key.
 * While that connection is down nothing is served from memory, and after it (re)connects the
 * whole cache is dropped, since notifications may have been missed meanwhile.
 * A key is served from memory only once it has been in use for `trustAfterMs`: until then every
 * request reads it, so a key made, used and revoked within moments (scripts, tests) is refused at
 * its very next request on every process, not only once the notification lands.
 */
export function createApiKeyCache(pool: Pool, { trustAfterMs = 2_000, maxKeys = 10_000 } = {}) {
  const entries = new Map<string, KeyRow & { prefix: string; firstReadAt: number; stampedAt: number }>();
  /** Bumped by every notification and (re)connect: a read that began before one is not cached. */
  let generation = 0;
  let listening = false;
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = 100;
  const waiters = new Set<{ prefix: string; resolve: () => void }>();

  const drop = (prefix: string) => {
    generation++;
    for (const [hash, e] of entries) if (e.prefix === prefix) entries.delete(hash);
  };
  const notified = (prefix: string) => {
    drop(prefix);
    for (const w of waiters) if (w.prefix === prefix) { waiters.delete(w); w.resolve(); }
  };

  function down(err?: Error) {
    if (err && !closed) console.error(`api key cache: listening connection lost, keys are read from Postgres until it is back: ${err.message}`);
    listening = false;
    generation++;
    entries.clear();
    const c = client;
    client = undefined;
    c?.end().catch(() => undefined);
    if (!closed && !retry) {
      retry = setTimeout(() => { retry = undefined; void listen(); }, delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }

  async function listen() {
    const c = new pg.Client({ ...(pool.options as pg.ClientConfig), keepAlive: true });
    client = c;
    c.on('error', (err) => { if (client === c) down(err); });
    c.on('end', () => { if (client === c) down(new Error('connection ended')); });
    c.on('notification', (n) => { if (n.channel === CHANGED && n.payload) notified(n.payload); });
    try {
      await c.connect();
      await c.query(`listen ${CHANGED}`);
    } catch (err) {
      if (client === c) down(err as Error);
      return;
    }
    if (client !== c || closed) return;
    // notifications sent while no connection listened are lost: start from nothing
    generation++;
    entries.clear();
    listening = true;
    delay = 100;
  }

  const started = listen();

  return {
    /** Resolves once the first LISTEN is in place (or failed; lookups then read Postgres until it is). */
    ready: () => started,

    /** The active key a presented secret belongs to, or null; like findApiKey, mostly without a round trip. */
    async find(presented: string): Promise<ApiKey | null> {
      if (!KEY_FORMAT.test(presented)) return null;
      const hash = sha256(presented);
      const id = hash.toString('hex');
      const now = Date.now();
      const hit = entries.get(id);
      if (hit && listening) {
        if (hit.expiresAt !== null && hit.expiresAt <= now) {
          entries.delete(id);
          return null;
        }
        if (now - hit.firstReadAt >= trustAfterMs) {
          if (now - hit.stampedAt >= 60_000) {
            hit.stampedAt = now;
            stampUse(pool, hit.apiKey);
          }
          return hit.apiKey;
        }
      }
      const before = generation;
      const found = await readApiKey(pool, presented, hash);
      if (!found) {
        entries.delete(id);
        return null;
      }
      if (found.staleUse) stampUse(pool, found.apiKey);
      if (listening && generation === before) {
        if (entries.size >= maxKeys && !entries.has(id)) entries.clear(); // a bound, not an LRU: keys are few
        entries.set(id, { ...found, prefix: found.apiKey.prefix, firstReadAt: hit?.firstReadAt ?? now, stampedAt: found.staleUse ? now : hit?.stampedAt ?? now });
      }
      return found.apiKey;
    },

    /**
     * Runs a write that revokes or rotates the key of this prefix; when it did (a result that is
     * not null), drops the key here and waits (at most timeoutMs) for its notification to come
     * back on the listening connection: by then Postgres has sent it to every process's listener.
     */
    async changing<T>(prefix: string, write: () => Promise<T | null>, timeoutMs = 1_000): Promise<T | null> {
      let timer: NodeJS.Timeout | undefined;
      const w = { prefix, resolve: () => undefined as void };
      // listening before the write: its notification may arrive before the write's own answer
      const seen = new Promise<void>((resolve) => {
        w.resolve = resolve;
        waiters.add(w);
        timer = setTimeout(resolve, timeoutMs);
      });
      try {
        const result = await write();
        if (result !== null) {
          drop(prefix);
          if (listening) await seen;
        }
        return result;
      } finally {
        waiters.delete(w);
        clearTimeout(timer);
      }
    },

    async close(): Promise<void> {
      closed = true;
      clearTimeout(retry);
      listening = false;
      entries.clear();
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

export type ApiKeyCache = ReturnType<typeof createApiKeyCache>;

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

const INFO_COLUMNS = `k.key_id, k.prefix, k.name, w.slug as workspace, k.scopes, k.rate_limit_per_minute, k.created_at,
  k.last_used_at, k.expires_at, k.revoked_at, k.rotated_from`;

/**
 * A workspace's keys in creation order (keyset on key_id), revoked and expired ones too unless
 * activeOnly. Throws InvalidCursorError.
 */
export async function listApiKeys(
  pool: Pool,
  { workspaceId, cursor, limit, activeOnly }: { workspaceId: number; cursor?: string; limit: number; activeOnly: boolean },
): Promise<{ rows: ApiKeyInfo[]; nextCursor: string | null }> {
  const { rows } = await pool.query(
    `select ${INFO_COLUMNS}
       from auth.api_keys k join auth.workspaces w using (workspace_id)
      where k.workspace_id = $4 and k.key_id > $1 and (not $2 or (k.revoked_at is null and (k.expires_at is null or k.expires_at > now())))
      order by k.key_id limit $3`,
    [cursor === undefined ? 0 : decodeCursor(cursor), activeOnly, limit + 1, workspaceId],
  );
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].key_id) : null };
}

/** One key of a workspace by prefix, for the admin routes; null when that workspace has none. */
export async function findApiKeyInfo(pool: Pool, prefix: string, workspaceId: number): Promise<ApiKeyInfo | null> {
  const { rows } = await pool.query(
    `select ${INFO_COLUMNS} from auth.api_keys k join auth.workspaces w using (workspace_id)
      where k.prefix = $1 and k.workspace_id = $2`,
    [prefix, workspaceId],
  );
  return rows[0] ?? null;
}
