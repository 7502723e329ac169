// npm run fuzz:api: Schemathesis (PyPI) over the OpenAPI document, against a stack of its own —
// Postgres (a fresh database on DATABASE_URL's server, else an embedded one), a Temporal dev
// server, migrations, a worker and the API on free ports, a few seeded contacts — with an admin key.
//
//   npm run fuzz:api                                  CI's bounded run (fixed seed)
//   npm run fuzz:api -- --max-examples 200 --seed 7   longer, or another seed
//   npm run fuzz:api -- --include-path /api/contacts  any other option goes to `schemathesis run`
//   npm run fuzz:api -- --serve                       only the stack: prints its URL and key, Ctrl-C stops it
//
// Exits 1 on a server error (ST101) or a response that breaks its documented schema
// (ST104/105/107/108/109); other findings are printed and counted but do not fail the run
// (add --strict to fail on any). The server's log (errors only) is kept in .data/fuzz-api/.
import { mkdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { LOCAL_APP_ROLE, urlForRole } from '../db/app-role';
import { createApiKey } from '../db/api-keys';
import { connectClient, connectWorker } from '../clients/temporal';
import { startWorkersFromConfig } from '../worker/from-config';
import { buildApp } from '../api/app';
import { mcpPlugin } from '../mcp/http';
import { createDatabase, dropDatabase, throwawayPostgres } from './postgres';
import { startTemporalDevServer } from './temporal-server';
import { freePort } from './ports';
import { schemathesisCommand } from './tools';

/** Failure codes that fail the run: a 5xx, or a response its own documentation contradicts. */
const FATAL_CODES = ['ST101', 'ST104', 'ST105', 'ST107', 'ST108', 'ST109'];
const DEFAULTS = { seed: '1', maxExamples: '10' };

const root = fileURLToPath(new URL('..', import.meta.url));
// worker lifecycle and bundling chatter would bury Schemathesis' report
Runtime.install({ logger: new DefaultLogger('WARN') });
const logDir = path.join(root, '.data', 'fuzz-api');

function parseArgs(argv: string[]) {
  const own = { ...DEFAULTS, strict: false, serve: false };
  const passThrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i];
    if (name === '--seed') own.seed = value();
    else if (name === '--max-examples' || name === '-n') own.maxExamples = value();
    else if (name === '--strict') own.strict = true;
    else if (name === '--serve') own.serve = true;
    else if (arg !== '--') passThrough.push(arg);
  }
  return { ...own, passThrough };
}

const stops: (() => Promise<unknown>)[] = [];
async function stopAll() {
  for (const stop of stops.reverse()) await stop().catch((err) => console.error(String(err)));
  stops.length = 0;
}

async function startStack() {
  const server = await throwawayPostgres('barton-fuzz-');
  stops.push(() => server.stop());
  const { adminUrl } = server;
  const database = `barton_fuzz_${process.pid}`;
  const databaseUrl = await createDatabase(adminUrl, database);
  stops.push(() => dropDatabase(adminUrl, database));

  const temporal = await startTemporalDevServer({ port: await freePort() });
  stops.push(() => temporal.stop());

  // Only what this stack needs: no provider keys or SMTP from the caller's environment, so
  // fuzzed enrichments and campaigns reach no one.
  const port = await freePort();
  const config = loadConfig(['DATABASE_URL'], {
    DATABASE_URL: urlForRole(databaseUrl, LOCAL_APP_ROLE), // the worker and API log in as the app role
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: 'barton-fuzz',
    HOST: '127.0.0.1',
    PORT: String(port),
    TRACKING_SECRET: randomBytes(24).toString('hex'),
    ENRICH_REFRESH_SCHEDULE: 'off',
    // Schemathesis sends keyless and wrong-key requests on purpose, hundreds of them: each must
    // get its 401, not the 429 a prober earns
    AUTH_FAILURES_PER_MINUTE: '1000000',
    LOG_LEVEL: 'error',
  });
  const owner = createPool(databaseUrl, { max: 1 });
  await migrate(owner, () => undefined, { appRole: LOCAL_APP_ROLE }).finally(() => owner.end());
  const pool = createPool(config.DATABASE_URL);
  stops.push(() => pool.end());

  const workerConnection = await connectWorker(config);
  stops.push(() => workerConnection.close());
  const workers = await startWorkersFromConfig(config, pool, workerConnection);
  stops.push(async () => {
    // the Temporal runtime already stops workers on SIGINT/SIGTERM
    for (const worker of workers.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await workers.running;
  });

  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'api.log');
  rmSync(logFile, { force: true });
  const app = await buildApp({ pool, temporal: await connectClient(config), config, logger: { level: 'error', file: logFile } });
  // The client connection is left to process exit: a request Schemathesis gave up on may still
  // wait on a workflow (?wait=true), and its retry would throw on a closed channel.
  stops.push(() => app.close());
  await app.register(mcpPlugin);
  await app.listen({ host: config.HOST, port });

  // admin reaches every operation; the limit is out of the way of thousands of requests a minute
  const { key } = await createApiKey(pool, { name: 'schemathesis', scopes: ['admin'], rateLimitPerMinute: 1_000_000 });
  const baseUrl = `http://127.0.0.1:${port}`;
  await seed(baseUrl, key);
  return { baseUrl, key, logFile };
}

