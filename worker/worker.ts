import { fileURLToPath } from 'node:url';
import { Worker, type ActivityInterceptorsFactory, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { OpenTelemetryActivityInboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { createActivities, type ActivityDeps } from '../activities';
import { workflowSpanExporter } from '../clients/telemetry';
import { inWorkspace } from '../common/workspace-context';
import { DEFAULT_WORKSPACE_ID, workspaceFromHeaders } from '../contracts/workspace';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Bundled with the workflows (bundleWorkflowCode's workflowInterceptorModules, or workflowModules below). */
export const workflowInterceptorModules = [fileURLToPath(new URL('../workflows/interceptors.ts', import.meta.url))];

export interface WorkerSetup extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests build one per run, with workflowInterceptorModules); otherwise workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/**
 * Each activity runs in the workspace its workflow sent in the `workspace-id` header (its
 * database transactions read it, db/pool.ts); one scheduled without the header (before
 * workspaces) in the default workspace.
 */
const workspaceActivityInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    execute: (input, next) => inWorkspace(workspaceFromHeaders(input.headers) ?? DEFAULT_WORKSPACE_ID, () => next(input)),
  },
});

/**
 * The interceptors of every worker (main and provider workers): activity spans and workspace,
 * and for workflow workers the workflow interceptors and the sink their spans leave through.
 */
export function workerInterceptorOptions(workflows: 'bundled' | 'from-path' | false): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  const activity: ActivityInterceptorsFactory[] = [
    (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) }),
    workspaceActivityInterceptor,
  ];
  if (!workflows) return { interceptors: { activity } };
  return {
    // a prebuilt bundle already holds them (bundleWorkflowCode's workflowInterceptorModules)
    interceptors: { activity, ...(workflows === 'from-path' ? { workflowModules: workflowInterceptorModules } : {}) },
    // the sink's types are the interceptors package's OpenTelemetry 1.x; workflowSpanExporter converts
    sinks: { exporter: makeWorkflowExporter(workflowSpanExporter() as never, {} as never) },
  };
}

export function createWorker({ connection, namespace, taskQueue, workflowBundle, ...deps }: WorkerSetup): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    activities: createActivities(deps),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    ...workerInterceptorOptions(workflowBundle ? 'bundled' : 'from-path'),
    // Chunk activities hold a pool connection each; more in flight than the pool has only queue.
    maxConcurrentActivityTaskExecutions: 8,
  });
}
