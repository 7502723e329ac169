// npm run bench:ingest [-- --rows 1000000 --batch 10000 --concurrency 2 --chain --reimport --explain plans.txt]
// N rows in Apollo's person shape through POST /api/ingest in batches (each an ingest workflow),
// then one promotion of everything pending; compared with a raw COPY of the same rows into an
// unindexed table, measured in the same run on the same server. --reimport posts the same rows
// again as a month later and counts what that writes (nothing, in the vault, masters or history). Every wait is on a workflow
// through Temporal (no long HTTP request). Per-stage times come from Postgres' function
// statistics (track_functions) of the bench database: the SQL functions each stage runs.
import { parseArgs } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { SURVIVORSHIP_RULES } from '../common/survivorship';
import type pg from 'pg';
import type { Pool } from '../db/pool';
import type { PromoteCounts } from '../contracts/promote';
import { startBenchStack, type BenchStack } from './stack';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '2' },
    // promote each batch as soon as it is staged (ingest's "promote": true) instead of once at the end
    chain: { type: 'boolean', default: false },
    // then the same rows again, a month later: staged, promoted as updates, nothing changed
    reimport: { type: 'boolean', default: false },
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
const ms = (times: FunctionTimes, name: string, kind: 'total' | 'self' = 'total') => times.get(name)?.[kind] ?? 0;

/**
 * One more chunk (5,000 new people of known companies) through promotion and resolution, in a
 * transaction that is rolled back; `settings` run first. Returns each stage's milliseconds.
 */
async function rolledBackChunk(client: pg.PoolClient, settings?: string): Promise<{ promote: number; resolve: number }> {
  await client.query('begin');
  try {
    const { rows } = await client.query<{ load_id: number }>(
      `insert into intake.raw_loads (batch_id, row_no, source, raw, email, status)
       select 'explain', row_number() over (order by load_id), source,
              raw || jsonb_build_object('email', 'x' || email, 'first_name', 'X' || (raw ->> 'first_name'), 'full_name', 'X' || (raw ->> 'full_name'),
                                     'linkedin_url', (raw ->> 'linkedin_url') || '-x', 'source_person_id', 'x' || (raw ->> 'source_person_id')),
              'x' || email, 'pending'
       from intake.raw_loads where status = 'promoted' order by load_id limit 5000
       returning load_id`,
    );
    const ids = rows.map((r) => r.load_id);
    if (settings) await client.query(settings);
    let t = performance.now();
    await client.query('select * from vault.f_promote_contacts($1)', [ids]);
    const promote = performance.now() - t;
    t = performance.now();
    await client.query('select * from people.f_resolve_loads($1, $2)', [ids, JSON.stringify(SURVIVORSHIP_RULES)]);
    return { promote, resolve: performance.now() - t };
  } finally {
    await client.query('rollback');
  }
}

/**
 * What one chunk costs: timed as it runs, timed without foreign-key checks (replica mode skips
 * their triggers: what they cost, not a way to run; after a warm-up run), and under auto_explain reporting each nested
 * statement's plan to this session (as NOTICEs); the plans go to `file`, a summary to the output.
 */
async function explainChunk(pool: Pool, file: string) {
  const client = await pool.connect();
  const plans: string[] = [];
  const onNotice = (n: { message?: string }) => plans.push(n.message ?? '');
  try {
    await rolledBackChunk(client); // reads what the timed runs then find in memory
    const plain = await rolledBackChunk(client);
    const noChecks = await rolledBackChunk(client, `set local session_replication_role = replica`);
    console.log(`one more 5,000-load chunk, rolled back: promotion ${plain.promote.toFixed(0)} ms, resolution ${plain.resolve.toFixed(0)} ms; `
      + `without foreign-key checks: ${noChecks.promote.toFixed(0)} ms, ${noChecks.resolve.toFixed(0)} ms`);
    await client.query(`load 'auto_explain'`);
    client.on('notice', onNotice);
    // row counts without per-node clocks (their cost would swamp the small statements), the time
    // each statement spent in triggers (foreign-key checks), only statements of 5 ms or more
    const explained = await rolledBackChunk(client, `set local auto_explain.log_min_duration = 5; set local auto_explain.log_analyze = on;
      set local auto_explain.log_timing = off; set local auto_explain.log_triggers = on; set local auto_explain.log_nested_statements = on;
      set local auto_explain.log_level = notice; set local auto_explain.log_buffers = on`);
    writeFileSync(file, plans.join('\n\n'));
    const timed = plans
      .map((p) => ({ ms: Number(/duration: ([\d.]+) ms/.exec(p)?.[1] ?? 0), text: (/Query Text: ((?:.*\n){0,4})/.exec(p)?.[1] ?? '').replace(/\s+/g, ' ').trim().slice(0, 110) }))
      .filter((p) => !/^select \* from (vault|people)\./.test(p.text) && !/^(perform|select) (people|company)\.f_/.test(p.text))
      .sort((a, b) => b.ms - a.ms);
    console.log(`EXPLAIN ANALYZE of that chunk (${(explained.promote + explained.resolve).toFixed(0)} ms with auto_explain; plans in ${file}); slowest nested statements:`);
    for (const p of timed.slice(0, 12)) console.log(`  ${p.ms.toFixed(0).padStart(6)} ms  ${p.text}`);
  } finally {
    client.off('notice', onNotice);
    client.release();
  }
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Rows inserted, updated and deleted in the tables a promotion writes (pg_stat_user_tables). */
const WRITTEN_TABLES = ['vault.contacts', 'people.master', 'company.master', 'people.history_entries', 'company.history_entries',
  'people.slot', 'company.slot', 'people.master_key', 'company.master_key'];
async function tableWrites(pool: Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ name: string; writes: number }>(
    `select schemaname || '.' || relname as name, (n_tup_ins + n_tup_upd + n_tup_del)::float8 as writes
     from pg_stat_user_tables where schemaname || '.' || relname = any($1)`,
    [WRITTEN_TABLES],
  );
  return new Map(rows.map((r) => [r.name, r.writes]));
}
/** Function and table statistics once the backends have reported them (idle, at most every 10 s). */
async function settledStats(pool: Pool): Promise<{ functions: FunctionTimes; writes: Map<string, number> }> {
  let last = '';
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    const functions = await functionTimes(pool);
    const writes = await tableWrites(pool);
    const now = JSON.stringify([[...functions], [...writes]]);
    if (now === last && i >= 3) return { functions, writes };
    last = now;
  }
  return { functions: await functionTimes(pool), writes: await tableWrites(pool) };
}

