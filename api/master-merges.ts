// Merging two golden records by hand (POST /api/people/:id/merge, /api/companies/:id/merge): the
// same SQL merge that resolution runs when data shows two masters are one (slots, keys and
// links move; the loser stays as a tombstone; history keeps enough to reverse it by hand).
import type { Pool } from '../db/pool';
import { withTransaction } from '../db/pool';
import { SURVIVORSHIP_RULES } from '../common/survivorship';
import { HttpError } from './errors';

export type MasterKind = 'person' | 'company';

const TABLES = {
  person: { table: 'people.master', id: 'person_id', merge: 'people.f_merge', noun: 'person' },
  company: { table: 'company.master', id: 'company_id', merge: 'company.f_merge', noun: 'company' },
} as const;

export interface MergeOutcome {
  survivor_id: number;
  merged_id: number;
  /** The merge had already happened (a repeated request): nothing changed. */
  already_merged: boolean;
}

export async function mergeMasters(pool: Pool, kind: MasterKind, loserId: number, survivorId: number, actor: string | null): Promise<MergeOutcome> {
  const t = TABLES[kind];
  const outcome = { survivor_id: survivorId, merged_id: loserId, already_merged: false };
  if (loserId === survivorId) {
    throw new HttpError(400, `a ${t.noun} cannot be merged into itself`, { issues: [{ field: 'into', message: 'must name another record' }] });
  }
  return withTransaction(pool, async (db) => {
    // the lock resolution chunks take: a merge never interleaves with one
    await db.query(`select pg_advisory_xact_lock(hashtext('master-resolution'))`);
    const { rows } = await db.query(`select * from ${t.table} where ${t.id} = any($1) for update`, [[loserId, survivorId]]);
    const loser = rows.find((r) => Number(r[t.id]) === loserId);
    const survivor = rows.find((r) => Number(r[t.id]) === survivorId);
    if (!loser) throw new HttpError(404, `no ${t.noun} ${loserId}`);
    if (!survivor) throw new HttpError(400, `no ${t.noun} ${survivorId}`, { issues: [{ field: 'into', message: `names no ${t.noun}` }] });
    if (loser.merged_into !== null && Number(loser.merged_into) === survivorId) return { ...outcome, already_merged: true };
    if (loser.merged_into !== null) throw new HttpError(409, `${t.noun} ${loserId} was already merged into ${loser.merged_into}`);
    if (survivor.merged_into !== null) {
      throw new HttpError(409, `${t.noun} ${survivorId} was merged into ${survivor.merged_into}; merge into that one`, {
        issues: [{ field: 'into', message: `merged into ${survivor.merged_into}` }],
      });
    }
    await db.query(`select ${t.merge}($1, $2, $3, null, $4)`, [survivorId, loserId, JSON.stringify(SURVIVORSHIP_RULES), { by: 'api', actor }]);
    await db.query(
      `insert into intake.audit_log (actor, action, entity, entity_id, before, after) values ($1, $2, $3, $4, $5, $6)`,
      [actor, `${t.noun}_merged`, t.noun, String(loserId), { merged_into: null }, { merged_into: survivorId }],
    );
    return outcome;
  });
}