/**
 * A few contacts, people and companies (ids from 1), ingested and promoted through the API, so
 * operations on an id reach their logic instead of answering 404.
 */
async function seed(baseUrl: string, key: string) {
  const rows = Array.from({ length: 24 }, (_, i) => ({
    email: `person${i + 1}@company${(i % 6) + 1}.com`,
    first_name: `First${i + 1}`,
    last_name: `Last${i + 1}`,
    title: ['CEO', 'CTO', 'VP Sales', 'Engineer'][i % 4],
    company_name: `Company ${(i % 6) + 1}`,
    company_domain: `company${(i % 6) + 1}.com`,
  }));
  const res = await fetch(`${baseUrl}/api/ingest?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ source: 'fuzz-seed', batch_id: 'fuzz-seed', rows, promote: true }),
  });
  if (!res.ok) throw new Error(`seeding contacts failed: ${res.status} ${await res.text()}`);
}

/** Runs schemathesis, echoing its output; resolves with its exit code and the output. */
function runSchemathesis(args: string[]): Promise<{ code: number; output: string }> {
  const st = schemathesisCommand();
  return new Promise((resolve, reject) => {
    // in .data/fuzz-api/: Schemathesis keeps its cache (.schemathesis/) in the working directory
    const child = spawn(st.command, [...st.args, ...args], { cwd: logDir, env: st.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** "❌ ST101 Server error: 3" lines of the summary → { ST101: 3 }. */
function failureCounts(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of output.matchAll(/\b(ST\d{3}) [^\n:]+: (\d+)\s*$/gm)) counts[m[1]] = Number(m[2]);
  return counts;
}

/** Runs Schemathesis against the stack; 0 unless it found a fatal failure (any, with --strict). */
async function fuzz(stack: { baseUrl: string; key: string; logFile: string }, opts: ReturnType<typeof parseArgs>): Promise<number> {
  const args = [
    '--config-file', path.join(root, 'scripts', 'schemathesis.toml'), // the exceptions, each with its reason
    'run', `${stack.baseUrl}/docs/json`,
    '--url', stack.baseUrl,
    '--header', `Authorization: Bearer ${stack.key}`,
    '--checks', 'all',
    '--seed', opts.seed,
    '--max-examples', opts.maxExamples,
    '--generation-database', 'none', // nothing carried over between runs: the seed alone decides
    '--no-color',
    ...opts.passThrough,
  ];
  console.log(`fuzz:api: schemathesis ${args.join(' ').replace(stack.key, '<admin key>')}`);
  const run = await runSchemathesis(args);
  if (!/Test cases:/.test(run.output)) {
    console.log(`fuzz:api: schemathesis did not run to its summary (exit ${run.code})`);
    return 1;
  }
  const counts = failureCounts(run.output);
  const cases = /Test cases:\s*\n\s*(\d+) generated/.exec(run.output)?.[1] ?? '?';
  const fatal = FATAL_CODES.filter((c) => counts[c]);
  // Our own words, not Schemathesis' pytest-style "=== N failures in Ns ===" line: CI's log is read
  // for the test suite's summary, and a second runner's summary there is taken for the suite's.
  const findings = Object.values(counts).reduce((a, n) => a + n, 0);
  console.log(`\nfuzz:api: ${cases} generated cases, ${findings} findings by check: ${Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}; ${fatal.length ? 'fatal' : 'none fatal'} (fatal: ${FATAL_CODES.join(', ')})`);
  if (fatal.length) console.log(`fuzz:api: FAILED: ${fatal.map((c) => `${c} ${counts[c]}`).join(', ')} (server errors in ${path.relative(root, stack.logFile)})`);
  return fatal.length || (opts.strict && run.code !== 0) ? 1 : 0;
}

const opts = parseArgs(process.argv.slice(2));
let exitCode = 1;
try {
  console.log('fuzz:api: starting Postgres, Temporal, a worker and the API…');
  const stack = await startStack().catch(async (err) => {
    // A stack that could not start is not a finding: say why, then start it once more on new ports.
    console.error('fuzz:api: the stack did not start:', err instanceof Error ? err.message : err);
    await stopAll();
    console.log('fuzz:api: starting the stack once more…');
    return startStack();
  });
  if (opts.serve) {
    console.log(`fuzz:api: API ${stack.baseUrl} (document ${stack.baseUrl}/docs/json), admin key ${stack.key}; Ctrl-C stops it`);
    await new Promise<void>((resolve) => ['SIGINT', 'SIGTERM'].forEach((signal) => process.once(signal, () => resolve())));
    exitCode = 0;
  } else {
    exitCode = await fuzz(stack, opts);
  }
} catch (err) {
  console.error('fuzz:api failed:', err instanceof Error ? err.stack : err);
} finally {
  await stopAll();
}
process.exit(exitCode);
