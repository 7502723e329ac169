import type { Pool } from '../db/pool';
import { withTransaction } from '../db/pool';
import type { MxResolver } from '../clients/mx';
import type { PromoteCounts, PromotionScope } from '../contracts/promote';
import { emailRejection } from './email-checks';
import { withHeartbeat } from './heartbeat';
import { resolveGoldenRecords } from '../db/master-data';

export interface PromoteChunkInput {
  runKey: string; // the workflow's first run id: ledger key, stable across retries and continue-as-new
  chunkNo: number;
  scope: PromotionScope;
  afterLoadId: number;
  chunkSize: number;
  actor?: string;
  workflowId?: string;
}

export interface PromoteChunkResult extends PromoteCounts {
  loadCount: number; // 0: nothing pending was left in scope
  lastLoadId: number;
}

export function createPromoteActivities({ pool, mx }: { pool: Pool; mx?: MxResolver }) {
  return {
    /** Counts the loads a promotion will look at, for progress. */
    async countPending(scope: PromotionScope): Promise<number> {
      const { sql, params } = pendingFilter(scope, 0);
      const { rows } = await pool.query(`select count(*)::int as n from intake.raw_loads where ${sql}`, params);
      return rows[0].n;
    },

    /**
     * Validates and promotes the next chunk of pending loads after `afterLoadId`. Exactly once:
     * the ledger row commits with the promotion, and a retry returns what was recorded.
     */
    async promoteChunk(input: PromoteChunkInput): Promise<PromoteChunkResult> {
      return withHeartbeat(async () => {
        const recorded = await findChunk(pool, input);
        if (recorded) return recorded;

        const { sql, params } = pendingFilter(input.scope, input.afterLoadId);
        const { rows: loads } = await pool.query<{ load_id: number; email: string | null }>(
          `select load_id, email from intake.raw_loads where ${sql} order by load_id limit $${params.length + 1}`,
          [...params, input.chunkSize],
        );
        // Checks that need code or the network run before the transaction, so no lock waits on DNS.
        const rejectedIds: number[] = [];
        const reasons: string[] = [];
        await Promise.all(
          loads.map(async ({ load_id, email }) => {
            const reason = email ? await emailRejection(email, mx) : null;
            if (reason) {
              rejectedIds.push(load_id);
              reasons.push(reason);
            }
          }),
        );
        const lastLoadId = loads.length ? loads[loads.length - 1].load_id : input.afterLoadId;

        return withTransaction(pool, async (client) => {
          await client.query('select pg_advisory_xact_lock(hashtext($1), $2)', [input.runKey, input.chunkNo]);
          const again = await findChunk(client, input);
          if (again) return again;
          const { rows } = await client.query('select * from vault.f_promote_contacts($1, $2, $3, $4, $5)', [
            loads.map((l) => l.load_id),
            rejectedIds,
            reasons,
            input.actor ?? null,
            input.workflowId ?? null,
          ]);
          // Slots and golden records in the same transaction: the chunk ledger covers them too.
          await resolveGoldenRecords(client, loads.map((l) => l.load_id), input.workflowId);
          const counts: PromoteChunkResult = { ...rows[0], loadCount: loads.length, lastLoadId };
          await client.query(
            `insert into intake.promotion_chunks (run_key, chunk_no, load_count, last_load_id, promoted, updated, failed)
             values ($1, $2, $3, $4, $5, $6, $7)`,
            [input.runKey, input.chunkNo, counts.loadCount, lastLoadId, counts.promoted, counts.updated, counts.failed],
          );
          return counts;
        });
      });
    },
  };
}

type Queryable = Pick<Pool, 'query'>;

async function findChunk(db: Queryable, input: PromoteChunkInput): Promise<PromoteChunkResult | undefined> {
  const { rows } = await db.query(
    `select load_count, last_load_id, promoted, updated, failed from intake.promotion_chunks
     where run_key = $1 and chunk_no = $2`,
    [input.runKey, input.chunkNo],
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
