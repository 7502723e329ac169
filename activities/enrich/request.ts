// The enrichment request's ledger steps, on the main task queue: record who is covered, plan each
// round of the waterfall, fail a branch that gave up, write back, count.
import { APOLLO_BULK_MATCH_LIMIT } from '../../clients/apollo';
import type { EnrichRepository } from '../../db/enrich';
import { budgetExhausted, planRound } from '../../common/enrich-plan';
import type { EnrichInput, EnrichResult, Provider } from '../../contracts/enrich';
import type { EnrichSettings } from './settings';

export function createEnrichRequestActivities({ requests, settings }: { requests: EnrichRepository; settings: EnrichSettings }) {
  const callSize: Record<Provider, number> = { apollo: APOLLO_BULK_MATCH_LIMIT, apify: settings.apifyProfilesPerRun };

  return {
    /**
     * Records the request and who it covers; people whose intelligence has not expired are marked
     * skipped unless forced. Idempotent: a retry returns what the first attempt stored.
     */
    async createEnrichRequest(input: Omit<EnrichInput, 'taskQueues' | 'concurrency' | 'retry'> & { workflowId: string }): Promise<{ requested: number; skippedFresh: number }> {
      return requests.recordRequest(input);
    },

    /**
     * Plans one round of the waterfall (common/enrich-plan.ts) and stores it as provider_calls;
     * a retry returns the stored plan. Returns the number of calls per provider.
     */
    async planEnrichmentRound({ requestId, round }: { requestId: string; round: number }): Promise<Record<Provider, number>> {
      return requests.withRoundPlanning(requestId, round, async (r) => {
        if (await r.alreadyPlanned()) return;
        const { waterfall, budget } = await r.request();
        if (budgetExhausted(budget)) return; // no round to plan: spare loading the candidates
        await r.storePlan(planRound({ waterfall, budget, candidates: await r.candidates() }, callSize));
      });
    },

    /** A provider branch gave up after its retries: its open calls fail (the waterfall moves on) and release credits. */
    async markBranchFailed(input: { requestId: string; provider: Provider; round: number; reason: string }): Promise<number> {
      return requests.failOpenCalls(input);
    },

    /**
     * Writes enriched fields back to the contacts: the single path from provider data to contact
     * data, and the provider answers as source rows of the golden records (slots → masters with
     * history), in one transaction.
     */
    async writeBackEnrichedFields({ requestId, actor, workflowId }: { requestId: string; actor?: string; workflowId?: string }): Promise<number> {
      return requests.writeBack({ requestId, actor, workflowId });
    },

    /** The request's counts, straight from its ledgers. */
    async summarizeEnrichment(requestId: string): Promise<EnrichResult> {
      return requests.summary(requestId);
    },
  };
}
