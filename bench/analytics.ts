// npm run bench:analytics [-- --contacts 1000000 --outreach 10000000 --campaigns 100 --requests 300 --keep-db NAME]
// The analytics dashboard and the campaign report through the real API (a separate `npm run api`
// process, one request at a time), next to the same figures computed in the same run by plain
// aggregate queries over the raw tables, sent straight to Postgres. Prints p50/p99 of each and
// the ratio. Goals: dashboard p99 <= 50 ms, report p99 <= 200 ms.
//
// Data, generated in SQL (generate_series, INSERT ... SELECT) on two sessions: contacts with
// golden person and company records (seniority, industry), campaigns of 3 steps over the last 90
// days, outreach rows with opens (machine and human), clicks (bot and human) on 4 links, replies,
// auto-replies, bounces, unsubscribes, complaints; the rollups built by the product's set-based
// analytics.f_rebuild_rollups; then conversions attributed by the SQL models through the
// product's path (rollups by their triggers). Per-phase times are printed. Defaults: 1,000,000
// contacts, 10,000,000 outreach rows over 100 campaigns (≈ 12 min on the shared 2-core machine at
// load 8; see README); --smoke: 20,000 and 200,000 (CI). A floor row (GET /api/campaigns/:id)
// shows what any authenticated request costs on the machine at the time.
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { createApiKey } from '../db/api-keys';
import type { Pool } from '../db/pool';
import type { PoolClient } from 'pg';
import { runCleanups, startBenchDatabase, type Cleanups } from './stack';
import { startTemporalDevServer } from '../scripts/temporal-server';
import { freePort } from '../scripts/ports';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string' },
    outreach: { type: 'string' },
    campaigns: { type: 'string' },
    conversions: { type: 'string' },
    requests: { type: 'string', default: '300' },
    'raw-runs': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'keep-db': { type: 'string' },
  },
});
const CONTACTS = Number(values.contacts ?? (values.smoke ? 20_000 : 1_000_000));
const OUTREACH = Number(values.outreach ?? (values.smoke ? 200_000 : 10_000_000));
const CAMPAIGNS = Number(values.campaigns ?? (values.smoke ? 20 : 100));
const CONVERSIONS = Number(values.conversions ?? Math.round(CONTACTS / 50));
const REQUESTS = Number(values.requests);
const RAW_RUNS = Number(values['raw-runs'] ?? (values.smoke ? 3 : 10));
const STEPS = 3;
const fmt = (n: number) => n.toLocaleString('en-US');

