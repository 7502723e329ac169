// npx tsx bench/auth-lookup.ts [--duration 10 --connections 10 --rounds 2]
// What API-key checking costs: requests/s of authenticated GETs against the unauthenticated
// GET /health, through a separate API process: GET /api/contacts/x (refused 400 at validation,
// after authentication: nothing but the key check) and GET /api/suppressions (one small query);
// and the key lookup alone, straight to Postgres. The API runs without Temporal (a lazy connection the routes measured never use).
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { createApiKey, findApiKey } from '../db/api-keys';
import { createRateLimitRepository } from '../db/rate-limits';
import { createPool } from '../db/pool';
import { loadConfig } from '../common/config';
import { buildApp } from '../api/app';
import { freePort } from '../scripts/ports';
import { runCleanups, startBenchDatabase, type Cleanups } from './stack';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    serve: { type: 'string' }, // internal: the API process (DATABASE_URL and PORT from env)
  },
});

if (values.serve) {
  const config = loadConfig(['DATABASE_URL'], { ...process.env, LOG_LEVEL: 'warn' });
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const app = await buildApp({ pool: createPool(config.DATABASE_URL), temporal, config });
  await app.listen({ host: '127.0.0.1', port: Number(values.serve) });
  process.once('SIGTERM', () => process.exit(0));
} else {
  const cleanups: Cleanups = [];
  try {
    const { pool, appUrl: url } = await startBenchDatabase('auth', cleanups, 4);
    const { key } = await createApiKey(pool, { name: 'bench-auth', scopes: ['read'], rateLimitPerMinute: 10_000_000 });
    const port = await freePort();
    const api = spawn(process.execPath, ['--import', 'tsx', 'bench/auth-lookup.ts', '--serve', String(port)], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    cleanups.push(async () => {
      api.kill('SIGTERM');
      await new Promise((r) => api.once('exit', r));
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    for (let i = 0; !(await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)); i++) {
      if (i > 1200) throw new Error('the API did not start within 2 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const run = async (path: string, headers: Record<string, string> = {}, expectStatus = 200) => {
      const result = await autocannon({
        url: `${baseUrl}${path}`,
        headers,
        connections: Number(values.connections),
        duration: Number(values.duration),
      });
      const unexpected = Object.keys(result.statusCodeStats ?? {}).filter((s) => Number(s) !== expectStatus);
      if (unexpected.length || result.errors) throw new Error(`${path}: status ${unexpected.join(', ')}, ${result.errors} errors`);
      return result;
    };
    await run('/health'); // warm-up (JIT, pool connections)
    // The lookup alone, as the API makes it per request: one query round trip.
    for (let i = 0; i < 200; i++) await findApiKey(pool, key);
    const lookups = 2000;
    const t = performance.now();
    for (let i = 0; i < lookups; i++) await findApiKey(pool, key);
    console.log(`findApiKey, one at a time: ${((performance.now() - t) / lookups).toFixed(3)} ms each`);
    // and the shared rate-limit count each keyed request adds (one upsert)
    const limits = createRateLimitRepository(pool);
    const t2 = performance.now();
    for (let i = 0; i < lookups; i++) await limits.hit('bench:one-key', 60_000);
    console.log(`rate-limit hit, one at a time: ${((performance.now() - t2) / lookups).toFixed(3)} ms each`);
    for (let round = 1; round <= Number(values.rounds); round++) {
      const auth = { authorization: `Bearer ${key}` };
      for (const [name, path, headers, status] of [
        ['GET /health (no key)', '/health', {}, 200],
        ['GET /api/contacts/x (key, 400)', '/api/contacts/x', auth, 400],
        ['GET /api/suppressions (key)', '/api/suppressions?limit=1', auth, 200],
      ] as const) {
        const r = await run(path, headers, status);
        console.log(`round ${round}  ${name.padEnd(28)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms`);
      }
    }
  } finally {
    await runCleanups(cleanups);
  }
}
