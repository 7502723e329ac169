import { z } from 'zod';
import { MoneyAmount, ModelTotal } from './conversions';

// Dates as Postgres reads them: years 0001-9999, real calendar days.
const DAY = /^(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-9]))$/;
// zod runs refinements after a failed regex too: the string may be anything here
const isRealDay = (d: string) => {
  const t = Date.parse(`${d}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
};
export const Day = z.string().regex(DAY, 'must be a date YYYY-MM-DD').refine(isRealDay, 'is not a calendar date').meta({ format: 'date' });

export const MAX_RANGE_DAYS = 3660;
export const DashboardQuery = z
  .object({
    from: Day.optional().describe('first UTC day, inclusive (default: 29 days before to)'),
    to: Day.optional().describe('last UTC day, inclusive (default: today)'),
    granularity: z.enum(['day', 'week']).default('day').describe('week: ISO weeks, each bucket starting on its Monday'),
    top: z.coerce.number().int().min(1).max(100).default(10).describe('how many campaigns in each top list'),
  })
  .strict();

const counts = {
  staged: z.number().int().describe('rows staged by ingest'),
  duplicates: z.number().int().describe('of them, duplicates (same source within 30 days)'),
  promoted: z.number().int().describe('loads promoted into the vault (by day promoted)'),
  failed: z.number().int().describe('loads that failed promotion (by the day they were staged)'),
  failed_by_reason: z.record(z.string(), z.number().int()),
  contacts_created: z.number().int(),
  people_created: z.number().int().describe('golden person records created'),
  people_merged: z.number().int(),
  companies_created: z.number().int(),
  companies_merged: z.number().int(),
  enrich_lookups: z.number().int().describe('provider answers stored (Apollo, Apify)'),
  enrich_matched: z.number().int(),
  contacts_enriched: z.number().int().describe('contacts matched by a provider for the first time'),
  sent: z.number().int(),
  delivered: z.number().int().describe('sent minus bounced'),
  bounced: z.number().int().describe('messages with a hard or soft bounce (by the bounce\'s day)'),
  human_opens: z.number().int().describe('messages opened by a person (first human open, by its day)'),
  clicks: z.number().int().describe('messages clicked (first click of any verdict)'),
  human_clicks: z.number().int().describe('messages clicked by a person'),
  replies: z.number().int().describe('messages with a human reply'),
  auto_replies: z.number().int(),
  unsubscribes: z.number().int(),
  complaints: z.number().int(),
  conversions: z.number().int(),
  conversion_value: z.array(MoneyAmount),
  attributed_value: z.record(z.string(), z.array(MoneyAmount)).describe('per model: credit of conversions in the range'),
};
export const DashboardCounts = z.object(counts);
export const Dashboard = z.object({
  from: z.string(),
  to: z.string(),
  granularity: z.enum(['day', 'week']),
  series: z.array(DashboardCounts.extend({ start: z.string().describe('the bucket\'s first day') })),
  totals: DashboardCounts,
  enrichment: z.object({
    lookups: z.number().int(),
    matched: z.number().int(),
    match_rate: z.number(),
    contacts: z.number().int().describe('contacts created up to `to`'),
    contacts_enriched: z.number().int().describe('of them, matched by a provider at least once'),
    coverage: z.number(),
  }),
  top_campaigns: z.object({
    by_reply_rate: z.array(z.object({ campaign_id: z.number().int(), name: z.string(), delivered: z.number().int(), replies: z.number().int(), reply_rate: z.number() })),
    by_attributed_value: z.array(z.object({
      campaign_id: z.number().int(), name: z.string(), model: z.string(), currency: z.string(), value: z.string(), conversions: z.number().int(),
    })).describe('linear model; a campaign with credit in two currencies appears once per currency'),
  }),
  pipeline: z.object({
    available: z.boolean().describe('false: Temporal did not answer; the counts are null'),
    running: z.number().int().nullable(),
    failed: z.number().int().nullable().describe('workflows that failed, timed out or were terminated in the range'),
    as_of: z.date(),
  }),
  freshness: z.object({
    rollups: z.literal('live').describe('rollups are written in the same transaction as the events they count'),
    as_of: z.date(),
  }),
});

const Rate = z.number();
const LinkClicks = z.object({ url: z.string(), total: z.number().int(), unique: z.number().int(), human: z.number().int(), unique_human: z.number().int(), bot: z.number().int() });
const Segment = z.object({
  value: z.string(), sent: z.number().int(), delivered: z.number().int(), unique_human_opens: z.number().int(),
  unique_human_clicks: z.number().int(), replies: z.number().int(), unsubscribes: z.number().int(),
  open_rate: Rate, click_rate: Rate, reply_rate: Rate,
});
export const CampaignReport = z.object({
  campaign_id: z.number().int(),
  name: z.string(),
  status: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  generated_at: z.string(),
  delivery: z.object({ sent: z.number().int(), delivered: z.number().int(), bounced: z.number().int(), hard_bounces: z.number().int(), soft_bounces: z.number().int(), delivery_rate: Rate }),
  opens: z.object({ total: z.number().int(), unique: z.number().int(), human: z.number().int(), unique_human: z.number().int(), machine: z.number().int(), rate: Rate.describe('unique human opens / delivered') }),
  clicks: z.object({
    total: z.number().int(), unique: z.number().int(), human: z.number().int(), unique_human: z.number().int(), bot: z.number().int(),
    ctr: Rate.describe('unique human clicks / delivered'), ctor: Rate.describe('unique human clicks / unique human opens'), links: z.array(LinkClicks),
  }),
  replies: z.object({ human: z.number().int(), auto: z.number().int(), rate: Rate, median_seconds_to_first_reply: z.number().nullable() }),
  unsubscribes: z.object({ count: z.number().int(), rate: Rate }),
  complaints: z.object({ count: z.number().int(), rate: Rate }),
  conversions: z.object({ count: z.number().int(), median_seconds_to_conversion: z.number().nullable(), models: z.array(ModelTotal) }),
  funnel: z.array(z.object({
    step: z.number().int(), sent: z.number().int(), delivered: z.number().int(), unique_human_opens: z.number().int(),
    unique_human_clicks: z.number().int(), replies: z.number().int(), unsubscribes: z.number().int(), open_rate: Rate, reply_rate: Rate,
    drop_off: Rate.nullable().describe('1 - sent / the previous step\'s sent; null for the first step'),
  })),
  breakdowns: z.object({ company_domain: z.array(Segment), seniority: z.array(Segment), industry: z.array(Segment) }),
});
export const ReportQuery = z
  .object({
    format: z.enum(['json', 'csv']).default('json'),
    rows: z.enum(['summary', 'recipients']).default('summary').describe('csv only: the report\'s figures, or one row per recipient'),
    breakdown_limit: z.coerce.number().int().min(1).max(500).default(20).describe('segments per breakdown, most sent first'),
  })
  .strict();