/** Secondary (non-constraint) indexes of the tables, as pg_get_indexdef gives them. */
async function secondaryIndexes(client: PoolClient, tables: string[]) {
  const { rows } = await client.query(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def
       from pg_index i where i.indrelid = any($1::regclass[])
        and not exists (select from pg_constraint c where c.conindid = i.indexrelid) order by 1`,
    [tables],
  );
  return rows as { name: string; def: string }[];
}

/** Unique constraints of the tables that no foreign key relies on, as pg_get_constraintdef gives them. */
async function deferrableUniques(client: PoolClient, tables: string[]) {
  const { rows } = await client.query(
    `select c.conrelid::regclass::text as "table", c.conname as name, pg_get_constraintdef(c.oid) as def
       from pg_constraint c where c.conrelid = any($1::regclass[]) and c.contype = 'u'
        and not exists (select from pg_constraint f where f.contype = 'f' and f.conindid = c.conindid) order by 1, 2`,
    [tables],
  );
  return rows as { table: string; name: string; def: string }[];
}

/** Runs the jobs on the clients, each client taking the next job when it is free. */
async function onClients<T>(clients: PoolClient[], jobs: T[], run: (client: PoolClient, job: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(clients.map(async (client) => {
    while (next < jobs.length) await run(client, jobs[next++]);
  }));
}

// The big tables are loaded as pg_restore loads a dump: their secondary indexes dropped and built
// again afterwards from their own definitions (so are unique constraints no foreign key needs),
// on LOAD_CLIENTS sessions in parallel, row triggers (foreign-key checks, the rollups'
// triggers) off for the load session, the foreign keys then checked set-based, the rollups built
// by analytics.f_rebuild_rollups (the product's set-based recount into the tables the API reads).
// The schema is the real one at the end: every constraint, index and trigger in place.
const BULK_TABLES = ['vault.contacts', 'people.master', 'people.slot', 'marketing.outreach_history', 'marketing.engagement_events'];
const LOAD_CLIENTS = 2;

async function generate(pool: Pool, ownServer: boolean) {
  const phases: [string, number][] = [];
  let t = performance.now();
  const phase = (name: string) => {
    const s = (performance.now() - t) / 1000;
    phases.push([name, s]);
    console.log(`  ${name}: ${s.toFixed(1)} s`);
    t = performance.now();
  };
  const clients = await Promise.all(Array.from({ length: LOAD_CLIENTS }, () => pool.connect()));
  const [client] = clients;
  try {
    if (ownServer) {
      // a throwaway server of this run: fewer checkpoints while ~5 GB are written
      await client.query(`alter system set max_wal_size = '16GB'`);
      await client.query(`alter system set checkpoint_timeout = '30min'`);
      await client.query('select pg_reload_conf()');
    }
    for (const c of clients) {
      await c.query(`set maintenance_work_mem = '512MB'`);
      await c.query(`set work_mem = '128MB'`);
      await c.query('set session_replication_role = replica');
    }
    const indexes = await secondaryIndexes(client, BULK_TABLES);
    const uniques = await deferrableUniques(client, BULK_TABLES);
    for (const i of indexes) await client.query(`drop index ${i.name}`);
    for (const u of uniques) await client.query(`alter table ${u.table} drop constraint ${u.name}`);

    const step = Math.max(1, Math.ceil(CONTACTS / 4));
    const contactChunks = Array.from({ length: Math.ceil(CONTACTS / step) }, (_, i) => 1 + i * step);
    await onClients(clients, contactChunks, (c, from) => c.query(
      `insert into vault.contacts (contact_id, email, first_name, last_name, title, company_name, company_domain, source)
       overriding system value
       select g, 'user' || g || '@dom' || (g % 20000) || '.com', 'Ada', 'Lovelace' || (g % 997),
              (array['Software Engineer','Sales Manager','Director of Sales','CEO','Data Analyst','VP Marketing'])[1 + g % 6],
              'Company ' || (g % 20000), 'dom' || (g % 20000) || '.com', 'bench'
         from generate_series($1::int, $2::int) g`,
      [from, Math.min(CONTACTS, from + step - 1)],
    ));
    // ids given explicitly (in parallel chunks): the identity goes on after them
    await client.query(`select setval(pg_get_serial_sequence('vault.contacts', 'contact_id'), $1)`, [CONTACTS]);
    phase(`contacts: ${fmt(CONTACTS)}`);

    // golden records with their (statement-level, set-based) reference checks on: one company per
    // domain, one person per contact (same order, so ids line up)
    await client.query('set session_replication_role = origin');
    await client.query(
      `insert into company.master (name, domain, industry)
       select 'Company ' || d, 'dom' || d || '.com', (array['Software','Finance','Retail','Health','Manufacturing','Media','Education'])[1 + d % 7]
         from generate_series(0, 19999) d`,
    );
    await client.query(
      `insert into people.master (email, seniority, company_id)
       select 'user' || g || '@dom' || (g % 20000) || '.com', (array['c_suite','vp','director','manager','senior','entry'])[1 + g % 6],
              (g % 20000) + 1
         from generate_series(1, $1::int) g order by g`,
      [CONTACTS],
    );
    await client.query(
      `insert into people.slot (source, source_key, contact_id, seen_at, last_seen_at, person_id)
       select 'bench', 'u' || g, g, now(), now(), g from generate_series(1, $1::int) g`,
      [CONTACTS],
    );
    await client.query('set session_replication_role = replica');
    // the inserts above rely on identities starting at 1 in a fresh database
    const { rows: [aligned] } = await client.query(
      `select count(*)::int as n from vault.contacts c join people.master p on p.person_id = c.contact_id and p.email = c.email
         join company.master m on m.company_id = p.company_id and m.domain = c.company_domain`,
    );
    if (aligned.n !== CONTACTS) throw new Error(`golden records do not line up with contacts (${aligned.n} of ${CONTACTS})`);
    phase(`golden records: 20,000 companies, ${fmt(CONTACTS)} people and slots`);

    const { rows: [tpl] } = await client.query(`insert into marketing.templates (name, subject, text_body) values ('bench', 's', 'b') returning template_id`);
    const perCampaign = Math.floor(OUTREACH / CAMPAIGNS / STEPS);
    const span = Math.max(1, CONTACTS - perCampaign);
    // campaign c (0-based): perCampaign contacts from an offset, sent (c % 90) + 10 days ago
    await client.query(
      `insert into marketing.campaigns (name, from_email, status, started_at)
       select 'Campaign ' || (c + 1), 'bench@sender.example', 'completed', now() - make_interval(days => c % 90)
         from generate_series(0, $1::int - 1) c order by c`,
      [CAMPAIGNS],
    );
    await client.query(
      `insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds)
       select k.campaign_id, s, $1, 259200 from marketing.campaigns k cross join generate_series(1, ${STEPS}) s`,
      [tpl.template_id],
    );
    const chunk = Math.max(1, Math.ceil(CAMPAIGNS / 10));
    const campaignChunks = Array.from({ length: Math.ceil(CAMPAIGNS / chunk) }, (_, i) => i * chunk);
    await onClients(clients, campaignChunks, (c, c0) => c.query(
      // step n sent to a shrinking share, 3 days apart
      `insert into marketing.outreach_history (outreach_id, campaign_id, contact_id, step_no, email, status, sent_at, message_id)
       overriding system value
       select (k.c * $3::int + g - k.lo) * ${STEPS} + s, k.c + 1, g, s, 'user' || g || '@dom' || (g % 20000) || '.com',
              case when x.sent then 'sent' else 'stopped' end,
              case when x.sent then k.first_send + (s - 1) * interval '3 days' + (g % 36000) * interval '1 second' end,
              '<bench.' || (k.c + 1) || '.' || g || '.' || s || '@sender.example>'
         from (select c, 1 + (c * $3::int) % $4::int as lo, now() - (c % 90 + 10) * interval '1 day' as first_send
                 from generate_series($1::int, $2::int) c) k
        cross join lateral generate_series(k.lo, k.lo + $3::int - 1) g
        cross join generate_series(1, ${STEPS}) s
        cross join lateral (select s = 1 or (hashint4(g * 31 + s) & 1023) < 1023 - 200 * s as sent) x`,
      [c0, Math.min(CAMPAIGNS, c0 + chunk) - 1, perCampaign, span],
    ));
    // ids given explicitly (deterministic, whatever order the chunks ran in): the identity goes on after them
    await client.query(`select setval(pg_get_serial_sequence('marketing.outreach_history', 'outreach_id'), $1)`, [CAMPAIGNS * perCampaign * STEPS]);
    phase(`outreach: ${fmt(perCampaign * STEPS * CAMPAIGNS)} rows over ${CAMPAIGNS} campaigns`);

    // responses, by a hash of the row (r in 0..1023): shares of sent messages. Which events each r
    // gets is a 1,024-key table joined by hash, not a test of every kind on every row.
    const { rows: [ids] } = await client.query('select min(outreach_id)::float8 as lo, max(outreach_id)::float8 as hi from marketing.outreach_history');
    const idStep = Math.ceil((ids.hi - ids.lo + 1) / 10);
    let events = 0;
    const idChunks = Array.from({ length: Math.ceil((ids.hi - ids.lo + 1) / idStep) }, (_, i) => ids.lo + i * idStep);
    await onClients(clients, idChunks, async (c, from) => {
      const r = await c.query(
        `with plan as materialized (
           select r, e.kind, e.verdict, e.agent, case when e.linked then 'https://example.org/' || (r % 4) end as url, e.secs
             from generate_series(0, 1023) r cross join lateral (values
               ('open', 'machine', 'apple_mpp', false, 2, r < 150),
               ('open', 'human', 'browser', false, 3600 + r * 10, r < 300),
               ('open', 'human', 'browser', false, 90000 + r * 10, r < 120),
               ('click', 'bot', 'scanner', true, 12, r >= 980),
               ('click', 'human', 'browser', true, 4000 + r * 10, r < 80),
               ('reply', 'human', null, false, 7200 + r * 100, r < 30),
               ('auto_reply', 'human', null, false, 60, r >= 1010),
               ('hard_bounce', 'human', null, false, 5, r between 900 and 919),
               ('soft_bounce', 'human', null, false, 5, r between 920 and 929),
               ('unsubscribe', 'human', null, false, 5000, r between 300 and 304),
               ('complaint', 'human', null, false, 6000, r = 305)) e(kind, verdict, agent, linked, secs, happens)
            where e.happens)
         insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, agent_class, url, seconds_after_send, occurred_at)
         select h.outreach_id, h.campaign_id, h.step_no, h.contact_id, p.kind, p.verdict, p.agent, p.url, p.secs, h.sent_at + p.secs * interval '1 second'
           from marketing.outreach_history h join plan p on p.r = hashint4(h.outreach_id::int) & 1023
          where h.outreach_id between $1 and $2 and h.status = 'sent'`,
        [from, from + idStep - 1],
      );
      events += r.rowCount ?? 0;
    });
    phase(`events: ${fmt(events)}`);

    for (const c of clients) await c.query('set session_replication_role = origin');
    await onClients(clients, [...uniques.map((u) => `alter table ${u.table} add constraint ${u.name} ${u.def}`), ...indexes.map((i) => i.def)],
      (c, ddl) => c.query(ddl));
    phase(`unique constraints and secondary indexes built again: ${uniques.length} and ${indexes.length}`);

    // what the foreign-key triggers did not check row by row, checked set-based
    const { rows: [orphans] } = await client.query(
      `select (select count(*) from marketing.outreach_history h where not exists (select from vault.contacts c where c.contact_id = h.contact_id))
            + (select count(*) from marketing.outreach_history h where not exists (select from marketing.campaigns k where k.campaign_id = h.campaign_id))
            + (select count(*) from marketing.engagement_events e where not exists (select from marketing.outreach_history h where h.outreach_id = e.outreach_id))
            as n`,
    );
    if (Number(orphans.n)) throw new Error(`${orphans.n} rows violate a foreign key`);
    phase('foreign keys checked');

    await client.query('select analytics.f_rebuild_rollups()');
    phase('rollups built (analytics.f_rebuild_rollups)');
  } finally {
    for (const c of clients) {
      await c.query('reset session_replication_role').catch(() => undefined);
      c.release();
    }
  }

  // conversions through the product's path (attribution in SQL, rollups by their triggers):
  // contacts mailed, converting a few days after a send
  for (let i = 0; i < CONVERSIONS; i += 1000) {
    await pool.query(
      `select count(*) from marketing.f_record_conversions((
         select jsonb_agg(jsonb_build_object('external_id', 'bench-' || g, 'contact_id', h.contact_id, 'type', 'closed_won',
                'value', ((g % 500) * 10 + 99)::text || '.50', 'currency', 'USD', 'currency_scale', 2,
                'occurred_at', h.sent_at + interval '4 days'))
           from generate_series($1::int, $2::int) g
           join marketing.outreach_history h on h.outreach_id = (g * 37) % ${Math.max(1, OUTREACH - 1)} + 1 and h.status = 'sent'), 'api')`,
      [i, Math.min(CONVERSIONS, i + 1000) - 1],
    );
  }
  phase(`conversions attributed: ${fmt(CONVERSIONS)} tried (fewer: the row picked was not sent)`);
  await pool.query('analyze');
  await pool.query('vacuum analytics.daily_counts, analytics.campaign_steps, analytics.campaign_daily, analytics.campaign_links, analytics.campaign_segments, analytics.attribution_daily, analytics.campaign_reply_times');
  phase('analyze');
  const total = phases.reduce((a, [, s]) => a + s, 0);
  console.log(`generation: ${(total / 60).toFixed(1)} min (${total.toFixed(0)} s)`);
  return total;
}

/** The dashboard's totals for [from, to] from the raw tables (what the rollups replace). */
async function rawDashboard(pool: Pool, from: string, to: string) {
  const params = [`${from}T00:00:00Z`, new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString()];
  return Promise.all([
    pool.query(`select count(*) filter (where status = 'sent' and sent_at >= $1 and sent_at < $2) from marketing.outreach_history`, params),
    pool.query(
      `select kind, verdict, count(*) from (select outreach_id, kind, verdict, min(occurred_at) as t from marketing.engagement_events group by 1, 2, 3) x
        where t >= $1 and t < $2 group by 1, 2`,
      params,
    ),
    pool.query(`select date_trunc('day', sent_at), count(*) from marketing.outreach_history where status = 'sent' and sent_at >= $1 and sent_at < $2 group by 1`, params),
    pool.query(`select currency, count(*), sum(value) from marketing.conversions where occurred_at >= $1 and occurred_at < $2 group by 1`, params),
    pool.query(`select model, currency, sum(credit) from marketing.attribution where converted_at >= $1 and converted_at < $2 group by 1, 2`, params),
    pool.query(`select status, failure_reason, count(*) from intake.raw_loads where created_at >= $1 and created_at < $2 group by 1, 2`, params),
    pool.query(`select count(*) from people.master where created_at >= $1 and created_at < $2`, params),
    pool.query(
      `select h.campaign_id, count(*) filter (where h.status = 'sent') as sent, count(distinct e.outreach_id) filter (where e.kind = 'reply') as replies
         from marketing.outreach_history h left join marketing.engagement_events e on e.outreach_id = h.outreach_id
        where h.sent_at >= $1 and h.sent_at < $2 group by 1 order by 3 desc limit 10`,
      params,
    ),
  ]);
}

/** The report's figures for one campaign from the raw tables. */
async function rawReport(pool: Pool, campaignId: number) {
  return Promise.all([
    pool.query(
      `select h.step_no, count(*) filter (where h.status = 'sent'),
              count(distinct e.outreach_id) filter (where e.kind in ('hard_bounce', 'soft_bounce')),
              count(*) filter (where e.kind = 'open'), count(distinct e.outreach_id) filter (where e.kind = 'open' and e.verdict = 'human'),
              count(*) filter (where e.kind = 'click'), count(distinct e.outreach_id) filter (where e.kind = 'click' and e.verdict = 'human'),
              count(distinct e.outreach_id) filter (where e.kind = 'reply'), count(distinct e.outreach_id) filter (where e.kind = 'unsubscribe')
         from marketing.outreach_history h left join marketing.engagement_events e on e.outreach_id = h.outreach_id
        where h.campaign_id = $1 group by 1`,
      [campaignId],
    ),
    pool.query(`select url, count(*), count(distinct outreach_id) from marketing.engagement_events where campaign_id = $1 and kind = 'click' group by 1`, [campaignId]),
    pool.query(
      `select c.company_domain, pm.seniority, cm.industry, count(*) filter (where h.status = 'sent'),
              count(distinct e.outreach_id) filter (where e.kind = 'open' and e.verdict = 'human'), count(distinct e.outreach_id) filter (where e.kind = 'reply')
         from marketing.outreach_history h join vault.contacts c using (contact_id)
         left join people.slot ps on ps.contact_id = c.contact_id left join people.master pm on pm.person_id = ps.person_id
         left join company.master cm on cm.company_id = pm.company_id
         left join marketing.engagement_events e on e.outreach_id = h.outreach_id
        where h.campaign_id = $1 group by grouping sets ((1), (2), (3))`,
      [campaignId],
    ),
    pool.query(`select model, currency, sum(credit), count(distinct conversion_id) from marketing.attribution where campaign_id = $1 group by 1, 2`, [campaignId]),
  ]);
}

function percentiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { p50: at(0.5), p99: at(0.99) };
}

async function measure(n: number, fn: (i: number) => Promise<unknown>, warmUp = 20) {
  for (let i = 0; i < warmUp; i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

const cleanups: Cleanups = [];
try {
  const { pool, appUrl: url } = await startBenchDatabase('analytics', cleanups, 10, values['keep-db']);
  const existing = (await pool.query('select count(*)::int as n from marketing.outreach_history')).rows[0].n;
  if (existing) console.log(`reusing ${fmt(existing)} outreach rows in database ${values['keep-db']}`);
  else await generate(pool, !process.env.DATABASE_URL);
  const { rows: sizes } = await pool.query(
    `select (select count(*) from vault.contacts)::float8 as contacts, (select count(*) from marketing.outreach_history)::float8 as outreach,
            (select count(*) from marketing.engagement_events)::float8 as events, (select count(*) from marketing.conversions)::float8 as conversions,
            (select count(*) from marketing.attribution)::float8 as attribution_rows`,
  );
  console.log('sizes', sizes[0]);
  const { rows: campaigns } = await pool.query('select campaign_id::int from marketing.campaigns order by campaign_id');

  const temporal = await startTemporalDevServer({ port: await freePort() });
  cleanups.push(() => temporal.stop());
  const { key } = await createApiKey(pool, { name: 'bench-analytics', scopes: ['read'], rateLimitPerMinute: 10_000_000 });
  const port = await freePort();
  const api = spawn(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
    env: { ...process.env, DATABASE_URL: url, TEMPORAL_ADDRESS: temporal.address, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  cleanups.push(async () => {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)); i++) {
    if (i > 200) throw new Error('the API did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const get = async (path: string) => {
    const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  const day = (offset: number) => new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);
  // ranges the dashboard is asked for: last 7, 30 and 90 days, by day and by week
  const ranges = [[7, 'day'], [30, 'day'], [90, 'day'], [90, 'week']] as const;
  const dashPath = (i: number) => {
    const [days, granularity] = ranges[i % ranges.length];
    return `/api/analytics/dashboard?from=${day(days - 1)}&to=${day(0)}&granularity=${granularity}`;
  };
  const campaignOf = (i: number) => campaigns[(i * 7) % campaigns.length].campaign_id;

  const results = {
    // what any authenticated request costs here (key lookup, rate limit, one indexed row), for scale
    floor: await measure(REQUESTS, (i) => get(`/api/campaigns/${campaignOf(i)}`)),
    dashboard: {
      api: await measure(REQUESTS, (i) => get(dashPath(i))),
      raw: await measure(RAW_RUNS, (i) => rawDashboard(pool, day(ranges[i % ranges.length][0] - 1), day(0)), 1),
    },
    report: {
      api: await measure(REQUESTS, (i) => get(`/api/campaigns/${campaignOf(i)}/report`)),
      raw: await measure(RAW_RUNS, (i) => rawReport(pool, campaignOf(i)), 1),
    },
  };
  console.log('\n| | API p50 | API p99 | raw aggregates p50 | raw p99 | raw / API (p50) | goal (API p99) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, r, goal] of [['dashboard', results.dashboard, 50], ['report', results.report, 200]] as const) {
    console.log(`| ${name} | ${r.api.p50.toFixed(1)} ms | ${r.api.p99.toFixed(1)} ms | ${r.raw.p50.toFixed(1)} ms | ${r.raw.p99.toFixed(1)} ms | ` +
      `${(r.raw.p50 / r.api.p50).toFixed(1)}x | ${goal} ms: ${r.api.p99 <= goal ? 'met' : 'NOT met'} |`);
  }
  console.log(`| floor: GET /api/campaigns/:id | ${results.floor.p50.toFixed(1)} ms | ${results.floor.p99.toFixed(1)} ms | | | | |`);
  console.log(`(${fmt(REQUESTS)} API requests each, one at a time, after 20 warm-up; raw: ${RAW_RUNS} runs each after 1 warm-up)`);
  const load = os.loadavg();
  console.log(`load average during the run: ${load.map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) on ${os.cpus().length} cores`);
} finally {
  await runCleanups(cleanups);
}
