// npm run bench:ingest [-- --rows 1000000 --batch 10000 --concurrency 2]
// N rows in Apollo's person shape through POST /api/ingest in batches (each an ingest workflow),
// then one promotion of everything pending; compared with a raw COPY of the same rows into an
// unindexed table, measured in the same run on the same server.
import { parseArgs } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { startBenchStack } from './stack';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '2' },
    // promote each batch as soon as it is staged (ingest's "promote": true) instead of once at the end
    chain: { type: 'boolean', default: false },
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

const stack = await startBenchStack({ INGEST_CHUNK_SIZE: '5000', PROMOTE_CHUNK_SIZE: '5000' });
try {
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
  async function poster() {
    while (next < batches) {
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
  await Promise.all(Array.from({ length: CONCURRENCY }, poster));
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
  const promoted = await fetch(`${stack.baseUrl}/api/promote?wait=true`, { method: 'POST', headers: stack.headers, body: '{}' });
  const promotion = (await promoted.json()) as { workflow_id: string; counts: { promoted: number } };
  promotion.counts.promoted += chainedPromoted;
  const totalSeconds = (performance.now() - t) / 1000;
  workflowIds.push(promotion.workflow_id);

  let events = 0;
  for (const id of workflowIds) events += (await stack.temporal.workflow.getHandle(id).describe()).historyLength;

  console.log(`API accepted ${batches} batches in ${postedSeconds.toFixed(1)} s; ingest done at ${ingestSeconds.toFixed(1)} s: inserted ${inserted}, skipped ${skipped}`);
  console.log(`promotion: ${JSON.stringify(promotion.counts)}`);
  console.log(`end to end: ${N.toLocaleString()} rows in ${totalSeconds.toFixed(1)} s = ${Math.round(N / totalSeconds).toLocaleString()} rows/s`);
  console.log(`workflow history events: ${events} over ${workflowIds.length} workflows (${(events / workflowIds.length).toFixed(1)} per workflow)`);
  console.log(`ratio end-to-end / raw COPY: ${(totalSeconds / copySeconds).toFixed(2)}x (goal: <= 5x)`);
  if (inserted !== N || promotion.counts.promoted !== N) {
    console.error(`count mismatch: expected ${N} inserted and promoted`);
    process.exitCode = 1;
  }
} finally {
  await stack.close();
}
