// Streaming CSV ingest, CI size: uploads of 8 MB and 56 MB through the real HTTP API, RSS sampled
// while they stage. Memory must not grow with the file (the 200 MB run is `npm run bench:csv-memory`).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase } from './support/harness';
import type { App } from '../api/app';
import { measureCsvUpload } from '../bench/csv-upload';

let db: TestDatabase;
let temporal: Client;
let app: App;
let target: Parameters<typeof measureCsvUpload>[0];

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  // no worker on this queue: only staging is measured, and the started workflows are terminated
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: uniqueId('csv-no-worker') } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  target = { baseUrl: `http://127.0.0.1:${port}`, headers: await bearer(db.pool, ['read', 'write']), pool: db.pool, temporal };
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

it('stages a large CSV upload whole, with memory that does not grow with the file', async () => {
  const MB = 1048576;
  const small = await measureCsvUpload(target, 8 * MB);
  const large = await measureCsvUpload(target, 56 * MB);
  for (const run of [small, large]) {
    expect(run.status).toBe(202);
    expect(run.stagedRows).toBe(run.rows); // every row staged, in one batch
  }
  expect(large.rows).toBeGreaterThan(100_000);
  const rss = (r: typeof small) => (r.rssPeak - r.rssBefore) / MB;
  const live = (r: typeof small) => (r.livePeak - r.liveBefore) / MB;
  console.log(
    `RSS peak growth ${rss(small).toFixed(1)} MB (8 MB file) / ${rss(large).toFixed(1)} MB (56 MB file); ` +
      `memory held ${live(small).toFixed(1)} / ${live(large).toFixed(1)} MB`,
  );
  // Buffering the body would hold at least the file (and its parsed rows several times over);
  // streaming holds a few chunks whatever the size. RSS also counts uncollected garbage, so it
  // gets a looser bound than the memory held right after a forced GC.
  expect(live(large)).toBeLessThan(16);
  expect(live(large)).toBeLessThan(live(small) + 8);
  expect(rss(large)).toBeLessThan(56);
}, 480_000); // an upper bound for a loaded machine
