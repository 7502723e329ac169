import type pg from 'pg';
import { SURVIVORSHIP_RULES } from '../common/survivorship';

export interface ResolutionCounts {
  peopleCreated: number;
  peopleChanged: number;
  companiesCreated: number;
  companiesChanged: number;
  merges: number;
}

/**
 * Promoted loads → people/company slots → golden records, with field history and merges: one
 * set-based SQL call per chunk (people.f_resolve_loads), inside the caller's transaction so the
 * promotion chunk ledger makes it exactly-once under activity retries.
 */
export async function resolveGoldenRecords(db: Pick<pg.PoolClient, 'query'>, loadIds: number[], workflowId?: string): Promise<ResolutionCounts> {
  if (!loadIds.length) return { peopleCreated: 0, peopleChanged: 0, companiesCreated: 0, companiesChanged: 0, merges: 0 };
  const { rows } = await db.query('select * from people.f_resolve_loads($1, $2, $3)', [
    loadIds,
    JSON.stringify(SURVIVORSHIP_RULES),
    workflowId ?? null,
  ]);
  const r = rows[0];
  return {
    peopleCreated: r.people_created,
    peopleChanged: r.people_changed,
    companiesCreated: r.companies_created,
    companiesChanged: r.companies_changed,
    merges: r.merges,
  };
}
