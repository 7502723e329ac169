// OpenTelemetry tracing: one trace from the Fastify request (@fastify/otel) through the Temporal
// client's workflow start, the workflow and its activities (@temporalio/interceptors-opentelemetry)
// down to each pg query (@opentelemetry/instrumentation-pg). startTracing() turns it on for the
// process — over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, or into a given exporter
// (tests) — and before that nothing is patched or registered: spans go to OpenTelemetry's no-op
// tracer. The workers' interceptors are always installed (the replay test proves they change no
// history); with tracing off they make non-recording spans and the workflow sink drops them.
import pg from 'pg';
import { trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';

export interface Tracing {
  provider: NodeTracerProvider;
  exporter: SpanExporter;
  resource: Resource;
  /** Sends what is buffered (tests read an in-memory exporter after this). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/**
 * Turns tracing on for this process, once: with `exporter` (tests: an InMemorySpanExporter, spans
 * exported at once) or else OTLP/HTTP to `endpoint` (batched). Neither given: off, returns undefined.
 */
export function startTracing(opts: { serviceName: string; endpoint?: string; exporter?: SpanExporter }): Tracing | undefined {
  if (active) return active;
  if (!opts.exporter && !opts.endpoint) return undefined;
  const exporter = opts.exporter ?? new OTLPTraceExporter({ url: `${opts.endpoint!.replace(/\/$/, '')}/v1/traces` });
  const resource = resourceFromAttributes({ 'service.name': opts.serviceName });
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [opts.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  provider.register(); // the global tracer, W3C trace-context propagation and the AsyncLocalStorage context
  // pg is imported as an ES module, which the instrumentation's require hook never sees: patch its
  // Client directly (queries outside any trace, e.g. a poll, make no root spans).
  const pgTracing = new PgInstrumentation({ requireParentSpan: true });
  pgTracing.setTracerProvider(provider);
  const pgModule = pgTracing.getModuleDefinitions().find((d) => d.name === 'pg');
  pgModule?.patch?.(pg);
  active = {
    provider,
    exporter,
    resource,
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      active = undefined;
    },
  };
  return active;
}

/** The process's tracing, when startTracing() turned it on. */
export function activeTracing(): Tracing | undefined {
  return active;
}

export function tracer(name = 'barton-outreach'): Tracer {
  return trace.getTracer(name);
}

/** Temporal client interceptors: starting (or signalling) a workflow carries the caller's trace into it. */
export function temporalClientInterceptors() {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * Where the workflow interceptors' spans go (the worker's `exporter` sink). They arrive in
 * OpenTelemetry 1.x's shape (the interceptors package's SDK: parentSpanId, instrumentationLibrary);
 * this hands them to the process's 2.x exporter in its shape. Tracing off: dropped.
 */
export function workflowSpanExporter(): SpanExporter {
  return {
    export(spans, done) {
      const target = active?.exporter;
      if (!target) return done({ code: 0 });
      const converted = spans.map((s) => {
        const old = s as ReadableSpan & { parentSpanId?: string; instrumentationLibrary?: ReadableSpan['instrumentationScope'] };
        return Object.assign(old, {
          parentSpanContext: old.parentSpanContext ?? (old.parentSpanId ? { traceId: old.spanContext().traceId, spanId: old.parentSpanId, traceFlags: TraceFlags.SAMPLED } : undefined),
          instrumentationScope: old.instrumentationScope ?? old.instrumentationLibrary ?? { name: 'temporal-workflow' },
          resource: active!.resource,
        });
      });
      target.export(converted, done);
    },
    shutdown: async () => undefined,
  };
}
