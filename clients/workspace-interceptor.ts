// The client half of workspace propagation (contracts/workspace.ts): whatever starts a workflow —
// a start, signal-with-start, update-with-start or a schedule's action — carries the caller's
// current workspace as the `workspace-id` header and the WorkspaceId search attribute. Outside
// any workspace nothing is added, and the workflow falls back to the default workspace.
import type {
  CreateScheduleInput,
  CreateScheduleOutput,
  Next,
  ScheduleClientInterceptor,
  WorkflowClientInterceptor,
  WorkflowSignalInput,
  WorkflowSignalWithStartInput,
  WorkflowStartInput,
  WorkflowStartOutput,
  WorkflowStartUpdateWithStartInput,
  WorkflowStartUpdateWithStartOutput,
} from '@temporalio/client';
import { currentWorkspace } from '../common/workspace-context';
import { withWorkspaceAttribute, withWorkspaceHeader } from '../contracts/workspace';

type StartOptions = { typedSearchAttributes?: Parameters<typeof withWorkspaceAttribute>[0]; searchAttributes?: Parameters<typeof withWorkspaceAttribute>[1] };

const withAttribute = <O extends StartOptions>(options: O, workspaceId: number): O => ({
  ...options,
  typedSearchAttributes: withWorkspaceAttribute(options.typedSearchAttributes, options.searchAttributes, workspaceId),
});

export class WorkspaceWorkflowClientInterceptor implements WorkflowClientInterceptor {
  startWithDetails(input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'startWithDetails'>): Promise<WorkflowStartOutput> {
    const ws = currentWorkspace();
    if (ws === undefined) return next(input);
    return next({ ...input, headers: withWorkspaceHeader(input.headers, ws), options: withAttribute(input.options, ws) });
  }

  signalWithStart(input: WorkflowSignalWithStartInput, next: Next<WorkflowClientInterceptor, 'signalWithStart'>): Promise<string> {
    const ws = currentWorkspace();
    if (ws === undefined) return next(input);
    return next({ ...input, headers: withWorkspaceHeader(input.headers, ws), options: withAttribute(input.options, ws) });
  }

  startUpdateWithStart(input: WorkflowStartUpdateWithStartInput, next: Next<WorkflowClientInterceptor, 'startUpdateWithStart'>): Promise<WorkflowStartUpdateWithStartOutput> {
    const ws = currentWorkspace();
    if (ws === undefined) return next(input);
    return next({
      ...input,
      workflowStartHeaders: withWorkspaceHeader(input.workflowStartHeaders, ws),
      workflowStartOptions: withAttribute(input.workflowStartOptions, ws),
    });
  }

  // Says who signalled; the workflow keeps the workspace it was started in (a signal cannot move it).
  signal(input: WorkflowSignalInput, next: Next<WorkflowClientInterceptor, 'signal'>): Promise<void> {
    const ws = currentWorkspace();
    if (ws === undefined) return next(input);
    return next({ ...input, headers: withWorkspaceHeader(input.headers, ws) });
  }
}

/** A schedule's create headers become its action's start headers (ScheduleHandle.update keeps them). */
export class WorkspaceScheduleClientInterceptor implements ScheduleClientInterceptor {
  create(input: CreateScheduleInput, next: Next<ScheduleClientInterceptor, 'create'>): Promise<CreateScheduleOutput> {
    const ws = currentWorkspace();
    if (ws === undefined) return next(input);
    return next({ headers: withWorkspaceHeader(input.headers, ws), options: { ...input.options, action: withAttribute(input.options.action, ws) } });
  }
}