interface Pass {
  ingestSeconds: number;
  totalSeconds: number;
  inserted: number;
  skipped: number;
  counts: PromoteCounts;
  workflowIds: string[];
}

/** API → ingest workflows (→ chained promotions) → the promotion of everything pending, each awaited through Temporal. */
async function pass(stack: BenchStack, batchPrefix: string): Promise<Pass> {
  const t = performance.now();
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
        body: JSON.stringify({ source: 'apollo', batch_id: `${batchPrefix}-${b}`, rows, promote: values.chain }),
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
  const chained: PromoteCounts = { promoted: 0, updated: 0, failed: 0 };
  for (const id of [...workflowIds]) {
    const r = await stack.temporal.workflow.getHandle(id).result();
    inserted += r.inserted;
    skipped += r.skipped;
    if (r.promotion) {
      chained.promoted += r.promotion.promoted;
      chained.updated += r.promotion.updated;
      chained.failed += r.promotion.failed;
      workflowIds.push(id.replace(/^ingest:/, 'promote:'));
    }
  }
  const ingestSeconds = (performance.now() - t) / 1000;
  console.log(`API accepted ${batches} batches in ${postedSeconds.toFixed(1)} s; ingest done at ${ingestSeconds.toFixed(1)} s: inserted ${inserted}, skipped ${skipped}`);

  // The promotion of everything still pending, started through the API and awaited through Temporal.
  const started = await fetch(`${stack.baseUrl}/api/promote`, { method: 'POST', headers: stack.headers, body: '{}' });
  if (started.status !== 202) throw new Error(`promote: ${started.status} ${await started.text()}`);
  const { workflow_id: promotionId } = (await started.json()) as { workflow_id: string };
  const last: PromoteCounts = await stack.temporal.workflow.getHandle(promotionId).result();
  const totalSeconds = (performance.now() - t) / 1000;
  workflowIds.push(promotionId);
  const counts = { promoted: last.promoted + chained.promoted, updated: last.updated + chained.updated, failed: last.failed + chained.failed };
  return { ingestSeconds, totalSeconds, inserted, skipped, counts, workflowIds };
}

function delta<K>(after: Map<K, number>, before: Map<K, number>): Map<K, number> {
  return new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
}
function functionDelta(after: FunctionTimes, before: FunctionTimes): FunctionTimes {
  return new Map([...after].map(([k, v]) => {
    const b = before.get(k) ?? { calls: 0, total: 0, self: 0 };
    return [k, { calls: v.calls - b.calls, total: v.total - b.total, self: v.self - b.self }];
  }));
}

