// What the worker bundles: every workflow, and nothing with side effects.
export { ingestBatchWorkflow } from './ingest';
export { promoteContactsWorkflow } from './promote';
export { enrichContactsWorkflow, enrichProviderBranchWorkflow, enrichRefreshWorkflow } from './enrich';
export { campaignWorkflow } from './campaign';
export { webhookDispatchWorkflow, webhookDeliveryWorkflow } from './webhooks';
export { mailboxWorkflow } from './mailbox';
