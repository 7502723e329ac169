import type { Pool } from '../db/pool';
import type { MxResolver } from '../clients/mx';
import type { ApolloClient } from '../clients/apollo';
import type { ApifyClient } from '../clients/apify';
import { createIngestActivities } from './ingest';
import { createPromoteActivities } from './promote';
import { createEnrichActivities, type EnrichSettings } from './enrich';
import { createCampaignActivities, type CampaignSettings } from './campaign';
import type { Mailer } from '../clients/mailer';
import type { SentMessageLog } from '../clients/email-events';
import { createWebhookActivities, type WebhookSettings } from './webhooks';
import type { ImapReader } from '../clients/imap';
import type { MailboxSettings } from '../common/config';
import { createMailboxActivities } from './mailbox';

export interface ActivityDeps {
  pool: Pool;
  mx?: MxResolver;
  apollo?: ApolloClient;
  apify?: ApifyClient;
  enrich?: EnrichSettings;
  mailer?: Mailer;
  sentLog?: SentMessageLog;
  campaign?: CampaignSettings;
  webhooks?: WebhookSettings;
  /** The sending identities' mailboxes, read for replies and bounces (IMAP_URL). */
  mailboxes?: MailboxSettings[];
  imap?: ImapReader;
  mailboxBatchSize?: number;
  mailboxPollSeconds?: number;
}

/** Every activity the worker registers, built over its dependencies (no module-level singletons). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIngestActivities(deps),
    ...createPromoteActivities(deps),
    ...createEnrichActivities(deps),
    ...createCampaignActivities(deps),
    ...createWebhookActivities(deps),
    ...createMailboxActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
