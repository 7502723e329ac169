// Turns config + a request into the enrichment workflow's input (shared by the API, MCP and the schedule).
import type { Config } from './config';
import {
  DEFAULT_WATERFALL,
  parseWaterfall,
  providerTaskQueue,
  restrictWaterfall,
  type EnrichInput,
  type EnrichTarget,
  type Provider,
  type Waterfall,
} from '../contracts/enrich';

export interface EnrichRequest {
  requestId: string;
  target: EnrichTarget;
  providers?: Provider[];
  force?: boolean;
  creditBudget?: number;
  waterfall?: Waterfall;
  actor?: string;
}

export function buildEnrichInput(config: Config, r: EnrichRequest): EnrichInput {
  const providers = r.providers?.length ? r.providers : (['apollo', 'apify'] as Provider[]);
  const waterfall = restrictWaterfall(r.waterfall ?? parseWaterfall(config.ENRICH_WATERFALL ?? DEFAULT_WATERFALL), providers);
  return {
    requestId: r.requestId,
    target: r.target,
    providers,
    force: r.force ?? false,
    waterfall,
    creditBudget: r.creditBudget ?? config.ENRICH_CREDIT_BUDGET,
    ttlDays: config.ENRICH_TTL_DAYS,
    actor: r.actor,
    taskQueues: { apollo: providerTaskQueue(config.TASK_QUEUE, 'apollo'), apify: providerTaskQueue(config.TASK_QUEUE, 'apify') },
    concurrency: config.ENRICH_CONCURRENCY,
    retry: { maximumAttempts: config.ENRICH_MAX_ATTEMPTS, initialIntervalMs: 1000, maximumIntervalMs: 60_000 },
  };
}
