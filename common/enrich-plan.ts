// The enrichment round planner: who goes to which provider in round N. Pure; the repository loads
// its input and stores its output (db/enrich.ts). Freshness is decided earlier, when the request
// is recorded: people whose intelligence is fresh are not candidates at all.
import { PROVIDERS, type Provider, type Waterfall } from '../contracts/enrich';

/** One person of the request still to be enriched, as this round finds them. */
export interface RoundCandidate {
  contactId: number;
  /** The contact's own LinkedIn URL. */
  linkedinUrl: string | null;
  /** Fields each provider that answered in this request found (earlier rounds). */
  results: Record<string, Record<string, unknown>>;
  /** Providers already asked about this person in this request, whatever they answered. */
  asked: Provider[];
}

export interface RoundBudget {
  creditBudget: number | null;
  creditsReserved: number;
  /** A call of this request was already skipped for want of budget. */
  budgetHit: boolean;
}

export interface RoundState {
  waterfall: Waterfall;
  budget: RoundBudget;
  candidates: RoundCandidate[];
}

/** Per provider, the calls of the round: each call's contact ids, at most the provider's call size. */
export type RoundPlan = Record<Provider, number[][]>;

/** Once the budget is spent (or a call was skipped for it), no further round is planned. */
export function budgetExhausted(b: RoundBudget): boolean {
  return b.budgetHit || (b.creditBudget !== null && b.creditsReserved >= b.creditBudget);
}

/**
 * Per candidate and field still unfilled in this request, the first provider in the field's
 * waterfall order that has not been asked about this person and can be (Apify needs a LinkedIn
 * URL, possibly one found in an earlier round). The person goes to each provider chosen so, once;
 * providers of one round run in parallel. `callSize`: how many people one call of a provider takes.
 */
export function planRound({ waterfall, budget, candidates }: RoundState, callSize: Record<Provider, number>): RoundPlan {
  const ids: Record<Provider, number[]> = { apollo: [], apify: [] };
  if (!budgetExhausted(budget)) {
    for (const c of candidates) {
      const results = Object.values(c.results);
      const filled = new Set(results.flatMap((f) => Object.keys(f)));
      const linkedin = c.linkedinUrl ?? results.map((f) => f.linkedin_url).find(Boolean);
      const chosen = new Set<Provider>();
      for (const { field, providers } of waterfall) {
        if (filled.has(field)) continue;
        const next = providers.find((p) => !c.asked.includes(p) && (p !== 'apify' || linkedin));
        if (next) chosen.add(next);
      }
      for (const p of chosen) ids[p].push(c.contactId);
    }
  }
  const plan = {} as RoundPlan;
  for (const p of PROVIDERS) plan[p] = chunks(ids[p], callSize[p]);
  return plan;
}

function chunks<T>(xs: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));
}
