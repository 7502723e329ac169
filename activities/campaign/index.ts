// Campaign activities: a run's lifecycle (lifecycle.ts) and its send batches (send-batch.ts),
// over the campaign repositories and the SMTP and provider-log clients.
import type { Pool } from '../../db/pool';
import type { Mailer } from '../../clients/mailer';
import type { SentMessageLog } from '../../clients/email-events';
import { createCampaignsRepository } from '../../db/campaigns';
import { createOutreachRepository } from '../../db/outreach';
import { createTemplatesRepository } from '../../db/templates';
import { createLifecycleActivities } from './lifecycle';
import { createMessageBuilder } from './messages';
import { createBatchSender } from './send-batch';

export type { SendBatchInput } from './send-batch';

export interface CampaignSettings {
  trackingSecret: string;
  publicBaseUrl: string;
  domainRatePerMinute: number;
  /** How long a claim protects a row from other claimants (a retry of the same activity reclaims at once). */
  leaseSeconds?: number;
  /** Sends accepted within this many ms share one confirmation statement (SEND_CONFIRM_GROUP_MS). */
  confirmGroupMs?: number;
}

export interface CampaignDeps {
  pool: Pool;
  mailer?: Mailer;
  /** The provider's event log: settles sends an earlier attempt left in doubt (see send-batch.ts). */
  sentLog?: SentMessageLog;
  campaign?: CampaignSettings;
}

export function createCampaignActivities({ pool, mailer, sentLog, campaign: settings }: CampaignDeps) {
  const campaigns = createCampaignsRepository(pool);
  return {
    ...createLifecycleActivities({ campaigns }),
    sendCampaignBatch: createBatchSender({
      campaigns,
      outreach: createOutreachRepository(pool),
      templates: createTemplatesRepository(pool),
      messages: createMessageBuilder({
        trackingSecret: settings?.trackingSecret ?? 'dev-only-tracking-secret-change-me',
        publicBaseUrl: settings?.publicBaseUrl ?? 'http://localhost:3000',
      }),
      mailer,
      sentLog,
      leaseSeconds: settings?.leaseSeconds ?? 60,
      domainRatePerMinute: settings?.domainRatePerMinute ?? 6000,
      confirmGroupMs: settings?.confirmGroupMs ?? 100,
    }),
  };
}
