import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { dailyCountTotals, slowestActiveQuerySeconds } from '../../db/metrics';
import { pendingMigrations } from '../../db/migrate';

// Where the business numbers come from. The work is done by several processes (API replicas,
// any number of workers, retried activities), so per-process counters would each see a part,
// double-count retries and restart at zero. The truth is the database: every ingest chunk,
// promotion, golden-record change, enrichment lookup, send and response adds to
// analytics.daily_counts in the transaction that does the work, exactly once. So each scrape
// reads those totals and exports them as counters: any API replica answers the same numbers, and
// they are right after a restart of anything. Only the pool gauges are per process (this API's pool).
// A scrape whose query fails keeps the last values (a counter dropping to zero would look like a
// reset to rate()) and says so with barton_business_metrics_up 0.

/** daily_counts metric → exported counter (and the label its dimension becomes). */
const COUNTERS: {
  name: string;
  help: string;
  from: Record<string, Record<string, string>>;
  dimLabel?: string;
  /** export the summed amount (seconds) instead of the count */
  amount?: true;
}[] = [
  { name: 'barton_rows_staged_total', help: 'Rows staged into intake.raw_loads (duplicates included)', from: { staged: {} } },
  { name: 'barton_rows_duplicate_total', help: 'Rows staged as duplicates of the same source within 30 days', from: { duplicates: {} } },
  { name: 'barton_rows_promoted_total', help: 'Staged rows promoted into the contact vault', from: { promoted: {} } },
  { name: 'barton_rows_failed_total', help: 'Staged rows that failed promotion, by reason', from: { failed: {} }, dimLabel: 'reason' },
  {
    name: 'barton_golden_records_created_total',
    help: 'Golden records created, by kind (person, company)',
    from: { people_created: { kind: 'person' }, companies_created: { kind: 'company' } },
  },
  {
    name: 'barton_golden_records_merged_total',
    help: 'Golden records merged into another, by kind (person, company)',
    from: { people_merged: { kind: 'person' }, companies_merged: { kind: 'company' } },
  },
  { name: 'barton_enrichment_calls_total', help: 'Enrichment lookups sent to a provider, by provider', from: { enrich_lookups: {} }, dimLabel: 'provider' },
  {
    name: 'barton_enrichment_rate_limited_total',
    help: 'Provider calls answered 429 (rate limited), by provider; each is retried after the provider\'s delay',
    from: { enrich_rate_limited: {} },
    dimLabel: 'provider',
  },
  { name: 'barton_emails_sent_total', help: 'Campaign emails sent', from: { sent: {} } },
  { name: 'barton_emails_bounced_total', help: 'Sent emails that bounced (hard or soft)', from: { bounced: {} } },
  { name: 'barton_replies_total', help: 'Human replies to campaign emails', from: { replies: {} } },
  { name: 'barton_unsubscribes_total', help: 'Unsubscribes from campaign emails', from: { unsubscribes: {} } },
  { name: 'barton_complaints_total', help: 'Spam complaints about campaign emails', from: { complaints: {} } },
  {
    name: 'barton_send_throttle_waits_total',
    help: 'Times a sender found no send token (campaign or sending-domain throttle) and waited, by sending domain',
    from: { send_throttle_waits: {} },
    dimLabel: 'domain',
  },
  {
    name: 'barton_send_throttle_wait_seconds_total',
    help: 'Seconds senders were told to wait for a send token, by sending domain',
    from: { send_throttle_waits: {} },
    dimLabel: 'domain',
    amount: true,
  },
];

/** GET /metrics in Prometheus text format: process metrics, request durations per route, business counters, pool and migration gauges. */
export const metricsPlugin = fp(async (app) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const counters = COUNTERS.map((c) => ({
    ...c,
    metric: new Counter({
      name: c.name,
      help: c.help,
      labelNames: [...new Set([...Object.values(c.from).flatMap((l) => Object.keys(l)), ...(c.dimLabel ? [c.dimLabel] : [])])],
      registers: [registry],
    }),
  }));
  const up = new Gauge({ name: 'barton_business_metrics_up', help: '1 when the last scrape read the business counters from the database', registers: [registry] });
  const pool = new Gauge({ name: 'barton_db_pool_connections', help: "This API process's Postgres pool: connections in use, idle, and requests waiting for one", labelNames: ['state'], registers: [registry] });
  const pending = new Gauge({
    name: 'barton_migrations_pending',
    help: 'Migrations on disk not applied to the database (non-zero after a failed or skipped migration run)',
    registers: [registry],
  });

  const slowest = new Gauge({
    name: 'barton_db_slowest_query_seconds',
    help: 'Seconds the longest-running statement on the database has been running, from any process (0 when none)',
    registers: [registry],
  });

  async function refresh() {
    const p = app.pg;
    pool.set({ state: 'in_use' }, p.totalCount - p.idleCount);
    pool.set({ state: 'idle' }, p.idleCount);
    pool.set({ state: 'waiting' }, p.waitingCount);
    try {
      const [totals, notApplied, slowestSeconds] = await Promise.all([dailyCountTotals(p), pendingMigrations(p), slowestActiveQuerySeconds(p)]);
      pending.set(notApplied.length);
      slowest.set(slowestSeconds);
      for (const c of counters) {
        c.metric.reset();
        // series without a dimension start at 0, so a fresh database exports every name
        for (const labels of Object.values(c.from)) if (!c.dimLabel) c.metric.inc(labels, 0);
        for (const t of totals) {
          const labels = c.from[t.metric];
          if (labels) c.metric.inc(c.dimLabel ? { ...labels, [c.dimLabel]: t.dim } : labels, c.amount ? t.amount : t.n);
        }
      }
      up.set(1);
    } catch (err) {
      app.log.warn({ err }, 'metrics: could not read the business counters');
      up.set(0);
    }
  }

  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    await refresh();
    return reply.type(registry.contentType).send(await registry.metrics());
  });
});
