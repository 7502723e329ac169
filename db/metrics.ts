// The business counters /metrics exports, read from the analytics rollups (analytics.daily_counts,
// kept in the same transactions as the work: sql/functions/analytics.sql). A small table — days ×
// metrics × dimensions × shards — so a scrape costs one index-only aggregate, whatever the volume.
import type { Pool } from './pool';

export interface DailyCountTotal {
  metric: string;
  dim: string;
  n: number;
}

/** Every daily_counts metric summed over all days and shards, by dimension (a failure reason, a provider, or ''). */
export async function dailyCountTotals(pool: Pool): Promise<DailyCountTotal[]> {
  const { rows } = await pool.query<DailyCountTotal>(
    `select metric, dim, sum(n)::bigint as n from analytics.daily_counts group by metric, dim order by metric, dim`,
  );
  return rows;
}

/** How long the longest-running statement on this database has been running (0 when none): the slow-query alert's input. */
export async function slowestActiveQuerySeconds(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ s: number }>(
    `select coalesce(extract(epoch from max(now() - query_start)), 0)::float8 as s
       from pg_stat_activity
      where datname = current_database() and state = 'active' and pid <> pg_backend_pid() and backend_type = 'client backend'`,
  );
  return rows[0].s;
}
