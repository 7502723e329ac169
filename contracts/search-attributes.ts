import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes; the dev launcher and tests register them on the server. */
export const searchAttributes = {
  Source: defineSearchAttributeKey('Source', SearchAttributeType.KEYWORD),
  BatchId: defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD),
  ContactCount: defineSearchAttributeKey('ContactCount', SearchAttributeType.INT),
  CampaignId: defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD),
  RequestId: defineSearchAttributeKey('RequestId', SearchAttributeType.KEYWORD),
  Provider: defineSearchAttributeKey('Provider', SearchAttributeType.KEYWORD),
  /** The workspace (tenant) a run works for: contracts/workspace.ts. */
  WorkspaceId: defineSearchAttributeKey('WorkspaceId', SearchAttributeType.INT),
};
