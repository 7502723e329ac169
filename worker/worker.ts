import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { OpenTelemetryActivityInboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { createActivities, type ActivityDeps } from '../activities';
import { workflowSpanExporter } from '../clients/telemetry';

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
 * The tracing part of every worker's options (main and provider workers): activity spans, and
 * for workflow workers the workflow interceptors and the sink their spans leave through.
 */
export function tracingWorkerOptions(workflows: 'bundled' | 'from-path' | false): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  const activity = [(ctx: ConstructorParameters<typeof OpenTelemetryActivityInboundInterceptor>[0]) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })];
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
    ...tracingWorkerOptions(workflowBundle ? 'bundled' : 'from-path'),
    // Chunk activities hold a pool connection each; more in flight than the pool has only queue.
    maxConcurrentActivityTaskExecutions: 8,
  });
}
