// Reads of the analytics rollups (sql/migrations/0021, kept by sql/functions/analytics.sql): the
// dashboard's series and tops, the campaign report, and the report's per-recipient export.
// Nothing here scans raw history except the export, which streams one campaign's recipients.
import { streamRows } from './cursor';
import type { Pool } from './pool';
import { ATTRIBUTION_MODELS, type MoneyAmount } from './conversions';

export type Granularity = 'day' | 'week';

/** daily_counts metrics that are plain counts, as the dashboard names them. */
const COUNT_METRICS = [
  'staged', 'duplicates', 'promoted', 'failed', 'contacts_created', 'people_created', 'people_merged', 'companies_created',
  'companies_merged', 'enrich_lookups', 'enrich_matched', 'contacts_enriched', 'sent', 'bounced', 'human_opens', 'clicks',
  'human_clicks', 'replies', 'auto_replies', 'unsubscribes', 'complaints', 'conversions',
] as const;
type CountMetric = (typeof COUNT_METRICS)[number];

export type DashboardCounts = Record<CountMetric | 'delivered', number> & {
  failed_by_reason: Record<string, number>;
  conversion_value: MoneyAmount[];
  attributed_value: Record<string, MoneyAmount[]>;
};

export interface DashboardData {
  buckets: (DashboardCounts & { start: string })[];
  totals: DashboardCounts;
  coverage: { contacts: number; contacts_enriched: number };
  topByReplyRate: { campaign_id: number; name: string; delivered: number; replies: number; reply_rate: number }[];
  topByValue: { campaign_id: number; name: string; model: string; currency: string; value: string; conversions: number }[];
}

function emptyCounts(): DashboardCounts {
  const counts = Object.fromEntries([...COUNT_METRICS, 'delivered'].map((m) => [m, 0])) as unknown as DashboardCounts;
  counts.failed_by_reason = {};
  counts.conversion_value = [];
  counts.attributed_value = Object.fromEntries(ATTRIBUTION_MODELS.map((m) => [m, []]));
  return counts;
}

/** Adds a currency's amount (Postgres summed it exactly: the queries group by metric and currency, one row each). */
function addMoney(list: MoneyAmount[], currency: string, value: string) {
  list.push({ currency, value });
  list.sort((a, b) => a.currency.localeCompare(b.currency));
}

