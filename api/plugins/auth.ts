import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { findApiKey, type ApiKey, type Scope } from '../../db/api-keys';
import { HttpError } from '../errors';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
  interface FastifyContextConfig {
    /** Routes open without a key (/health, /ready, docs). */
    public?: boolean;
    /** The scope a key needs for this route. */
    scope?: Scope;
  }
}

const CACHE_MS = 30_000;

/**
 * Seed "Security & Access Control", API layer: Bearer API key → 401, scope → 403,
 * per-key rate limit (100/min unless the key says otherwise) → 429 with Retry-After in seconds.
 */
export const authPlugin = fp(async (app) => {
  // Key lookups are cached briefly so a busy client costs no query per request.
  const cache = new Map<string, { key: ApiKey | null; until: number }>();
  async function lookup(secret: string): Promise<ApiKey | null> {
    const hit = cache.get(secret);
    if (hit && hit.until > Date.now()) return hit.key;
    const key = await findApiKey(app.pg, secret);
    if (cache.size > 10_000) cache.clear();
    cache.set(secret, { key, until: Date.now() + CACHE_MS });
    return key;
  }

  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public || !request.routeOptions.url) return; // unknown routes fall through to 404
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key>', undefined, { 'www-authenticate': 'Bearer' });
    const key = await lookup(match[1]);
    if (!key) throw new HttpError(401, 'invalid or revoked API key', undefined, { 'www-authenticate': 'Bearer' });
    request.apiKey = key;
    const scope = config.scope ?? 'read';
    if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) {
      throw new HttpError(403, `this API key lacks the "${scope}" scope`);
    }
  });

  await app.register(rateLimit, {
    hook: 'preHandler', // after authentication, so the limit is per key
    timeWindow: 60_000,
    max: (request: FastifyRequest) => request.apiKey?.rateLimitPerMinute ?? app.config.RATE_LIMIT_PER_MINUTE,
    keyGenerator: (request: FastifyRequest) => (request.apiKey ? `key:${request.apiKey.id}` : `ip:${request.ip}`),
    allowList: (request: FastifyRequest) => Boolean(request.routeOptions.config.public),
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
  });
});
