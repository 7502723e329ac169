// npm run enrich:schedule: creates (or updates to the current settings) the enrichment TTL refresh
// schedule, as the worker does at start. Safe to run any number of times.
import { exitOnConfigError, loadConfig } from '../common/config';
import { connectClient } from '../clients/temporal';
import { enrichRefreshScheduleId, ensureEnrichRefreshSchedule } from '../worker/provider-workers';

let config;
try {
  config = loadConfig();
} catch (err) {
  exitOnConfigError(err);
}
const client = await connectClient(config);
try {
  const outcome = await ensureEnrichRefreshSchedule(client, config);
  console.log(`schedule "${enrichRefreshScheduleId(config.TASK_QUEUE)}" ${outcome}: every ${config.ENRICH_REFRESH_EVERY}, people whose intelligence expires within ${config.ENRICH_REFRESH_WITHIN_DAYS} days`);
} finally {
  await client.connection.close();
}
