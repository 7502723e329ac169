// pg_dump and pg_restore for npm run backup / restore: found, version-checked and run without
// putting the database password on a command line.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrationTarget, type AppRole } from '../db/app-role';
import { ConfigSchema } from '../common/config';
import { devDatabaseUrl } from './postgres';

export type PgClientTool = 'pg_dump' | 'pg_restore';

/** Where npm run backup writes by default and npm run restore looks for the newest file. */
export const backupsDir = fileURLToPath(new URL('../.data/backups/', import.meta.url));

/**
 * The owner's URL, which backups and restores use (MIGRATION_DATABASE_URL, else DATABASE_URL,
 * else the embedded database `npm start` runs), and the processes' role when it is another.
 */
export function ownerTargetFromEnv(env: NodeJS.ProcessEnv = process.env): { ownerUrl: string; appRole?: AppRole } {
  const url = env.DATABASE_URL || devDatabaseUrl(env);
  for (const [name, value] of [['DATABASE_URL', url], ['MIGRATION_DATABASE_URL', env.MIGRATION_DATABASE_URL]] as const) {
    if (value === undefined || value === '') continue;
    const parsed = ConfigSchema.shape.DATABASE_URL.safeParse(value);
    if (!parsed.success) throw new Error(`${name}: ${parsed.error.issues[0].message}`);
  }
  return migrationTarget(url, env.MIGRATION_DATABASE_URL || undefined);
}

/** The major version a client tool reports (`pg_dump (PostgreSQL) 15.20 (Debian …)` → 15), or undefined. */
export function toolMajorVersion(binary: string): number | undefined {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  const match = out.status === 0 ? /\(PostgreSQL\)\s+(\d+)/.exec(out.stdout) : null;
  return match ? Number(match[1]) : undefined;
}

/**
 * A pg_dump/pg_restore at least as new as the server (an older one refuses to dump it or may not
 * read its archives): from PG_BIN_DIR when set; else the one on PATH, or the newest of Debian's
 * /usr/lib/postgresql/<major>/bin. Throws saying what to install when there is none.
 */
export function findPgTool(tool: PgClientTool, serverMajor: number, env: NodeJS.ProcessEnv = process.env): { binary: string; major: number } {
  const candidates = env.PG_BIN_DIR ? [path.join(env.PG_BIN_DIR, tool)] : [tool, ...debianClientBinaries(tool)];
  const found = candidates.flatMap((binary) => {
    const major = toolMajorVersion(binary);
    return major === undefined ? [] : [{ binary, major }];
  });
  const usable = found.find((t) => t.major >= serverMajor);
  if (usable) return usable;
  const where = env.PG_BIN_DIR ? `in PG_BIN_DIR (${env.PG_BIN_DIR})` : 'on PATH or under /usr/lib/postgresql';
  const seen = found.length ? `found only ${found.map((t) => `${t.binary} (${t.major})`).join(', ')}` : `no ${tool} ${where}`;
  throw new Error(
    `${tool} must be PostgreSQL ${serverMajor} or newer (the server's major version); ${seen}. ` +
      `Install the client (Debian/Ubuntu: apt-get install postgresql-client-${serverMajor}, from apt.postgresql.org when the distribution's is older) ` +
      `or set PG_BIN_DIR to the bin folder of a newer one.`,
  );
}

function debianClientBinaries(tool: PgClientTool): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'bin', tool))
    .filter((p) => existsSync(p));
}

/** The URL without its password, and the environment that carries it instead (PGPASSWORD). */
export function libpqConnection(url: string, env: NodeJS.ProcessEnv = process.env): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { dbname: u.toString(), env: password === undefined ? { ...env } : { ...env, PGPASSWORD: password } };
}

/** Runs a client tool to the end; its messages go to our stderr. Rejects on a non-zero exit. */
export function runPgTool(binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(binary)} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}
