import type { Pool } from '../db/pool';
import type { MxResolver } from '../clients/mx';
import { createIngestActivities } from './ingest';
import { createPromoteActivities } from './promote';

export interface ActivityDeps {
  pool: Pool;
  mx?: MxResolver;
}

/** Every activity the worker registers, built over its dependencies (no module-level singletons). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIngestActivities(deps),
    ...createPromoteActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
