// npm run bench:contacts-search [-- --contacts 1000000 --rate 2000 --duration 20 --keep-db NAME --cpu-prof DIR]
// GET /api/contacts under concurrent load through the real API (a separate `npm run api`
// process), with a realistic mix: common and rare search terms, filters, sorts and deep pages.
// Baseline in the same run: the very same SQL sent straight to Postgres (no HTTP, no API).
// --keep-db NAME keeps the generated database (on DATABASE_URL's server) and reuses it when it
// already holds --contacts rows; by default every run generates a fresh one and drops it.
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { createApiKey } from '../db/api-keys';
import { runCleanups, startBenchDatabase, type Cleanups } from './stack';
import { startTemporalDevServer } from '../scripts/temporal-server';
import { freePort } from '../scripts/ports';
import { contactListQuery } from '../db/contacts';
import { ContactListQuery } from '../api/schemas/contacts';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    'keep-db': { type: 'string' },
    /** A folder: the API process writes a V8 CPU profile there (node --cpu-prof) when it exits. */
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.contacts);
const RATE = Number(values.rate);
const DURATION = Number(values.duration);

const cleanups: Cleanups = [];

try {
  const { pool, appUrl } = await startBenchDatabase('search', cleanups, 10, values['keep-db']);

  let t = performance.now();
  const step = 100_000;
  const existing = (await pool.query('select count(*)::int as n from vault.contacts')).rows[0].n;
  if (existing && existing !== N) throw new Error(`--keep-db ${values['keep-db']} holds ${existing} contacts, not ${N}`);
  for (let from = 1; !existing && from <= N; from += step) {
    // set-based: one statement per 100k contacts, values varied like real data
    await pool.query(
      `insert into vault.contacts (email, first_name, last_name, title, company_name, company_domain, phone, linkedin_url,
                                   source, status, created_at, updated_at)
       select 'user' || g || '@dom' || (g % 20000) || '.com',
              case when g % 100000 = 77 then 'Zebulon' else (array['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken'])[1 + g % 8] end,
              (array['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson','Ritchie','Hamilton'])[1 + g % 10] || (g % 997),
              case when g % 7 = 0 then null else (array['Software Engineer','Sales Manager','Director of Sales','CEO','Data Analyst','VP Marketing'])[1 + g % 6] end,
              'Company ' || (g % 20000), 'dom' || (g % 20000) || '.com',
              case when g % 3 = 0 then '+1415' || lpad((g % 10000000)::text, 7, '0') end,
              case when g % 4 = 0 then 'https://www.linkedin.com/in/u' || g end,
              (array['apollo','apify','manual'])[1 + g % 3],
              case when g % 50 = 0 then 'unsubscribed' when g % 97 = 0 then 'bounced' else 'active' end,
              now() - make_interval(secs => g * 3), now() - make_interval(secs => (g::bigint * 7919) % 10000000)
       from generate_series($1::int, $2::int) g`,
      [from, Math.min(N, from + step - 1)],
    );
  }
  await pool.query('vacuum analyze vault.contacts');
  console.log(existing
    ? `reusing ${N.toLocaleString('en-US')} contacts in database ${values['keep-db']}`
    : `generated ${N.toLocaleString('en-US')} contacts in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const temporal = await startTemporalDevServer({ port: await freePort() });
  cleanups.push(() => temporal.stop());
  const { key } = await createApiKey(pool, { name: 'bench-search', scopes: ['read'], rateLimitPerMinute: 10_000_000 });
  const port = await freePort();
  const profile = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
  const api = spawn(process.execPath, [...profile, '--import', 'tsx', 'api/server.ts'], {
    env: { ...process.env, DATABASE_URL: appUrl, TEMPORAL_ADDRESS: temporal.address, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  cleanups.push(async () => {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${key}` };
  for (let i = 0; ; i++) {
    const ok = await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 100) throw new Error('the API did not start');
    await new Promise((r) => setTimeout(r, 200));
  }

  // The query mix. Deep pages: cursors found by walking 30 pages of two sorts.
  const deep: string[] = [];
  for (const sort of ['-updated_at', '-score']) {
    let cursor: string | null = null;
    for (let page = 1; page <= 30; page++) {
      const res = (await fetch(`${baseUrl}/api/contacts?sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`, { headers }).then((r) => r.json())) as { next_cursor: string | null };
      cursor = res.next_cursor;
      if (page >= 10 && cursor) deep.push(`sort=${sort}&cursor=${cursor}`);
    }
  }
  // an hour before the newest update, so a reused (older) database keeps the same selectivity
  const { rows: [{ newest }] } = await pool.query('select max(updated_at) as newest from vault.contacts');
  const hourAgo = new Date(newest.getTime() - 3600_000).toISOString();
  const weighted: [number, string[]][] = [
    [20, ['', 'sort=-score', 'sort=last_name', 'sort=-created_at']], // first pages
    [15, ['q=lovelace', 'q=hopper', 'q=turing', 'q=knuth', 'q=company 1']], // common terms
    [15, ['q=zebulon', 'q=user123456@', 'q=company 19999', 'q=dom4242.com', 'q=hopper42']], // rare terms
    [25, ['status=bounced', 'status=active&score_min=90', 'source=apify&sort=-score', 'company_domain=dom77.com', 'title=director', `updated_since=${hourAgo}`, 'status=unsubscribed&source=manual', 'score_min=95&score_max=100']],
    [25, deep],
  ];
  const mix: string[] = [];
  // values percent-encoded (a raw space would be a malformed request line)
  const encoded = (qs: string) => new URLSearchParams(new URLSearchParams(qs)).toString();
  for (const [weight, qs] of weighted) for (let i = 0; i < weight * 4; i++) mix.push(`/api/contacts?${encoded(qs[i % qs.length])}`);
  let seed = 42;
  for (let i = mix.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [mix[i], mix[j]] = [mix[j], mix[i]];
  }
  // every query of the mix answers 200 before we load it
  for (const p of new Set(mix)) {
    const res = await fetch(baseUrl + p, { headers });
    if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
  }

  // Baseline: the same SQL straight to Postgres, 10 connections in a closed loop.
  const statements = mix.map((p) => {
    const query = ContactListQuery.parse(Object.fromEntries(new URL(p, baseUrl).searchParams));
    return contactListQuery(query);
  });
  const bare: number[] = [];
  t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (performance.now() - t < 10_000) {
      const s = statements[next++ % statements.length];
      const started = performance.now();
      await pool.query(s.sql, s.params);
      bare.push(performance.now() - started);
    }
  }));
  bare.sort((a, b) => a - b);
  const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const bareRate = bare.length / 10;

  // The API under a fixed offered rate (latencies corrected for coordinated omission).
  let i = 0;
  const result = await autocannon({
    url: baseUrl,
    connections: Number(values.connections),
    duration: DURATION,
    overallRate: RATE,
    headers,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: mix[i++ % mix.length] }) }],
  });
  const achieved = result.requests.total / DURATION;
  if (result.non2xx || result.errors || result.timeouts) console.log('responses by status:', JSON.stringify(result.statusCodeStats), 'errors', result.errors, 'timeouts', result.timeouts);

  // The API like the baseline: 10 connections in a closed loop (each sends its next request when
  // the last one answers). autocannon's overallRate sends each second's quota in a burst at its
  // start, so the latencies above include that queueing even below capacity; these do not.
  const closed = await autocannon({
    url: baseUrl,
    connections: 10,
    duration: 10,
    headers,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: mix[i++ % mix.length] }) }],
  });

  console.log(`\n${N.toLocaleString('en-US')} contacts, ${new Set(mix).size} distinct queries (first pages, common/rare terms, filters, deep pages)\n`);
  console.log('| | offered rate | achieved req/s | p50 | p99 | non-2xx |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| bare SQL (10 connections, closed loop) | max | ${bareRate.toFixed(0)} | ${pct(bare, 50).toFixed(1)} ms | ${pct(bare, 99).toFixed(1)} ms | - |`);
  console.log(`| GET /api/contacts (autocannon, ${values.connections} connections) | ${RATE}/s | ${achieved.toFixed(0)} | ${result.latency.p50} ms | ${result.latency.p99} ms | ${result.non2xx + result.errors + result.timeouts} |`);
  console.log(`| GET /api/contacts (autocannon, 10 connections, closed loop) | max | ${(closed.requests.total / 10).toFixed(0)} | ${closed.latency.p50} ms | ${closed.latency.p99} ms | ${closed.non2xx + closed.errors + closed.timeouts} |`);
  console.log(`\nclosed loops, API / bare SQL: ${((closed.requests.total / 10 / bareRate) * 100).toFixed(0)}% of the throughput, p99 ${(closed.latency.p99 / pct(bare, 99)).toFixed(2)}×; goal p99 ≤ 30 ms at 2,000 req/s`);
} finally {
  await runCleanups(cleanups);
}
