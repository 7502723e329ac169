// npm run worker: one worker process for the main task queue.
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { connectWorker } from '../clients/temporal';
import { dnsMxResolver } from '../clients/mx';
import { createWorker } from './worker';
import { createMailer } from '../clients/mailer';

let config;
try {
  config = loadConfig(['DATABASE_URL']);
} catch (err) {
  exitOnConfigError(err);
}
const pool = createPool(config.DATABASE_URL);
const connection = await connectWorker(config);
const worker = await createWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TASK_QUEUE,
  pool,
  mx: config.MX_CHECK === 'on' ? dnsMxResolver() : undefined,
  mailer: config.SMTP_URL ? createMailer(config.SMTP_URL, { maxConnections: config.SMTP_POOL_CONNECTIONS }) : undefined,
  campaign: {
    trackingSecret: config.TRACKING_SECRET,
    publicBaseUrl: config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`,
    domainRatePerMinute: config.SEND_DOMAIN_RATE_PER_MINUTE,
  },
});
console.log(`worker: polling task queue "${config.TASK_QUEUE}" on ${config.TEMPORAL_ADDRESS}`);
await worker.run(); // resolves after SIGINT/SIGTERM: the SDK drains in-flight tasks first
await pool.end();
await connection.close();
