import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '../schemas/common';
import { CampaignParams } from '../schemas/campaigns';
import { CampaignReport, Dashboard, DashboardQuery, MAX_RANGE_DAYS, ReportQuery } from '../schemas/analytics';
import { HttpError } from '../errors';
import { createAnalyticsRepository } from '../../db/analytics';
import { csvLine } from '../../common/csv';

const DAY_MS = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const ratio = (n: number, d: number) => (d ? Math.round((n / d) * 10_000) / 10_000 : 0);

/**
 * How long a Temporal count is served as is; after that it is still served (with its `as_of`)
 * while one refresh runs in the background, so no dashboard request waits on Temporal's
 * visibility but the first of each query. A count older than PIPELINE_MAX_AGE_MS is not served.
 */
const PIPELINE_TTL_MS = 10_000;
const PIPELINE_MAX_AGE_MS = 60_000;

/** The report as `section,item,metric,value` rows: every figure of the JSON report, flattened. */
function reportRows(report: Record<string, any>): unknown[][] {
  const rows: unknown[][] = [['campaign', report.name, 'campaign_id', report.campaign_id], ['campaign', report.name, 'status', report.status]];
  // every scalar of o but its label (the item already names it)
  const figures = (section: string, item: string, o: Record<string, unknown>, label?: string) => {
    for (const [k, v] of Object.entries(o)) if (k !== label && (v === null || typeof v !== 'object')) rows.push([section, item, k, v]);
  };
  for (const section of ['delivery', 'opens', 'clicks', 'replies', 'unsubscribes', 'complaints']) figures(section, '', report[section]);
  for (const l of report.clicks.links) figures('link', l.url, l, 'url');
  figures('conversions', '', report.conversions);
  for (const m of report.conversions.models) {
    rows.push(['attribution', m.model, 'conversions', m.conversions]);
    for (const v of m.values) rows.push(['attribution', m.model, `value ${v.currency}`, v.value]);
  }
  for (const s of report.funnel) figures('funnel', `step ${s.step}`, s, 'step');
  for (const [dimension, segments] of Object.entries(report.breakdowns as Record<string, Record<string, unknown>[]>)) {
    for (const s of segments) figures(dimension, s.value as string, s, 'value');
  }
  return rows;
}

const RECIPIENT_COLUMNS = [
  'contact_id', 'email', 'first_name', 'last_name', 'title', 'company_name', 'company_domain', 'seniority', 'industry',
  'messages_sent', 'last_step_sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed', 'conversions',
];

