// Audit-log reconstruction: an entity rebuilt from the row images in intake.audit_log (migration
// 0031) by intake.f_restore_entity (sql/functions/audit.sql). Used by npm run audit:restore.
import { withTransaction, type Pool } from './pool';

export const RESTORABLE_ENTITIES = ['contact', 'person', 'company', 'campaign'] as const;
export type RestorableEntity = (typeof RESTORABLE_ENTITIES)[number];

export interface RestoreOutcome {
  entity: RestorableEntity;
  id: number;
  /** the time the entity was restored as of */
  at: string;
  outcome: 'restored' | 'unchanged';
  /** the row before the restore (null: it was deleted); a campaign's carries its steps */
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}

/** The log cannot give what was asked (unknown entity, nothing recorded, not existing then). */
export class RestoreRefused extends Error {
  override name = 'RestoreRefused';
}

export function createAuditRepository(pool: Pool) {
  return {
    /**
     * Restores an entity to how it was at `at` (omitted: just before its last recorded update or
     * delete), in one transaction, audited as entity_restored. dryRun: the same, rolled back.
     */
    async restore(r: { entity: RestorableEntity; id: number; at?: Date; actor: string; dryRun?: boolean }): Promise<RestoreOutcome> {
      const rollback = new Error('dry run');
      let outcome: RestoreOutcome | undefined;
      try {
        await withTransaction(pool, async (tx) => {
          const { rows } = await tx.query('select intake.f_restore_entity($1, $2, $3, $4) as outcome', [r.entity, r.id, r.at ?? null, r.actor]);
          outcome = rows[0].outcome;
          if (r.dryRun) throw rollback;
        });
      } catch (err) {
        if (err === rollback) return outcome!;
        if ((err as { code?: string }).code === 'AR001') throw new RestoreRefused((err as Error).message);
        throw err;
      }
      return outcome!;
    },
  };
}
