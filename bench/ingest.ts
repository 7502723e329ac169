// npm run bench:ingest [-- --rows 1000000 --batch 10000 --concurrency 2]
// N rows in Apollo's person shape through POST /api/ingest in batches (each an ingest workflow),
// then one promotion of everything pending; compared with a raw COPY of the same rows into an
// unindexed table, measured in the same run on the same server. Every wait is on a workflow
// through Temporal (no long HTTP request). Per-stage times come from Postgres' function
// statistics (track_functions) of the bench database: the SQL functions each stage runs.
import { parseArgs } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { SURVIVORSHIP_RULES } from '../common/survivorship';
import type { Pool } from '../db/pool';
import type { PromoteCounts } from '../contracts/promote';
import { startBenchStack } from './stack';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '2' },
    // promote each batch as soon as it is staged (ingest's "promote": true) instead of once at the end
    chain: { type: 'boolean', default: false },
    // after the run: EXPLAIN ANALYZE of every statement one more chunk runs (5,000 new people of
    // known companies), rolled back; the plans go to this file, a summary to the output
    explain: { type: 'string' },
  },
});
const N = Number(values.rows);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);

const seniorities = ['vp', 'director', 'manager', 'senior', 'c_suite'];
/** Row i in the shape of Apollo's person object (a few fields of it). */
function apolloPerson(i: number) {
  return {
    id: `5f${i.toString(16).padStart(22, '0')}`,
    first_name: `First${i}`,
    last_name: `Last${i}`,
    name: `First${i} Last${i}`,
    title: i % 7 === 0 ? 'VP of Sales' : 'Account Executive',
    email: `first${i}.last${i}@company${i % 5000}.com`,
    email_status: 'verified',
    linkedin_url: `http://www.linkedin.com/in/first${i}-last${i}`,
    organization_name: `Company ${i % 5000}`,
    seniority: seniorities[i % seniorities.length],
    departments: ['master_sales'],
    city: 'Austin',
    state: 'Texas',
    country: 'United States',
  };
}

/** Calls and times of the SQL functions each stage runs (pg_stat_user_functions; ms). */
type FunctionTimes = Map<string, { calls: number; total: number; self: number }>;
async function functionTimes(pool: Pool): Promise<FunctionTimes> {
  const { rows } = await pool.query<{ name: string; calls: number; total: number; self: number }>(
    `select schemaname || '.' || funcname as name, sum(calls)::int as calls, sum(total_time)::float8 as total, sum(self_time)::float8 as self
     from pg_stat_user_functions group by 1`,
  );
  return new Map(rows.map((r) => [r.name, r]));
}
/** Backends report function statistics when idle, at most every 10 s: wait until they settle. */
async function settledFunctionTimes(pool: Pool): Promise<FunctionTimes> {
  let last = '';
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    const times = await functionTimes(pool);
    const now = JSON.stringify([...times]);
    if (now === last && i >= 5) return times;
    last = now;
  }
  return functionTimes(pool);
}
const ms = (times: FunctionTimes, name: string, kind: 'total' | 'self' = 'total') => times.get(name)?.[kind] ?? 0;

/**
 * One more chunk through promotion and resolution with auto_explain reporting each nested
 * statement's plan to this session (as NOTICEs), in a transaction that is rolled back.
 */
