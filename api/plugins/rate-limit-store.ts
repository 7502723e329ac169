import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RateLimitRepository } from '../../db/rate-limits';

/**
 * @fastify/rate-limit's store, kept in Postgres: every API process counts a key's requests in the
 * same window, so a key's limit holds however many processes serve it (its default store is per
 * process memory). One small upsert per request.
 */
export function postgresRateLimitStore(limits: RateLimitRepository): FastifyRateLimitStoreCtor {
  class PostgresStore implements FastifyRateLimitStore {
    constructor(_options?: unknown, private readonly prefix = '') {}

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      limits.hit(this.prefix + key, timeWindow).then(
        ({ hits, ttlMs }) => callback(null, { current: hits, ttl: ttlMs }),
        (err: Error) => callback(err),
      );
    }

    // a route with its own limit counts in its own buckets (the plugin passes the route as routeInfo)
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      const route = (routeOptions as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo ?? {};
      return new PostgresStore(undefined, `${this.prefix}${String(route.method ?? '')}${route.url ?? ''}:`);
    }
  }
  return PostgresStore;
}
