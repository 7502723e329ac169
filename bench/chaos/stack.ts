// The fault harness's stack: each part a process of its own that the harness can SIGKILL and
// start again where it left off — Postgres on its data folder, the Temporal dev server on its
// db file, the worker and the API with the same settings on the same port — plus an SMTP sink
// serving the provider's event log, which is never killed (it stands for the provider).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createPool, type Pool } from '../../db/pool';
import { migrate } from '../../db/migrate';
import { LOCAL_APP_ROLE, urlForRole } from '../../db/app-role';
import { createApiKey } from '../../db/api-keys';
import { createDatabase, startEmbeddedPostgres, type LocalPostgres } from '../../scripts/postgres';
import { startTemporalDevServer, type DevServer } from '../../scripts/temporal-server';
import { freePort } from '../../scripts/ports';

export const PART_NAMES = ['worker', 'api', 'temporal', 'postgres'] as const;
export type PartName = (typeof PART_NAMES)[number];

/** A part of the stack the harness kills and brings back. */
export interface Part {
  name: PartName;
  /** SIGKILL, resolved once the process (and, for Postgres, every backend) is gone. */
  kill(): Promise<void>;
  /** Starts it again with the same settings; resolves once it serves. */
  start(): Promise<void>;
}

/** A part that died without being killed (then restarted, as a supervisor would). */
export interface Crash {
  part: PartName;
  at: number;
  how: string;
}

export interface ChaosStack {
  parts: Record<PartName, Part>;
  /** The harness's own connections, for checks; both ride out outages (queries fail meanwhile). */
  pool: Pool;
  temporal: Client;
  baseUrl: string;
  headers: Record<string, string>;
  /** Every delivery the SMTP sink took, as "recipient|Message-ID". */
  deliveries(): Promise<string[]>;
  crashes: Crash[];
  logDir: string;
  close(): Promise<void>;
}