async function explainChunk(pool: Pool, file: string) {
  const client = await pool.connect();
  const plans: string[] = [];
  const onNotice = (n: { message?: string }) => plans.push(n.message ?? '');
  client.on('notice', onNotice);
  try {
    await client.query('begin');
    const { rows } = await client.query<{ load_id: number }>(
      `insert into intake.raw_loads (batch_id, row_no, source, raw, email, status)
       select 'explain', row_number() over (order by load_id), source,
              raw || jsonb_build_object('email', 'x' || email, 'first_name', 'X' || (raw ->> 'first_name'), 'full_name', 'X' || (raw ->> 'full_name'),
                                     'linkedin_url', (raw ->> 'linkedin_url') || '-x'),
              'x' || email, 'pending'
       from intake.raw_loads where status = 'promoted' order by load_id limit 5000
       returning load_id`,
    );
    const ids = rows.map((r) => r.load_id);
    await client.query(`load 'auto_explain'`);
    await client.query(`set auto_explain.log_min_duration = 0; set auto_explain.log_analyze = on; set auto_explain.log_nested_statements = on;
                        set auto_explain.log_level = notice; set auto_explain.log_buffers = on`);
    const t = performance.now();
    await client.query('select * from vault.f_promote_contacts($1)', [ids]);
    await client.query('select * from people.f_resolve_loads($1, $2)', [ids, JSON.stringify(SURVIVORSHIP_RULES)]);
    const chunkMs = performance.now() - t;
    await client.query('rollback');
    writeFileSync(file, plans.join('\n\n'));
    const timed = plans
      .map((p) => ({ ms: Number(/duration: ([\d.]+) ms/.exec(p)?.[1] ?? 0), text: (/Query Text: ((?:.*\n){0,4})/.exec(p)?.[1] ?? '').replace(/\s+/g, ' ').trim().slice(0, 110) }))
      .filter((p) => !/^select \* from (vault|people)\./.test(p.text) && !/^(perform|select) (people|company)\.f_/.test(p.text))
      .sort((a, b) => b.ms - a.ms);
    console.log(`EXPLAIN ANALYZE of one 5,000-load chunk (${chunkMs.toFixed(0)} ms with auto_explain; plans in ${file}); slowest nested statements:`);
    for (const p of timed.slice(0, 12)) console.log(`  ${p.ms.toFixed(0).padStart(6)} ms  ${p.text}`);
  } finally {
    client.off('notice', onNotice);
    await client.query('rollback').catch(() => undefined);
    client.release();
  }
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

const stack = await startBenchStack({ INGEST_CHUNK_SIZE: '5000', PROMOTE_CHUNK_SIZE: '5000' }, { track_functions: 'all' });
try {
  console.log(`load average at start: ${load()}`);
  // Baseline: the same rows, COPYed raw into a table with no index.
  await stack.pool.query('create table public.copy_baseline (email text, payload jsonb)');
  const client = await stack.pool.connect();
  let t = performance.now();
  try {
    const lines = (function* () {
      for (let i = 0; i < N; i++) {
        const row = apolloPerson(i);
        yield `${row.email}\t${JSON.stringify(row).replaceAll('\\', '\\\\')}\n`;
      }
    })();
    await pipeline(Readable.from(lines), client.query(copyFrom('copy public.copy_baseline (email, payload) from stdin')));
  } finally {
    client.release();
  }
  const copySeconds = (performance.now() - t) / 1000;
  console.log(`raw COPY: ${N.toLocaleString()} rows in ${copySeconds.toFixed(1)} s (${Math.round(N / copySeconds).toLocaleString()} rows/s)`);

  // End to end: API → ingest workflows → promotion workflow.
  t = performance.now();
  const batches = Math.ceil(N / BATCH);
  const workflowIds: string[] = [];
  let next = 0;
  // the first failure stops every poster before it surfaces: nothing is in flight when the stack closes
  let failure: { error: unknown } | undefined;
  async function poster() {
    while (next < batches && !failure) {
      const b = next++;
      const rows = Array.from({ length: Math.min(BATCH, N - b * BATCH) }, (_, k) => apolloPerson(b * BATCH + k));
      const res = await fetch(`${stack.baseUrl}/api/ingest`, {
        method: 'POST',
        headers: stack.headers,
        body: JSON.stringify({ source: 'apollo', batch_id: `bench-${b}`, rows, promote: values.chain }),
      });
      if (res.status !== 202) throw new Error(`ingest ${b}: ${res.status} ${await res.text()}`);
      workflowIds.push(((await res.json()) as { workflow_id: string }).workflow_id);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, () => poster().catch((error: unknown) => (failure ??= { error }))));
  if (failure) throw failure.error;
  const postedSeconds = (performance.now() - t) / 1000;
  let inserted = 0;
  let skipped = 0;
  let chainedPromoted = 0;
  for (const id of [...workflowIds]) {
    const r = await stack.temporal.workflow.getHandle(id).result();
    inserted += r.inserted;
    skipped += r.skipped;
    if (r.promotion) {
      chainedPromoted += r.promotion.promoted;
      workflowIds.push(id.replace(/^ingest:/, 'promote:'));
    }
  }
  const ingestSeconds = (performance.now() - t) / 1000;
  console.log(`API accepted ${batches} batches in ${postedSeconds.toFixed(1)} s; ingest done at ${ingestSeconds.toFixed(1)} s: inserted ${inserted}, skipped ${skipped}`);

  // The promotion of everything still pending, started through the API and awaited through Temporal.
  const started = await fetch(`${stack.baseUrl}/api/promote`, { method: 'POST', headers: stack.headers, body: '{}' });
  if (started.status !== 202) throw new Error(`promote: ${started.status} ${await started.text()}`);
  const { workflow_id: promotionId } = (await started.json()) as { workflow_id: string };
  const counts: PromoteCounts = await stack.temporal.workflow.getHandle(promotionId).result();
  const totalSeconds = (performance.now() - t) / 1000;
  workflowIds.push(promotionId);
  console.log(`load average at end: ${load()}`);

  let events = 0;
  for (const id of workflowIds) events += (await stack.temporal.workflow.getHandle(id).describe()).historyLength;
  const promoted = counts.promoted + chainedPromoted;
  const { rows: [written] } = await stack.pool.query(
    `select (select count(*) from people.master)::int as people, (select count(*) from company.master)::int as companies,
            (select count(*) from people.history)::int as people_history, (select count(*) from company.history)::int as company_history`,
  );

  const f = await settledFunctionTimes(stack.pool);
  const staging = ms(f, 'intake.f_stage_rows');
  const promotion = ms(f, 'vault.f_promote_contacts');
  const survivorship = ms(f, 'people.f_apply_survivorship') + ms(f, 'company.f_apply_survivorship');
  const merges = ms(f, 'people.f_merge', 'self') + ms(f, 'company.f_merge', 'self');
  const resolution = ms(f, 'people.f_resolve_loads');
  const history = ms(f, 'people.f_log_history') + ms(f, 'company.f_log_history');
  const stage = (name: string, msTotal: number, note = '') =>
    console.log(`  ${name.padEnd(40)} ${(msTotal / 1000).toFixed(1).padStart(7)} s ${(msTotal / 1000 / copySeconds).toFixed(2).padStart(6)}x COPY  ${note}`);
  console.log(`promotion: ${JSON.stringify({ ...counts, promoted })}; ${written.people} people, ${written.companies} companies, ${written.people_history + written.company_history} history rows`);
  console.log('per stage (time inside each stage\'s SQL functions, summed over chunks; pg_stat_user_functions):');
  stage('raw COPY (baseline)', copySeconds * 1000);
  stage('staging (intake.f_stage_rows)', staging, `wall: ingest done at ${ingestSeconds.toFixed(1)} s`);
  stage('promotion (vault.f_promote_contacts)', promotion);
  stage('resolution (people.f_resolve_loads)', resolution - survivorship - merges - history, 'slots, keys, matching: the function minus the rows below');
  stage('survivorship (*.f_apply_survivorship)', survivorship - history, 'winning values, master updates');
  stage('history (*.f_log_history)', history, history ? '' : 'not separable here: inside survivorship');
  stage('merges (*.f_merge, own statements)', merges);
  stage('end to end (wall)', totalSeconds * 1000, `promotion wall ${(totalSeconds - ingestSeconds).toFixed(1)} s`);
  console.log(`end to end: ${N.toLocaleString()} rows in ${totalSeconds.toFixed(1)} s = ${Math.round(N / totalSeconds).toLocaleString()} rows/s`);
  console.log(`workflow history events: ${events} over ${workflowIds.length} workflows (${(events / workflowIds.length).toFixed(1)} per workflow)`);
  console.log(`ratio end-to-end / raw COPY: ${(totalSeconds / copySeconds).toFixed(2)}x (goal: <= 5x)`);
  if (values.explain) await explainChunk(stack.pool, values.explain);
  if (inserted !== N || promoted !== N) {
    console.error(`count mismatch: expected ${N} inserted and promoted, got ${inserted} inserted, ${promoted} promoted`);
    process.exitCode = 1;
  }
} catch (err) {
  // the real cause, plainly, before the stack closes under it
  console.error('bench:ingest failed:', err);
  process.exitCode = 1;
} finally {
  await stack.close();
}
