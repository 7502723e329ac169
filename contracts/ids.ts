// Every workflow, child and schedule id in one registry: ops find a run in the Temporal UI by
// these shapes, and two callers never spell one differently.
export const workflowIds = {
  ingest: (batchId: string) => `ingest:${batchId}`,
  promote: (scope: string) => `promote:${scope}`,
  enrich: (requestId: string) => `enrich:${requestId}`,
  /** One provider's calls of one enrichment round: a child of enrich:<request_id>. */
  enrichBranch: (parentWorkflowId: string, provider: string, round: number) => `${parentWorkflowId}:${provider}:r${round}`,
  /** The request id a TTL refresh run gives the enrichment it starts. */
  enrichRefreshRequest: (refreshWorkflowId: string) => `refresh:${refreshWorkflowId}`,
  /** What the TTL refresh schedule starts, one per task queue. */
  enrichRefresh: (taskQueue: string) => `enrich-refresh:${taskQueue}`,
  campaign: (campaignId: number | string) => `campaign:${campaignId}`,
  /** The outbox dispatcher, one per task queue (deployments sharing a namespace don't collide). */
  webhookDispatch: (taskQueue: string) => `webhook-dispatch:${taskQueue}`,
  /** One event's delivery to one subscription: a repeated hand-out finds the workflow already started. */
  webhookDelivery: (eventKey: string, subscriptionId: number) => `webhook:${eventKey}:${subscriptionId}`,
  /** The reader of one sending identity's mailbox (IMAP_URL), one per task queue. */
  mailbox: (taskQueue: string, identity: string) => `mailbox:${taskQueue}:${identity}`,
};

export const scheduleIds = {
  campaign: (campaignId: number | string) => `campaign-schedule:${campaignId}`,
  enrichTtlRefresh: (taskQueue: string) => `enrich-ttl-refresh:${taskQueue}`,
};

/** The workflow types by name, for starts that only know the name (schedules). */
export const workflowTypes = {
  ingest: 'ingestBatchWorkflow',
  promote: 'promoteContactsWorkflow',
  enrich: 'enrichContactsWorkflow',
  enrichBranch: 'enrichProviderBranchWorkflow',
  enrichRefresh: 'enrichRefreshWorkflow',
  campaign: 'campaignWorkflow',
  webhookDispatch: 'webhookDispatchWorkflow',
  webhookDelivery: 'webhookDeliveryWorkflow',
  mailbox: 'mailboxWorkflow',
} as const;