export interface ChaosSettings {
  chunkSize: number;
  /** Sends of a campaign batch (one activity). */
  campaignBatchSize: number;
  logDir: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const TASK_QUEUE = 'chaos';
const EVENTS_KEY = 'key-chaos-events';
const SENDING_DOMAIN = 'sender.example';
export const FROM_EMAIL = `sales@${SENDING_DOMAIN}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when the child has exited (at once if it already has). */
const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/**
 * A Node entry point of ours (npm run worker / npm run api) as its own process group, so a
 * SIGKILL reaches all of it. Output goes to a log file. Dying unasked counts as a crash; it is
 * then started again after a second, as systemd or Kubernetes would.
 */
class NodeService implements Part {
  private child?: ChildProcess;
  private killing = false;
  private log: WriteStream;

  constructor(
    readonly name: PartName,
    private readonly script: string,
    private readonly env: Record<string, string>,
    logFile: string,
    private readonly ready: (output: () => string, child: ChildProcess) => Promise<void>,
    private readonly crashes: Crash[],
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  async start(): Promise<void> {
    this.killing = false;
    const child = spawn(process.execPath, ['--import', 'tsx', this.script], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    this.child = child;
    let recent = '';
    const collect = (chunk: Buffer) => {
      this.log.write(chunk);
      recent = (recent + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    this.log.write(`\n--- ${new Date().toISOString()} started pid ${child.pid}\n`);
    child.once('exit', (code, signal) => {
      this.log.write(`\n--- ${new Date().toISOString()} exited (${signal ?? code})\n`);
      if (this.killing || this.child !== child) return;
      this.crashes.push({ part: this.name, at: Date.now(), how: `exited (${signal ?? code}): ${recent.trim().split('\n').slice(-3).join(' | ')}` });
      void sleep(1000).then(() => (this.child === child ? this.start() : undefined)).catch((err) => console.error(`restarting ${this.name}:`, err));
    });
    const exited = exitOf(child).then(() => {
      throw new Error(`${this.name} exited while starting: ${recent.trim().slice(-2000)}`);
    });
    await Promise.race([this.ready(() => recent, child), exited]);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.killing = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exitOf(child);
  }

  /** Stops it for good (SIGTERM: workers drain, the API closes). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    this.killing = true;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, 15_000);
    await exitOf(child);
    clearTimeout(timer);
    this.log.end();
  }

  /** For an exit handler: the harness is going away however it ends. */
  killNow(): void {
    if (this.child?.exitCode === null) {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Embedded Postgres on a data folder that outlives its server: killed whole (postmaster and backends), started again on the same folder. */
class PostgresPart implements Part {
  readonly name = 'postgres' as const;
  private server?: LocalPostgres;
  constructor(private readonly dataDir: string, readonly port: number) {}

  async start(): Promise<void> {
    // a server killed a moment ago may leave its port or shared memory busy for a little while
    for (let attempt = 1; ; attempt++) {
      try {
        this.server = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port, detached: true });
        return;
      } catch (err) {
        if (attempt >= 20) throw err;
        await sleep(500);
      }
    }
  }

  get adminUrl(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/postgres`;
  }

  async kill(): Promise<void> {
    if (!this.server?.pid) return;
    try {
      process.kill(-this.server.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await this.server.stop(); // resolves once the postmaster has exited
    this.server = undefined;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  killNow(): void {
    if (this.server?.pid) {
      try {
        process.kill(-this.server.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** The Temporal dev server on a db file, so its state (workflows, timers, task queues) survives a kill. */
class TemporalPart implements Part {
  readonly name = 'temporal' as const;
  private server?: DevServer;
  constructor(private readonly dbFile: string, readonly port: number) {}

  async start(): Promise<void> {
    this.server = await startTemporalDevServer({ port: this.port, dbFile: this.dbFile });
  }

  async kill(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.kill();
    await exitOf(server.process);
    this.server = undefined;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  killNow(): void {
    this.server?.kill();
  }
}

/** The SMTP sink with the provider's event log, in a process of its own. */
async function startSink(): Promise<{ url: string; eventsUrl: string; ask<T>(msg: string): Promise<T>; stop(): void }> {
  const child = fork(fileURLToPath(new URL('../smtp-sink-process.ts', import.meta.url)), ['--events-key', EVENTS_KEY, '--events-domain', SENDING_DOMAIN, '--events-lag-ms', '300'], {
    execArgv: ['--import', 'tsx'],
  });
  const first = await new Promise<{ url: string; eventsUrl: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; eventsUrl: string }));
    child.once('exit', (code) => reject(new Error(`SMTP sink exited (${code})`)));
  });
  // one question at a time: answers come back in order
  let queue = Promise.resolve<unknown>(undefined);
  return {
    ...first,
    ask<T>(msg: string) {
      const answer = queue.then(() => new Promise<T>((resolve) => {
        child.once('message', (m) => resolve(m as T));
        child.send(msg);
      }));
      queue = answer.catch(() => undefined);
      return answer;
    },
    stop() {
      if (child.connected) child.send('stop');
    },
  };
}

export async function startChaosStack(settings: ChaosSettings): Promise<ChaosStack> {
  mkdirSync(settings.logDir, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'barton-chaos-'));
  chmodSync(tmp, 0o755); // as root the embedded server runs as `postgres`, which must reach its folder
  const crashes: Crash[] = [];
  const cleanups: (() => Promise<unknown> | void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((err) => console.error(String(err)));
  };
  try {
    const postgres = new PostgresPart(path.join(tmp, 'pg'), await freePort());
    await postgres.start();
    cleanups.push(() => postgres.stop());
    const databaseUrl = await createDatabase(postgres.adminUrl, 'chaos');
    const pool = createPool(databaseUrl, { max: 4, connectionTimeoutMillis: 3000 });
    cleanups.push(() => pool.end());
    await migrate(pool, () => undefined, { appRole: LOCAL_APP_ROLE });
    const { key } = await createApiKey(pool, { name: 'chaos', scopes: ['read', 'write'], rateLimitPerMinute: 1_000_000 });

    const temporalServer = new TemporalPart(path.join(tmp, 'temporal.db'), await freePort());
    await temporalServer.start();
    cleanups.push(() => temporalServer.stop());
    const temporalAddress = `127.0.0.1:${temporalServer.port}`;
    const temporal = new Client({ connection: await Connection.connect({ address: temporalAddress }) });
    cleanups.push(() => temporal.connection.close());

    const sink = await startSink();
    cleanups.push(() => sink.stop());

    const apiPort = await freePort();
    const baseUrl = `http://127.0.0.1:${apiPort}`;
    const env: Record<string, string> = {
      DATABASE_URL: urlForRole(databaseUrl, LOCAL_APP_ROLE), // the processes log in as the app role
      TEMPORAL_ADDRESS: temporalAddress,
      TASK_QUEUE,
      LOG_LEVEL: 'warn',
      ENRICH_REFRESH_SCHEDULE: 'off',
      INGEST_CHUNK_SIZE: String(settings.chunkSize),
      PROMOTE_CHUNK_SIZE: String(settings.chunkSize),
      CAMPAIGN_BATCH_SIZE: String(settings.campaignBatchSize),
      SMTP_URL: sink.url,
      EMAIL_EVENTS_URL: sink.eventsUrl,
      EMAIL_EVENTS_API_KEY: EVENTS_KEY,
      EMAIL_EVENTS_SETTLE_SECONDS: '1', // the sink's log shows a message 300 ms after accepting it
      SEND_DOMAIN_RATE_PER_MINUTE: '1000000',
      TRACKING_SECRET: 'chaos-tracking-secret-0123456789',
      PUBLIC_BASE_URL: baseUrl,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
    };
    const worker = new NodeService('worker', 'worker/main.ts', env, path.join(settings.logDir, 'worker.log'),
      (output) => waitFor('the worker to poll', () => output().includes('worker: polling'), 180_000), crashes);
    const health = async () => {
      try {
        return (await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok;
      } catch {
        return false;
      }
    };
    const api = new NodeService('api', 'api/server.ts', env, path.join(settings.logDir, 'api.log'),
      () => waitFor('the API to listen', health, 120_000), crashes);
    const killAll = () => {
      worker.killNow();
      api.killNow();
      temporalServer.killNow();
      postgres.killNow();
    };
    process.on('exit', killAll);
    cleanups.push(() => void process.off('exit', killAll));
    await worker.start();
    cleanups.push(() => worker.stop());
    await api.start();
    cleanups.push(() => api.stop());

    return {
      parts: { worker, api, temporal: temporalServer, postgres },
      pool,
      temporal,
      baseUrl,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      deliveries: async () => (await sink.ask<{ deliveries: string[] }>('deliveries')).deliveries,
      crashes,
      logDir: settings.logDir,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
