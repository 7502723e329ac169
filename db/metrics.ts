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
