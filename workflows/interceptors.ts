// The workflow interceptors bundled with every workflow (worker/worker.ts): each workflow run,
// activity and child start becomes an OpenTelemetry span continuing the trace the workflow was
// started in, and carries the run's workspace on (contracts/workspace.ts). Deterministic: spans
// are timed with workflow time and leave through the worker's `exporter` sink, never by I/O here;
// headers are not part of the determinism check. test/replay.test.ts replays the recorded
// histories with these interceptors.
import {
  workflowInfo,
  type ActivityInput,
  type ContinueAsNewInput,
  type LocalActivityInput,
  type Next,
  type StartChildWorkflowExecutionInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import { searchAttributes } from '../contracts/search-attributes';
import { DEFAULT_WORKSPACE_ID, withWorkspaceAttribute, withWorkspaceHeader, workspaceFromHeaders } from '../contracts/workspace';

/**
 * One per workflow execution (the factory below runs once per run): the workspace comes from the
 * start's header, else the WorkspaceId search attribute (starts made without the header), else the
 * default workspace (runs started before workspaces), and goes on every activity, local
 * activity, child and continue-as-new this run makes.
 */
class WorkspaceInterceptor implements WorkflowInboundCallsInterceptor, WorkflowOutboundCallsInterceptor {
  private workspaceId?: number;

  private workspace(): number {
    this.workspaceId ??= workflowInfo().typedSearchAttributes.get(searchAttributes.WorkspaceId) ?? DEFAULT_WORKSPACE_ID;
    return this.workspaceId;
  }

  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    this.workspaceId = workspaceFromHeaders(input.headers);
    return next(input);
  }

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    return next({ ...input, headers: withWorkspaceHeader(input.headers, this.workspace()) });
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    return next({ ...input, headers: withWorkspaceHeader(input.headers, this.workspace()) });
  }

  startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    const ws = this.workspace();
    const { typedSearchAttributes, searchAttributes: untyped } = input.options;
    return next({
      ...input,
      headers: withWorkspaceHeader(input.headers, ws),
      options: { ...input.options, typedSearchAttributes: withWorkspaceAttribute(typedSearchAttributes, untyped, ws) },
    });
  }

  // The next run keeps this run's search attributes unless the call names others; the header is what it reads first.
  continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>): Promise<never> {
    return next({ ...input, headers: withWorkspaceHeader(input.headers, this.workspace()) });
  }
}

export const interceptors = (): WorkflowInterceptors => {
  const workspace = new WorkspaceInterceptor();
  return {
    inbound: [new OpenTelemetryInboundInterceptor(), workspace],
    outbound: [new OpenTelemetryOutboundInterceptor(), workspace],
    internals: [new OpenTelemetryInternalsInterceptor()],
  };
};
