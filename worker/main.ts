// npm run worker: one worker process for the main task queue.
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { connectWorker } from '../clients/temporal';
import { dnsMxResolver } from '../clients/mx';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createWorker } from './worker';

let config;
try {
  config = loadConfig(['DATABASE_URL']);
} catch (err) {
  exitOnConfigError(err);
}
// The SDK's own log lines follow LOG_LEVEL like the rest of the process.
const sdkLevel = ({ fatal: 'ERROR', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE', silent: 'ERROR' } as const)[config.LOG_LEVEL];
Runtime.install({ logger: new DefaultLogger(sdkLevel) });
const pool = createPool(config.DATABASE_URL);
const connection = await connectWorker(config);
const worker = await createWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TASK_QUEUE,
  pool,
  mx: config.MX_CHECK === 'on' ? dnsMxResolver() : undefined,
});
console.log(`worker: polling task queue "${config.TASK_QUEUE}" on ${config.TEMPORAL_ADDRESS}`);
await worker.run(); // resolves after SIGINT/SIGTERM: the SDK drains in-flight tasks first
await pool.end();
await connection.close();
