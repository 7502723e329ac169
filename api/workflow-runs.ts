import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Workflow, WorkflowStartOptions } from '@temporalio/client';

export interface StartedRun {
  handle: WorkflowHandle;
  runId?: string;
  existing: boolean;
}

/**
 * Starts a workflow under its business ID, or finds the one already there: a running one is
 * always joined; a closed one is returned unless the reuse policy lets a new run start.
 */
export async function startOrFind<W extends Workflow>(
  client: Client,
  workflowType: string,
  options: WorkflowStartOptions<W>,
): Promise<StartedRun> {
  try {
    const handle = await client.workflow.start<W>(workflowType, options);
    return { handle, runId: handle.firstExecutionRunId, existing: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle(options.workflowId), existing: true };
  }
}

/** A workflow's status name as Temporal reports it (RUNNING, COMPLETED, FAILED, …). */
export async function statusOf(handle: WorkflowHandle): Promise<string> {
  return (await handle.describe()).status.name;
}

export function uiUrl(uiBase: string, namespace: string, workflowId: string, runId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
}
