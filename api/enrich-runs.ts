// Starting and reading enrichment runs: shared by the REST routes and the MCP tools.
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../common/config';
import { buildEnrichInput } from '../common/enrich';
import type { enrichContactsWorkflow } from '../workflows/enrich';
import { workflowIds, workflowTypes } from '../contracts/ids';
import { searchAttributes } from '../contracts/search-attributes';
import { enrichProgressQuery, type EnrichResult, type EnrichTarget, type Waterfall } from '../contracts/enrich';
import type { EnrichBody } from './schemas/enrich';
import { startOrFind, statusOf, type StartedRun } from './workflow-runs';
import { queryWorkflow } from '../clients/temporal';

/** `target` overrides the body's (the Contacts view's bulk action passes GET /api/contacts's filters). */
export async function startEnrichment(temporal: Client, config: Config, body: EnrichBody, actor?: string, target?: EnrichTarget): Promise<StartedRun & { requestId: string }> {
  const requestId = body.request_id ?? randomUUID();
  const waterfall: Waterfall | undefined = body.waterfall
    ? Object.entries(body.waterfall).map(([field, providers]) => ({ field, providers }) as Waterfall[number])
    : undefined;
  const input = buildEnrichInput(config, {
    requestId,
    target: target ?? (body.contact_ids
      ? { contactIds: [...new Set(body.contact_ids)] }
      : body.person_ids
        ? { personIds: [...new Set(body.person_ids)] }
        : body.company_ids
          ? { companyIds: [...new Set(body.company_ids)] }
          : { filter: { source: body.filter?.source, companyDomain: body.filter?.company_domain, status: body.filter?.status, limit: body.filter?.limit } }),
    providers: body.providers,
    force: body.force,
    creditBudget: body.credit_budget,
    waterfall,
    actor,
  });
  const run = await startOrFind<typeof enrichContactsWorkflow>(temporal, workflowTypes.enrich, {
    workflowId: workflowIds.enrich(requestId),
    taskQueue: config.TASK_QUEUE,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    args: [input],
    typedSearchAttributes: [
      { key: searchAttributes.RequestId, value: requestId },
      ...(input.providers.length === 1 ? [{ key: searchAttributes.Provider, value: input.providers[0] }] : []),
      ...(body.contact_ids ? [{ key: searchAttributes.ContactCount, value: body.contact_ids.length }] : []),
    ],
    memo: { actor },
  });
  return { ...run, requestId };
}

export interface EnrichmentStatus {
  request_id: string;
  workflow_id: string;
  status: string;
  progress?: unknown;
  result?: EnrichResult;
  failure?: string;
}

/** null when no such request was ever started. */
export async function enrichmentStatus(temporal: Client, requestId: string): Promise<EnrichmentStatus | null> {
  const workflowId = workflowIds.enrich(requestId);
  const handle = temporal.workflow.getHandle<typeof enrichContactsWorkflow>(workflowId);
  let status: string;
  try {
    status = await statusOf(handle);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  const out: EnrichmentStatus = { request_id: requestId, workflow_id: workflowId, status };
  if (status === 'RUNNING') out.progress = await queryWorkflow(handle, enrichProgressQuery).catch(() => undefined);
  if (status === 'COMPLETED') out.result = await handle.result();
  if (status === 'FAILED' || status === 'TERMINATED' || status === 'TIMED_OUT') {
    out.failure = await handle.result().then(
      () => undefined,
      (err) => (err instanceof WorkflowFailedError ? `${err.message}${err.cause ? `: ${err.cause.message}` : ''}` : String(err)),
    );
  }
  return out;
}
