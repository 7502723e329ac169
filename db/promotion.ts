// Promotion: pending loads in intake.raw_loads → vault.contacts, chunk by chunk, with the chunk
// ledger (intake.promotion_chunks) that makes each chunk exactly once.
import type pg from 'pg';
import type { PromoteCounts, PromotionScope } from '../contracts/promote';
import { resolveGoldenRecords } from './master-data';
import { withTransaction, type Pool } from './pool';
import { setAuditContext } from './audit';

type Queryable = Pick<pg.Pool, 'query'>;

/** A promotion chunk: the ledger key is the workflow's first run id plus the chunk number. */
export interface ChunkKey {
  runKey: string;
  chunkNo: number;
}

export interface PromotedChunk extends PromoteCounts {
  loadCount: number; // 0: nothing pending was left in scope
  lastLoadId: number;
}

export interface PendingLoad {
  loadId: number;
  email: string | null;
}

export interface ChunkPromotion extends ChunkKey {
  loadIds: number[];
  /** Loads rejected by checks made outside SQL, with their reasons. */
  rejections: { loadId: number; reason: string }[];
  /** The chunk's last load id (the previous cursor when the chunk is empty). */
  lastLoadId: number;
  actor?: string;
  workflowId?: string;
}

export function createPromotionRepository(pool: Pool) {
  return {
    /** Counts the pending loads a promotion scope covers. */
    async countPending(scope: PromotionScope): Promise<number> {
      const { sql, params } = pendingFilter(scope, 0);
      const { rows } = await pool.query(`select count(*)::int as n from intake.raw_loads where ${sql}`, params);
      return rows[0].n;
    },

    /** The next pending loads of a scope after a load id, in load order. */
    async pendingLoads(scope: PromotionScope, afterLoadId: number, limit: number): Promise<PendingLoad[]> {
      const { sql, params } = pendingFilter(scope, afterLoadId);
      const { rows } = await pool.query<{ load_id: number; email: string | null }>(
        `select load_id, email from intake.raw_loads where ${sql} order by load_id limit $${params.length + 1}`,
        [...params, limit],
      );
      return rows.map((r) => ({ loadId: r.load_id, email: r.email }));
    },

    /** What a chunk recorded when it committed, or undefined when it has not. */
    async findChunk(key: ChunkKey): Promise<PromotedChunk | undefined> {
      return findChunk(pool, key);
    },

    /**
     * Promotes a chunk and records it in the ledger in one transaction; a chunk already recorded
     * (a retry racing another attempt) returns what was recorded and promotes nothing.
     */
    async promoteChunk(chunk: ChunkPromotion): Promise<PromotedChunk> {
      return withTransaction(pool, async (tx) => {
        await tx.query('select pg_advisory_xact_lock(hashtext($1), $2)', [chunk.runKey, chunk.chunkNo]);
        const again = await findChunk(tx, chunk);
        if (again) return again;
        // automatic merges during resolution audit as the promotion's actor and workflow
        await setAuditContext(tx, { actor: chunk.actor ?? 'promotion', workflowId: chunk.workflowId });
        const { rows } = await tx.query('select * from vault.f_promote_contacts($1, $2, $3, $4, $5)', [
          chunk.loadIds,
          chunk.rejections.map((r) => r.loadId),
          chunk.rejections.map((r) => r.reason),
          chunk.actor ?? null,
          chunk.workflowId ?? null,
        ]);
        // slots and golden records in the same transaction: the chunk's ledger row covers them too
        await resolveGoldenRecords(tx, chunk.loadIds, chunk.workflowId);
        // webhook events (contact.promoted) commit with the chunk: a retried chunk emits nothing twice
        await tx.query('select ops.f_emit_contacts_promoted($1)', [chunk.loadIds]);
        const counts: PromotedChunk = { ...rows[0], loadCount: chunk.loadIds.length, lastLoadId: chunk.lastLoadId };
        await tx.query('select intake.f_record_promotion_chunk($1, $2, $3, $4, $5, $6, $7)',
          [chunk.runKey, chunk.chunkNo, counts.loadCount, counts.lastLoadId, counts.promoted, counts.updated, counts.failed]);
        return counts;
      });
    },
  };
}

export type PromotionRepository = ReturnType<typeof createPromotionRepository>;

async function findChunk(db: Queryable, key: ChunkKey): Promise<PromotedChunk | undefined> {
  const { rows } = await db.query(
    `select load_count, last_load_id, promoted, updated, failed from intake.promotion_chunks
     where run_key = $1 and chunk_no = $2`,
    [key.runKey, key.chunkNo],
  );
  if (!rows.length) return undefined;
  const r = rows[0];
  return { promoted: r.promoted, updated: r.updated, failed: r.failed, loadCount: r.load_count, lastLoadId: r.last_load_id };
}

/** WHERE clause for pending loads of a scope after a load id; each form uses a partial index. */
function pendingFilter(scope: PromotionScope, afterLoadId: number): { sql: string; params: unknown[] } {
  if (scope.batchId) return { sql: `status = 'pending' and batch_id = $1 and load_id > $2`, params: [scope.batchId, afterLoadId] };
  if (scope.loadIds) return { sql: `status = 'pending' and load_id = any($1) and load_id > $2`, params: [scope.loadIds, afterLoadId] };
  return { sql: `status = 'pending' and load_id > $1`, params: [afterLoadId] };
}
