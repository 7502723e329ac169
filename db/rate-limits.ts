// auth.rate_limit_windows: the per-key request counts every API process shares (issue 10).
import type { Pool } from './pool';

export function createRateLimitRepository(pool: Pool) {
  return {
    /** Counts one request in the bucket's fixed window: hits so far (this one included) and ms until the window ends. */
    async hit(bucket: string, windowMs: number): Promise<{ hits: number; ttlMs: number }> {
      const { rows } = await pool.query('select hits, ttl_ms from auth.f_hit_rate_limit($1, $2)', [bucket, windowMs]);
      return { hits: rows[0].hits, ttlMs: rows[0].ttl_ms };
    },
    /** Takes up to `want` requests of the bucket's window, never past `max` in all: how many were granted, the window's hits after, ms until it ends. */
    async take(bucket: string, windowMs: number, want: number, max: number): Promise<{ granted: number; hits: number; ttlMs: number }> {
      const { rows } = await pool.query('select granted, hits, ttl_ms from auth.f_take_rate_limit($1, $2, $3, $4)', [bucket, windowMs, want, max]);
      return { granted: rows[0].granted, hits: rows[0].hits, ttlMs: rows[0].ttl_ms };
    },
  };
}

export type RateLimitRepository = ReturnType<typeof createRateLimitRepository>;
