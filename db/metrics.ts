// The business counters /metrics exports, read from the analytics rollups (analytics.daily_counts,
// kept in the same transactions as the work: sql/functions/analytics.sql). A small table — days ×
// metrics × dimensions × shards — so a scrape costs one index-only aggregate, whatever the volume.
import type { Pool } from './pool';

export interface DailyCountTotal {
  metric: string;
  dim: string;
  n: number;
  /** the metric's summed amount (a money value, or seconds waited), 0 for plain counts */
  amount: number;
}

/** Every daily_counts metric summed over all days and shards, by dimension (a failure reason, a provider, or ''). */
export async function dailyCountTotals(pool: Pool): Promise<DailyCountTotal[]> {
  const { rows } = await pool.query<DailyCountTotal>(
    `select metric, dim, sum(n)::bigint as n, sum(amount)::float8 as amount
       from analytics.daily_counts group by metric, dim order by metric, dim`,
  );
  return rows;
}

/**
 * Adds one operational event to today's (UTC) counter: an event that is not a row written in a
 * transaction of its own, such as a provider's 429 or a sender waiting on its throttle. Each call
 * is one event that happened, so a retried activity that meets another 429 rightly adds another.
 */
export async function addDailyCount(pool: Pool, metric: string, dim: string, n = 1, amount = 0): Promise<void> {
  await pool.query(
    `select analytics.f_add_daily(jsonb_build_array(jsonb_build_object(
       'day', (now() at time zone 'UTC')::date, 'metric', $1::text, 'dim', $2::text, 'n', $3::bigint, 'amount', $4::numeric)))`,
    [metric, dim, n, amount],
  );
}

/**
 * How long the longest-running statement on this database has been running (0 when none): the
 * slow-query alert's input. As the app role it sees the statements of the app role's sessions
 * (every API and worker process), not the owner's migrations or backups.
 */
export async function slowestActiveQuerySeconds(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ s: number }>(
    `select coalesce(extract(epoch from max(now() - query_start)), 0)::float8 as s
       from pg_stat_activity
      where datname = current_database() and state = 'active' and pid <> pg_backend_pid() and backend_type = 'client backend'`,
  );
  return rows[0].s;
}