/** The per-stage table: time inside each stage's SQL functions over this pass (pg_stat_user_functions). */
function printStages(f: FunctionTimes, run: Pass, copySeconds: number) {
  const staging = ms(f, 'intake.f_stage_rows');
  const promotion = ms(f, 'vault.f_promote_contacts');
  const survivorship = ms(f, 'people.f_apply_survivorship') + ms(f, 'company.f_apply_survivorship');
  const merges = ms(f, 'people.f_merge', 'self') + ms(f, 'company.f_merge', 'self');
  const resolution = ms(f, 'people.f_resolve_loads');
  const history = ms(f, 'people.f_log_history');
  const stage = (name: string, msTotal: number, note = '') =>
    console.log(`  ${name.padEnd(40)} ${(msTotal / 1000).toFixed(1).padStart(7)} s ${(msTotal / 1000 / copySeconds).toFixed(2).padStart(6)}x COPY  ${note}`);
  console.log('per stage (time inside each stage\'s SQL functions, summed over chunks; pg_stat_user_functions):');
  stage('raw COPY (baseline)', copySeconds * 1000);
  stage('staging (intake.f_stage_rows)', staging, `wall: ingest done at ${run.ingestSeconds.toFixed(1)} s`);
  stage('promotion (vault.f_promote_contacts)', promotion);
  stage('resolution (people.f_resolve_loads)', resolution - survivorship - merges - history, 'slots, keys, matching, new masters: the function minus the rows below');
  stage('survivorship (*.f_apply_survivorship)', survivorship, 'winning values of masters with new or changed slots, their history');
  stage('history (people.f_log_history)', history, 'creation records of new people (of new companies: in survivorship)');
  stage('merges (*.f_merge, own statements)', merges);
  stage('end to end (wall)', run.totalSeconds * 1000, `promotion wall ${(run.totalSeconds - run.ingestSeconds).toFixed(1)} s`);
  console.log(`end to end: ${N.toLocaleString()} rows in ${run.totalSeconds.toFixed(1)} s = ${Math.round(N / run.totalSeconds).toLocaleString()} rows/s; `
    + `ratio end-to-end / raw COPY: ${(run.totalSeconds / copySeconds).toFixed(2)}x`);
}

const stack = await startBenchStack({ INGEST_CHUNK_SIZE: '5000', PROMOTE_CHUNK_SIZE: '5000' }, { track_functions: 'all' });
try {
  console.log(`load average at start: ${load()}`);
  // Baseline: the same rows, COPYed raw into a table with no index.
  await stack.pool.query('create table public.copy_baseline (email text, payload jsonb)');
  const client = await stack.pool.connect();
  const t = performance.now();
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

  const first = await pass(stack, 'bench');
  console.log(`load average at end: ${load()}`);
  let events = 0;
  for (const id of first.workflowIds) events += (await stack.temporal.workflow.getHandle(id).describe()).historyLength;
  const { rows: [written] } = await stack.pool.query(
    `select (select count(*) from people.master)::int as people, (select count(*) from company.master)::int as companies,
            (select count(*) from people.history_entries)::int + (select count(*) from company.history_entries)::int as entries,
            (select count(*) from people.history)::int + (select count(*) from company.history)::int as field_rows`,
  );
  const afterFirst = await settledStats(stack.pool);
  console.log(`promotion: ${JSON.stringify(first.counts)}; ${written.people} people, ${written.companies} companies; `
    + `history: ${written.entries} entries stored, read as ${written.field_rows} field changes`);
  printStages(afterFirst.functions, first, copySeconds);
  console.log(`workflow history events: ${events} over ${first.workflowIds.length} workflows (${(events / first.workflowIds.length).toFixed(1)} per workflow)`);
  console.log(`ratio end-to-end / raw COPY: ${(first.totalSeconds / copySeconds).toFixed(2)}x (goal: <= 5x)`);
  let failed = first.inserted !== N || first.counts.promoted !== N;
  if (failed) console.error(`count mismatch: expected ${N} inserted and promoted, got ${first.inserted} inserted, ${first.counts.promoted} promoted`);

  if (values.reimport) {
    // The same rows a month later (past the 30-day duplicate window): staged again, promoted as
    // updates of what is there, and nothing in the vault, the masters or history changes.
    await stack.pool.query(`update intake.raw_loads set created_at = created_at - interval '31 days'`);
    const before = await settledStats(stack.pool);
    console.log(`re-import of the same ${N.toLocaleString()} rows (load average ${load()}):`);
    const again = await pass(stack, 'bench-again');
    console.log(`load average at end: ${load()}`);
    const after = await settledStats(stack.pool);
    console.log(`promotion: ${JSON.stringify(again.counts)}`);
    printStages(functionDelta(after.functions, before.functions), again, copySeconds);
    const writes = delta(after.writes, before.writes);
    console.log(`rows written by the re-import (inserted + updated + deleted): ${WRITTEN_TABLES.map((name) => `${name} ${writes.get(name) ?? 0}`).join(', ')}`);
    console.log(`ratio re-import / raw COPY: ${(again.totalSeconds / copySeconds).toFixed(2)}x (goal: <= 2x)`);
    const unchanged = ['vault.contacts', 'people.master', 'company.master', 'people.history_entries', 'company.history_entries'];
    if (again.inserted !== N || again.counts.updated !== N || unchanged.some((name) => writes.get(name))) {
      console.error(`re-import: expected ${N} staged and ${N} updated with no vault, master or history write, got ${again.inserted} staged, ${JSON.stringify(again.counts)}`);
      failed = true;
    }
  }
  if (values.explain) await explainChunk(stack.pool, values.explain);
  if (failed) process.exitCode = 1;
} catch (err) {
  // the real cause, plainly, before the stack closes under it
  console.error('bench:ingest failed:', err);
  process.exitCode = 1;
} finally {
  await stack.close();
}
