// Every worker a deployment runs, built from its configuration: the main task queue (ingest,
// promotion, enrichment orchestration, campaigns, mailbox readers) and one rate-capped queue per provider.
// Shared by `npm run worker` and the dev launcher.
import type { NativeConnection, Worker } from '@temporalio/worker';
import { webhookPolicyOf, webhookRetryOf, type Config } from '../common/config';
import { connectClient } from '../clients/temporal';
import { destinationPolicy } from '../clients/webhook-http';
import { startWebhookDispatch } from './webhook-dispatch';
import type { Pool } from '../db/pool';
import { dnsMxResolver } from '../clients/mx';
import { createMailer } from '../clients/mailer';
import { createMailgunEventsLog } from '../clients/email-events';
import { createImapReader } from '../clients/imap';
import { createWorker } from './worker';
import { createProviderWorkers, providerDepsFromConfig } from './provider-workers';

export interface RunningWorkers {
  workers: Worker[];
  /** Resolves once every worker has stopped (after shutdown() or SIGINT/SIGTERM). */
  running: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startWorkersFromConfig(config: Config, pool: Pool, connection: NativeConnection): Promise<RunningWorkers> {
  const common = { connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TASK_QUEUE, pool, ...providerDepsFromConfig(config) };
  const mailer = config.SMTP_URL ? createMailer(config.SMTP_URL, { maxConnections: config.SMTP_POOL_CONNECTIONS }) : undefined;
  const main = await createWorker({
    ...common,
    mx: config.MX_CHECK === 'on' ? dnsMxResolver() : undefined,
    mailer,
    sentLog: config.EMAIL_EVENTS_URL
      ? createMailgunEventsLog({
          baseUrl: config.EMAIL_EVENTS_URL,
          apiKey: config.EMAIL_EVENTS_API_KEY!,
          settleMs: config.EMAIL_EVENTS_SETTLE_SECONDS * 1000,
          timeoutMs: config.PROVIDER_TIMEOUT_MS,
        })
      : undefined,
    mailboxes: config.IMAP_URL,
    imap: config.IMAP_URL.length ? createImapReader({ timeoutMs: config.PROVIDER_TIMEOUT_MS }) : undefined,
    mailboxBatchSize: config.IMAP_BATCH_SIZE,
    mailboxPollSeconds: config.IMAP_POLL_SECONDS,
    campaign: {
      trackingSecret: config.TRACKING_SECRET,
      publicBaseUrl: config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`,
      domainRatePerMinute: config.SEND_DOMAIN_RATE_PER_MINUTE,
      confirmGroupMs: config.SEND_CONFIRM_GROUP_MS,
    },
    webhooks: { policy: destinationPolicy(webhookPolicyOf(config)), timeoutMs: config.WEBHOOK_TIMEOUT_MS },
  });
  const providers = await createProviderWorkers({
    ...common,
    apolloCallsPerSecond: config.APOLLO_CALLS_PER_SECOND,
    apifyCallsPerSecond: config.APIFY_CALLS_PER_SECOND,
  });
  const workers = [main, ...providers];
  // the outbox's dispatcher: started (or woken) now and on every commit of webhook events
  const client = await connectClient(config);
  const stopDispatch = startWebhookDispatch({ client, pool, taskQueue: config.TASK_QUEUE, input: { retry: webhookRetryOf(config) } });
  const running = Promise.all(workers.map((w) => w.run())).then(async () => {
    mailer?.close();
    await stopDispatch();
    await client.connection.close();
  });
  return {
    workers,
    running,
    async shutdown() {
      for (const w of workers) w.shutdown();
      await running;
    },
  };
}
