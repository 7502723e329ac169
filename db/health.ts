// The database side of GET /ready.
import type { Pool } from './pool';
import { pendingMigrations } from './migrate';

export function createHealthRepository(pool: Pool) {
  return {
    /** Resolves once Postgres answers a trivial query. */
    async ping(): Promise<void> {
      await pool.query('select 1');
    },
    /** Migration files not applied yet, by name. */
    pendingMigrations: () => pendingMigrations(pool),
  };
}

export type HealthRepository = ReturnType<typeof createHealthRepository>;
