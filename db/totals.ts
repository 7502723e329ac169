// The Dashboard's totals (GET /api/totals): sums of the rollups the analytics triggers keep
// (sql/functions/analytics.sql), so no request counts a million contacts.
import type { Pool } from './pool';

export interface Totals {
  contacts: number;
  golden_people: number;
  golden_companies: number;
  campaigns_running: number;
}

export function createTotalsRepository(pool: Pool) {
  return {
    /** Contacts created, golden people and companies created less those merged away, and running campaigns. */
    async totals(): Promise<Totals> {
      const { rows: [r] } = await pool.query(
        `select coalesce(sum(n) filter (where metric = 'contacts_created'), 0)::float8 as contacts,
                (coalesce(sum(n) filter (where metric = 'people_created'), 0)
                 - coalesce(sum(n) filter (where metric = 'people_merged'), 0))::float8 as golden_people,
                (coalesce(sum(n) filter (where metric = 'companies_created'), 0)
                 - coalesce(sum(n) filter (where metric = 'companies_merged'), 0))::float8 as golden_companies,
                (select count(*) from marketing.campaigns where status = 'running')::float8 as campaigns_running
           from analytics.daily_counts
          where metric in ('contacts_created', 'people_created', 'people_merged', 'companies_created', 'companies_merged')`,
      );
      return r;
    },
  };
}
