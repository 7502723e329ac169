-- Issue 11, Dashboard totals (GET /api/totals): all-time sums of a few daily_counts metrics read
-- by metric instead of walking every day's row. n is left out of the index on purpose, so the
-- counters' updates stay HOT (no index entry written per increment).
create index daily_counts_metric on analytics.daily_counts (metric, day);