const analyticsRoutes: FastifyPluginAsyncZod = async (app) => {
  const analytics = createAnalyticsRepository(app.pg);
  // Temporal's counts per query: the last answer and the refresh under way, if any
  const counted = new Map<string, { last?: { n: number; at: number }; refresh?: Promise<{ n: number; at: number }> }>();
  const count = (query: string): Promise<{ n: number; at: number }> => {
    const entry = counted.get(query) ?? {};
    const now = Date.now();
    if (entry.last && now - entry.last.at < PIPELINE_TTL_MS) return Promise.resolve(entry.last);
    if (!entry.refresh) {
      if (counted.size > 1000) counted.clear();
      counted.set(query, entry);
      entry.refresh = app.temporal.workflow.count(query).then(
        (r) => (entry.last = { n: r.count, at: now }),
        (err) => {
          if (!entry.last) counted.delete(query); // a failure is not reused
          throw err;
        },
      ).finally(() => (entry.refresh = undefined));
      entry.refresh.catch(() => undefined); // awaited below, or by a later request
    }
    if (entry.last && now - entry.last.at < PIPELINE_MAX_AGE_MS) return Promise.resolve(entry.last);
    return entry.refresh;
  };

  /** Workflows running now and failed (or timed out, or terminated) in the range, from Temporal's visibility. */
  async function pipeline(from: string, to: string) {
    const start = `${from}T00:00:00Z`;
    const end = new Date(Date.parse(`${to}T00:00:00Z`) + DAY_MS).toISOString();
    try {
      const [running, failed] = await Promise.all([
        count('ExecutionStatus = "Running"'),
        count(`ExecutionStatus IN ("Failed", "TimedOut", "Terminated") AND CloseTime >= "${start}" AND CloseTime < "${end}"`),
      ]);
      return { available: true, running: running.n, failed: failed.n, as_of: new Date(Math.min(running.at, failed.at)) };
    } catch (err) {
      app.log.warn({ err }, 'dashboard: Temporal visibility did not answer');
      return { available: false, running: null, failed: null, as_of: new Date() };
    }
  }

  app.get('/api/analytics/dashboard', {
    schema: {
      summary: 'Series and tops for a date range (UTC days) by day or ISO week: intake, golden records, enrichment, sends and responses, conversions and attributed value, top campaigns, pipeline health',
      description: 'Served from rollups kept in the same transactions as the events they count (freshness: live); the pipeline counts come from Temporal, reused for 10 s and then refreshed in the background (`pipeline.as_of`: when they were counted).',
      tags: ['analytics'], querystring: DashboardQuery, response: { 200: Dashboard, 400: ErrorResponse },
    },
  }, async (request) => {
    const q = request.query;
    const to = q.to ?? isoDay(Date.now());
    // Postgres has no year 0: a default range near 0001-01-01 starts there
    const from = q.from ?? isoDay(Math.max(Date.parse('0001-01-01T00:00:00Z'), Date.parse(`${to}T00:00:00Z`) - 29 * DAY_MS));
    if (from > to) throw new HttpError(400, 'invalid from', { issues: [{ field: 'from', message: 'must not be after to' }], total: 1 });
    if ((Date.parse(to) - Date.parse(from)) / DAY_MS > MAX_RANGE_DAYS) {
      throw new HttpError(400, 'invalid from', { issues: [{ field: 'from', message: `the range may span at most ${MAX_RANGE_DAYS} days` }], total: 1 });
    }
    const [data, health] = await Promise.all([analytics.dashboard(from, to, q.granularity, q.top), pipeline(from, to)]);
    const { totals, coverage } = data;
    return {
      from, to, granularity: q.granularity,
      series: data.buckets,
      totals,
      enrichment: {
        lookups: totals.enrich_lookups, matched: totals.enrich_matched, match_rate: ratio(totals.enrich_matched, totals.enrich_lookups),
        contacts: coverage.contacts, contacts_enriched: coverage.contacts_enriched, coverage: ratio(coverage.contacts_enriched, coverage.contacts),
      },
      top_campaigns: { by_reply_rate: data.topByReplyRate, by_attributed_value: data.topByValue },
      pipeline: health,
      freshness: { rollups: 'live' as const, as_of: new Date() },
    };
  });

  app.get('/api/campaigns/:id/report', {
    schema: {
      summary: 'The campaign report, live: delivery, opens and clicks (human and machine), replies, unsubscribes, complaints, conversions and attributed value per model, per-step funnel, medians, breakdowns',
      description:
        'Rates are over delivered messages (sent minus bounced) and count human events. `format=csv` exports the report as ' +
        '`section,item,metric,value` rows, or with `rows=recipients` one row per recipient; text cells that a spreadsheet would ' +
        'run as a formula (starting with =, +, -, @, tab or CR) get a leading single quote.',
      tags: ['campaigns', 'analytics'], params: CampaignParams, querystring: ReportQuery,
      response: {
        200: { description: 'the report (JSON), or its CSV export', content: { 'application/json': { schema: CampaignReport }, 'text/csv': { schema: z.string() } } },
        404: ErrorResponse,
      },
    },
  }, async (request, reply) => {
    const id = request.params.id;
    const { format, rows, breakdown_limit } = request.query;
    if (format === 'csv' && rows === 'recipients') {
      if (!(await analytics.campaignExists(id))) throw new HttpError(404, `campaign ${id} does not exist`);
      const pages = analytics.campaignRecipients(id);
      const lines = async function* () {
        yield csvLine(RECIPIENT_COLUMNS);
        for await (const page of pages) yield page.map((r) => csvLine(RECIPIENT_COLUMNS.map((c) => r[c]))).join('');
      };
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="campaign-${id}-recipients.csv"`)
        .send(Readable.from(lines()) as never);
    }
    const report = await analytics.campaignReport(id, breakdown_limit);
    if (!report) throw new HttpError(404, `campaign ${id} does not exist`);
    if (format === 'csv') {
      const text = [['section', 'item', 'metric', 'value'], ...reportRows(report)].map(csvLine).join('');
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="campaign-${id}-report.csv"`).send(text);
    }
    return reply.type('application/json').send(report as never);
  });
};

export default analyticsRoutes;
