// The Temporal SDK runtime of a worker process, installed once before any connection: the SDK's
// log lines at LOG_LEVEL and, with WORKER_METRICS_PORT set, its own metrics (task slots,
// schedule-to-start latencies, poll and sticky-cache counters…) for Prometheus on
// 0.0.0.0:WORKER_METRICS_PORT/metrics. Unset (tests, a second worker on one host) exports nothing.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Config } from '../common/config';

const SDK_LEVEL = { fatal: 'ERROR', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE', silent: 'ERROR' } as const;

export function installWorkerRuntime(config: Pick<Config, 'LOG_LEVEL' | 'WORKER_METRICS_PORT'>): Runtime {
  return Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[config.LOG_LEVEL]),
    ...(config.WORKER_METRICS_PORT
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${config.WORKER_METRICS_PORT}` } } } }
      : {}),
  });
}
