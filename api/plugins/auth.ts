import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { createApiKeyCache, type ApiKey, type ApiKeyCache, type Scope } from '../../db/api-keys';
import { csrfTokenMatches, findSession, type Session } from '../../db/sessions';
import { sessionTokenOf } from '../session-cookie';
import { HttpError } from '../errors';
import { createRateLimitRepository } from '../../db/rate-limits';
import { postgresRateLimitStore } from './rate-limit-store';
import { enterWorkspace, inOpenScope } from '../../common/workspace-context';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
    /** Set when the request was authenticated by the session cookie rather than a Bearer key. */
    webSession?: Session;
  }
  interface FastifyInstance {
    /** The failures-per-address guard, for routes that check a key themselves (sign-in). */
    authGuard: { isOver(request: FastifyRequest): boolean; refuse(request: FastifyRequest, message: string): never };
    /** Verified keys in memory; routes that revoke or rotate a key go through apiKeys.changing. */
    apiKeys: ApiKeyCache;
  }
  interface FastifyContextConfig {
    /** Routes open without a key (/health, /ready, docs). */
    public?: boolean;
    /** The scope a key needs for this route. */
    scope?: Scope;
  }
}

/** The scope a route needs: its config's, else read. The OpenAPI document names it per operation (x-required-scope). */
export const requiredScope = (config: { scope?: Scope } | undefined): Scope => config?.scope ?? 'read';

const WINDOW_MS = 60_000;
/** Addresses tracked at once before expired windows are swept (and, past 10x that, all are forgotten). */
const MAX_TRACKED = 10_000;

/**
 * Requests without a valid key, per client address, in fixed one-minute windows: past the
 * limit they are answered 429 instead of 401, so guessing keys is not free.
 */
function authFailureCounter(limit: number) {
  const windows = new Map<string, { count: number; resetAt: number }>();
  return {
    /** Counts one failure; the seconds to wait when this address is over the limit, else 0. */
    fail(ip: string): number {
      const now = Date.now();
      if (windows.size > MAX_TRACKED) {
        for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k);
        if (windows.size > 10 * MAX_TRACKED) windows.clear();
      }
      let w = windows.get(ip);
      if (!w || w.resetAt <= now) windows.set(ip, (w = { count: 0, resetAt: now + WINDOW_MS }));
      w.count++;
      return w.count > limit ? Math.ceil((w.resetAt - now) / 1000) : 0;
    },
    isOver(ip: string): boolean {
      const w = windows.get(ip);
      return Boolean(w && w.resetAt > Date.now() && w.count >= limit);
    },
  };
}

/** Writes: with the session cookie they need the session's X-CSRF-Token (a cross-site page cannot set it). */
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Seed "Security & Access Control", API layer: Bearer API key (or, on /api routes, the session
 * cookie of a sign-in with one, plus X-CSRF-Token on writes) → 401, scope → 403,
 * per-key rate limit (100/min unless the key says otherwise, counted in Postgres across API
 * processes) → 429 with Retry-After in seconds.
 * Keys are verified once and then served from memory (createApiKeyCache): a revoked, rotated or
 * expired key is dropped on every process at once, through a Postgres notification. Requests
 * that fail authentication are limited per client address (AUTH_FAILURES_PER_MINUTE) → 429.
 */
export const authPlugin = fp(async (app) => {
  const failures = authFailureCounter(app.config.AUTH_FAILURES_PER_MINUTE);
  const apiKeys = createApiKeyCache(app.pg);
  app.decorate('apiKeys', apiKeys);
  app.addHook('onClose', () => apiKeys.close());
  await apiKeys.ready();

  function refuse(request: FastifyRequest, message: string): never {
    const retryAfter = failures.fail(request.ip);
    if (retryAfter) {
      throw new HttpError(429, `too many requests without a valid API key from this address; retry in ${retryAfter} s`, undefined, { 'retry-after': String(retryAfter) });
    }
    throw new HttpError(401, message, undefined, { 'www-authenticate': 'Bearer' });
  }
  app.decorate('authGuard', { isOver: (request: FastifyRequest) => failures.isOver(request.ip), refuse });

  /** The key behind the request's session cookie (only /api routes take it: /mcp and /metrics want Bearer). */
  async function keyOfSession(request: FastifyRequest): Promise<ApiKey> {
    const token = request.routeOptions.url!.startsWith('/api/') ? sessionTokenOf(request) : undefined;
    if (!token) refuse(request, 'missing API key: send Authorization: Bearer <key>' + (request.routeOptions.url!.startsWith('/api/') ? ', or sign in (POST /api/session)' : ''));
    const session = await findSession(app.pg, token);
    if (!session) refuse(request, 'session signed out, expired, or its API key revoked: sign in again');
    if (WRITES.has(request.method) && !csrfTokenMatches(token, request.headers['x-csrf-token'] as string | undefined)) {
      throw new HttpError(403, 'missing or wrong X-CSRF-Token header: a write made with the session cookie must send the csrf_token that POST or GET /api/session answered',
        { issues: [{ field: 'x-csrf-token', message: 'must equal the session\'s csrf_token' }] });
    }
    request.webSession = session;
    return session.apiKey;
  }

  // Each request is a workspace scope, filled in below once its key is known: everything the
  // request's handler runs then queries Postgres as that workspace (db/pool.ts).
  app.addHook('onRequest', (_request, _reply, done) => inOpenScope(done));

  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (!request.routeOptions.url) return; // unknown routes fall through to 404
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (config.public) {
      // Open to all; a valid key may see more (the reasons behind /ready). A wrong key counts as
      // a failure, and over the limit keys are not even looked at, so this is no guessing oracle.
      if (!match || failures.isOver(request.ip)) return;
      let key: ApiKey | null;
      try {
        key = await apiKeys.find(match[1]);
      } catch {
        return; // the database may be what /ready reports down
      }
      if (key) {
        request.apiKey = key;
        enterWorkspace(key.workspaceId);
      } else failures.fail(request.ip);
      return;
    }
    let key: ApiKey | null;
    if (match) {
      key = await apiKeys.find(match[1]);
      if (!key) refuse(request, 'invalid, revoked or expired API key');
    } else {
      key = await keyOfSession(request);
    }
    request.apiKey = key;
    enterWorkspace(key.workspaceId);
    const scope = requiredScope(config);
    if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) {
      throw new HttpError(403, `this API key lacks the "${scope}" scope`);
    }
  });

  await app.register(rateLimit, {
    hook: 'preHandler', // after authentication, so the limit is per key
    store: postgresRateLimitStore(createRateLimitRepository(app.pg)), // shared by every API process
    timeWindow: 60_000,
    max: (request: FastifyRequest) => request.apiKey?.rateLimitPerMinute ?? app.config.RATE_LIMIT_PER_MINUTE,
    keyGenerator: (request: FastifyRequest) => (request.apiKey ? `key:${request.apiKey.id}` : `ip:${request.ip}`),
    allowList: (request: FastifyRequest) => Boolean(request.routeOptions.config.public),
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
  });
});