export function createAnalyticsRepository(pool: Pool) {
  return {
    /**
     * The dashboard for [from, to] (UTC dates, inclusive) in day or ISO-week buckets, in two round
     * trips of named (prepared once per connection, so planned once) statements: analytics.daily_counts
     * grouped by bucket and over the whole range in one pass (grouping sets), with the coverage as of
     * `to`; and the two tops from the campaign rollups.
     */
    async dashboard(from: string, to: string, granularity: Granularity, topLimit: number): Promise<DashboardData> {
      const [counts, tops] = await Promise.all([
        pool.query({
          name: 'analytics-dashboard-counts',
          text: `select 'series' as part, to_char(date_trunc($3, day::timestamp), 'YYYY-MM-DD') as start, metric, dim,
                        sum(n)::float8 as n, sum(amount)::text as amount
                   from analytics.daily_counts where day between $1::date and $2::date
                  group by grouping sets ((to_char(date_trunc($3, day::timestamp), 'YYYY-MM-DD'), metric, dim), (metric, dim))
                 union all
                 -- coverage as of the range's end: every contact created and enriched up to then
                 select 'coverage', null, metric, '', coalesce(sum(n), 0)::float8, null
                   from analytics.daily_counts where metric in ('contacts_created', 'contacts_enriched') and day <= $2::date
                  group by metric`,
          values: [from, to, granularity],
        }),
        pool.query({
          name: 'analytics-dashboard-tops',
          text: `(select 'reply' as top, r.campaign_id::int, k.name, r.delivered::float8, r.replies::float8,
                         round(r.replies::numeric / r.delivered, 4)::float8 as reply_rate,
                         null as model, null as currency, null as value, null::int as conversions
                    from (select campaign_id, sum(sent) - sum(bounced) as delivered, sum(replies) as replies
                            from analytics.campaign_daily where day between $1::date and $2::date group by 1) r
                    join marketing.campaigns k using (campaign_id)
                   where r.delivered > 0
                   order by reply_rate desc, r.replies desc, r.campaign_id limit $3)
                 union all
                 (select 'value', v.campaign_id::int, k.name, null, null, null, v.model, v.currency, v.credit::text, v.conversions::int
                    from (select campaign_id, model, currency, sum(credit) as credit, sum(conversions) as conversions
                            from analytics.attribution_daily where day between $1::date and $2::date and model = 'linear'
                           group by 1, 2, 3) v
                    join marketing.campaigns k using (campaign_id)
                   where v.credit > 0
                   order by v.credit desc, v.campaign_id limit $3)`,
          values: [from, to, topLimit],
        }),
      ]);
      const series = counts.rows.filter((r) => r.part === 'series' && r.start !== null);
      const totals = counts.rows.filter((r) => r.part === 'series' && r.start === null);
      const covered = (metric: string) => counts.rows.find((r) => r.part === 'coverage' && r.metric === metric)?.n ?? 0;
      const coverage = { contacts: covered('contacts_created'), contacts_enriched: covered('contacts_enriched') };
      const topByReplyRate = tops.rows.filter((r) => r.top === 'reply')
        .map(({ campaign_id, name, delivered, replies, reply_rate }) => ({ campaign_id, name, delivered, replies, reply_rate }));
      const topByValue = tops.rows.filter((r) => r.top === 'value')
        .map(({ campaign_id, name, model, currency, value, conversions }) => ({ campaign_id, name, model, currency, value, conversions }));

      const apply = (target: DashboardCounts, r: { metric: string; dim: string; n: number; amount: string }) => {
        if (r.metric.startsWith('attributed:')) {
          const model = r.metric.slice('attributed:'.length);
          if (target.attributed_value[model]) addMoney(target.attributed_value[model], r.dim, r.amount);
          return;
        }
        if (!(COUNT_METRICS as readonly string[]).includes(r.metric)) return;
        target[r.metric as CountMetric] += r.n;
        if (r.metric === 'failed') target.failed_by_reason[r.dim] = (target.failed_by_reason[r.dim] ?? 0) + r.n;
        if (r.metric === 'conversions') addMoney(target.conversion_value, r.dim, r.amount);
      };
      const buckets = new Map<string, DashboardCounts & { start: string }>();
      for (const start of bucketStarts(from, to, granularity)) buckets.set(start, { start, ...emptyCounts() });
      for (const r of series) apply(buckets.get(r.start) ?? buckets.set(r.start, { start: r.start, ...emptyCounts() }).get(r.start)!, r);
      const total = emptyCounts();
      for (const r of totals) apply(total, r);
      for (const c of [total, ...buckets.values()]) c.delivered = c.sent - c.bounced;
      return {
        buckets: [...buckets.values()],
        totals: total,
        coverage,
        topByReplyRate,
        topByValue,
      };
    },

    /** The campaign's report as analytics.f_campaign_report builds it; null: no such campaign. */
    async campaignReport(campaignId: number, breakdownLimit: number): Promise<Record<string, unknown> | null> {
      const { rows: [r] } = await pool.query('select analytics.f_campaign_report($1, $2) as report', [campaignId, breakdownLimit]);
      return r.report;
    },

    /**
     * Each recipient of the campaign with their segments and what they did (human events), in
     * contact order, read through a cursor in pages so a campaign of any size streams.
     */
    async *campaignRecipients(campaignId: number, pageSize = 2000): AsyncGenerator<Record<string, unknown>[]> {
      yield* streamRows<Record<string, unknown>>(
        pool,
        `with h as (
             select h.contact_id, count(distinct h.outreach_id) filter (where h.status = 'sent') as messages_sent,
                    max(h.step_no) filter (where h.status = 'sent') as last_step_sent,
                    bool_or(f.flag = 'human_open') as opened, bool_or(f.flag = 'human_click') as clicked,
                    bool_or(f.flag = 'reply') as replied, bool_or(f.flag = 'bounce') as bounced,
                    bool_or(f.flag = 'unsubscribe') as unsubscribed
               from marketing.outreach_history h
               left join analytics.outreach_firsts f on f.outreach_id = h.outreach_id
              where h.campaign_id = $1 group by h.contact_id),
           converted as (
             select contact_id, count(distinct conversion_id) as conversions from marketing.attribution
              where campaign_id = $1 and model = 'linear' group by contact_id)
           select c.contact_id, c.email, c.first_name, c.last_name, c.title, c.company_name, s.company_domain, s.seniority, s.industry,
                  h.messages_sent, h.last_step_sent, coalesce(h.opened, false) as opened, coalesce(h.clicked, false) as clicked,
                  coalesce(h.replied, false) as replied, coalesce(h.bounced, false) as bounced,
                  coalesce(h.unsubscribed, false) as unsubscribed, coalesce(v.conversions, 0) as conversions
             from h join vault.contacts c using (contact_id)
             left join analytics.f_contact_segments(array(select contact_id from h)) s using (contact_id)
             left join converted v using (contact_id)
            order by c.contact_id`,
        [campaignId],
        pageSize,
      );
    },

    async campaignExists(campaignId: number): Promise<boolean> {
      const { rows } = await pool.query('select 1 from marketing.campaigns where campaign_id = $1', [campaignId]);
      return rows.length > 0;
    },
  };
}

/** The first day of each bucket in [from, to]: every day, or each ISO week's Monday. */
export function bucketStarts(from: string, to: string, granularity: Granularity): string[] {
  const day = 86_400_000;
  let t = Date.parse(`${from}T00:00:00Z`);
  if (granularity === 'week') t -= ((new Date(t).getUTCDay() + 6) % 7) * day;
  const end = Date.parse(`${to}T00:00:00Z`);
  const out: string[] = [];
  for (; t <= end; t += granularity === 'week' ? 7 * day : day) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>;
