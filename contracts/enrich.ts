// The enrichment lifecycle's contract: providers, the waterfall, inputs, results, progress.
// Pure: imported by the workflow bundle, activities, API and MCP alike.
import { defineQuery } from '@temporalio/workflow';

export const PROVIDERS = ['apollo', 'apify'] as const;
export type Provider = (typeof PROVIDERS)[number];

/**
 * Fields the waterfall resolves. All but `profile` are contact fields written back to the contact;
 * `profile` is the LinkedIn intelligence itself (kept in people.intelligence only).
 */
export const ENRICH_FIELDS = ['profile', 'first_name', 'last_name', 'title', 'linkedin_url', 'company_name', 'company_domain', 'city', 'state', 'country'] as const;
export type EnrichField = (typeof ENRICH_FIELDS)[number];

export type Waterfall = { field: EnrichField; providers: Provider[] }[];

/** Apify (LinkedIn) answers `profile` in parallel with Apollo's contact data; Apify backs Apollo up. */
export const DEFAULT_WATERFALL =
  'profile:apify,first_name:apollo>apify,last_name:apollo>apify,title:apollo>apify,linkedin_url:apollo,' +
  'company_name:apollo>apify,company_domain:apollo,city:apollo>apify,state:apollo,country:apollo>apify';

/** "field:p1>p2,field2:p1" → waterfall; throws naming the bad part. */
export function parseWaterfall(spec: string): Waterfall {
  return spec.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const [field, order] = part.split(':');
    if (!(ENRICH_FIELDS as readonly string[]).includes(field)) throw new Error(`waterfall: unknown field "${field}" (fields: ${ENRICH_FIELDS.join(', ')})`);
    const providers = (order ?? '').split('>').map((p) => p.trim());
    for (const p of providers) if (!(PROVIDERS as readonly string[]).includes(p)) throw new Error(`waterfall: unknown provider "${p}" for ${field}`);
    return { field: field as EnrichField, providers: providers as Provider[] };
  });
}

/** The waterfall restricted to the providers a request may use (fields nobody can fill drop out). */
export function restrictWaterfall(waterfall: Waterfall, providers: Provider[]): Waterfall {
  return waterfall
    .map((w) => ({ field: w.field, providers: w.providers.filter((p) => providers.includes(p)) }))
    .filter((w) => w.providers.length > 0);
}

export const providerTaskQueue = (base: string, provider: Provider) => `${base}-${provider}`;

/** Who an enrichment request covers: listed contacts, or a filter over vault.contacts. */
export interface EnrichTarget {
  contactIds?: number[];
  /** Golden-record ids (people.master / company.master); merged-away ids follow their survivor. */
  personIds?: number[];
  companyIds?: number[];
  filter?: { source?: string; companyDomain?: string; status?: string; limit?: number };
  /** GET /api/contacts's filters ("select all matching" in the Contacts view, db/contact-bulk.ts). */
  contactFilter?: { q?: string; status?: string; score_min?: number; score_max?: number; source?: string; company_domain?: string; title?: string; updated_since?: string };
  /** The TTL refresh: people whose intelligence expires within this many days. */
  expiringWithinDays?: number;
}

export interface EnrichInput {
  requestId: string;
  target: EnrichTarget;
  providers: Provider[];
  force: boolean;
  waterfall: Waterfall;
  creditBudget?: number;
  ttlDays: number;
  actor?: string;
  /** Task queues of the provider workers (each rate-capped worker-side). */
  taskQueues: Record<Provider, string>;
  concurrency: number;
  retry: { maximumAttempts: number; initialIntervalMs: number; maximumIntervalMs: number };
}

export interface ProviderCounts {
  calls: number;
  failed_calls: number;
  contacts: number;
  matched: number;
  credits: number;
  failure?: string;
}

export interface EnrichResult {
  request_id: string;
  requested: number;
  enriched_count: number;
  /** Contacts whose record changed through the write-back (the master-data step later). */
  promoted_count: number;
  skipped_fresh: number;
  failed: number;
  providers: Partial<Record<Provider, ProviderCounts>>;
  credits: { budget: number | null; used: number; budget_exhausted: boolean; skipped_calls: number };
}

export interface EnrichProgress {
  phase: 'planning' | 'calling' | 'writing_back' | 'done';
  round: number;
  requested: number;
  skipped_fresh: number;
  branch_failures: Partial<Record<Provider, string>>;
}

export const enrichProgressQuery = defineQuery<EnrichProgress>('progress');

export interface ProviderBranchInput {
  requestId: string;
  provider: Provider;
  round: number;
  chunkCount: number;
  taskQueue: string;
  concurrency: number;
  retry: EnrichInput['retry'];
  /** Carried across continue-as-new. */
  fromChunk?: number;
  totals?: BranchTotals;
}

export interface BranchTotals {
  calls: number;
  contacts: number;
  matched: number;
  credits: number;
  skipped_budget: number;
}

export interface EnrichRefreshInput extends Omit<EnrichInput, 'requestId' | 'target' | 'force'> {
  withinDays: number;
}

/** What one provider call of a branch reports back (an activity result). */
export interface ProviderCallResult {
  status: 'done' | 'skipped_budget' | 'failed';
  contacts: number;
  matched: number;
  credits: number;
}
