import type { Pool } from 'pg';
import type { ApolloClient } from '../../clients/apollo';
import type { ApifyClient } from '../../clients/apify';
import { createEnrichRepository } from '../../db/enrich';
import { createEnrichRequestActivities } from './request';
import { createProviderCallActivities } from './providers';
import type { EnrichSettings } from './settings';

export type { ProviderCallRef } from '../../db/enrich';

export type { EnrichSettings } from './settings';

export interface EnrichDeps {
  pool: Pool;
  apollo?: ApolloClient;
  apify?: ApifyClient;
  enrich?: EnrichSettings;
}

/**
 * The enrichment activities: the request's ledger steps (main task queue) and one call per
 * provider (each provider's own task queue), over one repository.
 */
export function createEnrichActivities({ pool, apollo, apify, enrich }: EnrichDeps) {
  const settings: EnrichSettings = enrich ?? { apifyInputKey: 'profileUrls', apifyProfilesPerRun: 25 };
  const requests = createEnrichRepository(pool);
  return {
    ...createEnrichRequestActivities({ requests, settings }),
    ...createProviderCallActivities({ requests, apollo, apify, settings }),
  };
}
