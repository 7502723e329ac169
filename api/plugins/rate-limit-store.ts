import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RateLimitRepository } from '../../db/rate-limits';

/**
 * A bucket's block size: 1% of its limit, at least 1 and at most 1,000. The limit is never
 * exceeded (every request spends a token Postgres granted); the tolerance is the other way: the
 * unspent part of other processes' blocks, at most 1% of the limit per other process, may answer
 * 429 a little early. Keys of up to 199 a minute (the default is 100) still take one at a time.
 */
export const blockSize = (max: number) => Math.max(1, Math.min(1000, Math.floor(max / 100)));

interface Bucket {
  /** Tokens this process holds for the current window. */
  tokens: number;
  /** The window's count in Postgres when the last block was taken (that block included). */
  hits: number;
  /** When the window ends, by this process's clock (from the ttl Postgres answered). */
  endsAt: number;
  /** Postgres granted nothing: the window is spent until endsAt, no need to ask again. */
  spent: boolean;
  /** A take in flight: requests meanwhile wait for it instead of sending their own. */
  taking?: Promise<void>;
}

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * @fastify/rate-limit's store, kept in Postgres: every API process counts a key's requests in the
 * same window, so a key's limit holds however many processes serve it (its default store is per
 * process memory). A process takes its requests in blocks (blockSize) and counts them down in
 * memory: a busy key costs one small upsert per block, not per request.
 */
export function postgresRateLimitStore(limits: RateLimitRepository): FastifyRateLimitStoreCtor {
  class PostgresStore implements FastifyRateLimitStore {
    private readonly buckets = new Map<string, Bucket>();

    constructor(_options?: unknown, private readonly prefix = '') {}

    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      const name = this.prefix + key;
      const now = Date.now();
      let b = this.buckets.get(name);
      if (!b || b.endsAt <= now) {
        if (this.buckets.size > 10_000) this.sweep(now);
        if (!b) this.buckets.set(name, (b = { tokens: 0, hits: 0, endsAt: 0, spent: false }));
        else if (!b.taking) Object.assign(b, { tokens: 0, hits: 0, endsAt: 0, spent: false });
      }
      if (b.tokens > 0) {
        b.tokens--;
        // the window's count as far as this process knows: Postgres's, less what it still holds
        callback(null, { current: Math.min(max, b.hits - b.tokens), ttl: b.endsAt - now });
        return;
      }
      if (b.spent && !b.taking) {
        callback(null, { current: max + 1, ttl: b.endsAt - now });
        return;
      }
      const bucket = b;
      bucket.taking ??= limits.take(name, timeWindow, blockSize(max), max).then(
        ({ granted, hits, ttlMs }) => {
          Object.assign(bucket, { tokens: granted, hits, endsAt: Date.now() + ttlMs, spent: granted === 0, taking: undefined });
        },
        (err: Error) => {
          bucket.taking = undefined;
          throw err;
        },
      );
      bucket.taking.then(() => this.incr(key, callback, timeWindow, max), (err: Error) => callback(err));
    }

    private sweep(now: number) {
      for (const [name, b] of this.buckets) if (b.endsAt <= now && !b.taking) this.buckets.delete(name);
    }

    // a route with its own limit counts in its own buckets (the plugin passes the route as routeInfo)
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      const route = (routeOptions as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo ?? {};
      return new PostgresStore(undefined, `${this.prefix}${String(route.method ?? '')}${route.url ?? ''}:`);
    }
  }
  return PostgresStore;
}
