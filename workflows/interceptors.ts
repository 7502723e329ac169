// The workflow interceptors bundled with every workflow (worker/worker.ts): each workflow run,
// activity and child start becomes an OpenTelemetry span continuing the trace the workflow was
// started in. Deterministic: spans are timed with workflow time and leave through the worker's
// `exporter` sink, never by I/O here; test/replay.test.ts replays the recorded histories with them.
import type { WorkflowInterceptors } from '@temporalio/workflow';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new OpenTelemetryInboundInterceptor()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
