import type { Pool } from '../db/pool';
import type { MxResolver } from '../clients/mx';
import type { PromotionScope } from '../contracts/promote';
import { createPromotionRepository, type PromotedChunk } from '../db/promotion';
import { emailRejection } from './email-checks';
import { withHeartbeat } from './heartbeat';

export interface PromoteChunkInput {
  runKey: string; // the workflow's first run id: ledger key, stable across retries and continue-as-new
  chunkNo: number;
  scope: PromotionScope;
  afterLoadId: number;
  chunkSize: number;
  actor?: string;
  workflowId?: string;
}

export type PromoteChunkResult = PromotedChunk;

export function createPromoteActivities({ pool, mx }: { pool: Pool; mx?: MxResolver }) {
  const promotion = createPromotionRepository(pool);
  return {
    /** Counts the loads a promotion will look at, for progress. */
    async countPending(scope: PromotionScope): Promise<number> {
      return withHeartbeat(() => promotion.countPending(scope)); // it shares the chunks' heartbeat timeout
    },

    /**
     * Validates and promotes the next chunk of pending loads after `afterLoadId`. Exactly once:
     * the ledger row commits with the promotion, and a retry returns what was recorded.
     */
    async promoteChunk(input: PromoteChunkInput): Promise<PromoteChunkResult> {
      return withHeartbeat(async () => {
        const recorded = await promotion.findChunk(input);
        if (recorded) return recorded;

        const loads = await promotion.pendingLoads(input.scope, input.afterLoadId, input.chunkSize);
        // Checks that need code or the network run before the transaction, so no lock waits on DNS.
        const rejections: { loadId: number; reason: string }[] = [];
        await Promise.all(
          loads.map(async ({ loadId, email }) => {
            const reason = email ? await emailRejection(email, mx) : null;
            if (reason) rejections.push({ loadId, reason });
          }),
        );
        const loadIds = loads.map((l) => l.loadId);
        return promotion.promoteChunk({
          runKey: input.runKey,
          chunkNo: input.chunkNo,
          loadIds,
          rejections,
          lastLoadId: loads.length ? loads[loads.length - 1].loadId : input.afterLoadId,
          actor: input.actor,
          workflowId: input.workflowId,
        });
      });
    },
  };
}
