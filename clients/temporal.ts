import { Client, Connection, type ClientInterceptors, type QueryDefinition, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../common/config';
import { withTimeout } from '../common/with-timeout';
import { temporalClientInterceptors } from './telemetry';
import { WorkspaceScheduleClientInterceptor, WorkspaceWorkflowClientInterceptor } from './workspace-interceptor';

type TemporalConfig = Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_API_KEY' | 'TEMPORAL_TLS'>;

// Temporal Cloud: an API key implies TLS.
const connectionOptions = (c: TemporalConfig) => ({
  address: c.TEMPORAL_ADDRESS,
  tls: c.TEMPORAL_TLS || Boolean(c.TEMPORAL_API_KEY),
  apiKey: c.TEMPORAL_API_KEY,
});

/** Every client's interceptors: the caller's trace and workspace travel into what it starts. */
export function clientInterceptors(): ClientInterceptors {
  return {
    workflow: [...temporalClientInterceptors().workflow, new WorkspaceWorkflowClientInterceptor()],
    schedule: [new WorkspaceScheduleClientInterceptor()],
  };
}

export async function connectClient(c: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(c));
  return new Client({ connection, namespace: c.TEMPORAL_NAMESPACE, interceptors: clientInterceptors() });
}

export function connectWorker(c: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(c));
}

/** Asks a running workflow a query (its live progress); gives up after ms, so a busy worker cannot hang a request. */
export function queryWorkflow<T>(handle: WorkflowHandle, query: QueryDefinition<T>, ms = 5000): Promise<T> {
  return withTimeout(handle.query(query), ms);
}
