import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type pg from 'pg';
import { ensureAppRole, ensureObjectOwner, type AppRole } from './app-role';

const sqlDir = fileURLToPath(new URL('../sql/', import.meta.url));

/**
 * Every schema sql/migrations creates; test/backup-restore.test.ts fails when a migration adds
 * one that is not listed here. public holds only the migration ledger (and pg_trgm's functions).
 * Backups dump these, and sql/ownership.sql and sql/grants.sql act on them.
 */
export const PROJECT_SCHEMAS = ['intake', 'vault', 'auth', 'company', 'people', 'enrich', 'marketing', 'ops', 'analytics'] as const;
// Any constant shared by every process that migrates this database.
const MIGRATION_LOCK = 7_240_815;

async function sqlFiles(folder: string): Promise<{ name: string; file: string }[]> {
  const dir = path.join(sqlDir, folder);
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  return names.map((name) => ({ name, file: path.join(dir, name) }));
}

/**
 * Applies forward-only migrations (sql/migrations/NNNN_name.sql), each in its own transaction,
 * then re-applies sql/functions/*.sql (CREATE OR REPLACE). As a superuser it hands the schema
 * objects to barton_owner (sql/ownership.sql). Given the processes' login role, it creates or
 * updates that role and re-applies its grants (sql/grants.sql). A session advisory
 * lock makes concurrent runs (several workers starting at once) wait for each other instead of racing.
 */
export async function migrate(
  pool: pg.Pool,
  log: (msg: string) => void = () => undefined,
  opts: { appRole?: AppRole } = {},
): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`create table if not exists public.schema_migrations (
      name text primary key, applied_at timestamptz not null default now())`);
    const done = new Set((await client.query('select name from public.schema_migrations')).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const { name, file } of await sqlFiles('migrations')) {
      if (done.has(name)) continue;
      const sql = await readFile(file, 'utf8');
      await inTransaction(client, async () => {
        await client.query(sql);
        await client.query('insert into public.schema_migrations (name) values ($1)', [name]);
      }).catch((err) => {
        throw new Error(`migration ${name} failed: ${(err as Error).message}`);
      });
      applied.push(name);
      log(`applied migration ${name}`);
    }
    const functions = await sqlFiles('functions');
    await inTransaction(client, async () => {
      for (const { file } of functions) await client.query(await readFile(file, 'utf8'));
    });
    const owner = await ensureObjectOwner(client);
    if (owner) await applyWithSettings(client, 'ownership.sql', { 'barton.owner_role': owner });
    if (opts.appRole) {
      await ensureAppRole(client, opts.appRole);
      await applyWithSettings(client, 'grants.sql', { 'barton.app_role': opts.appRole.name });
    }
    return applied;
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

/** Runs sql/<file> in one transaction, with transaction-local settings it reads (and the project's schemas). */
async function applyWithSettings(client: pg.PoolClient, file: string, settings: Record<string, string>): Promise<void> {
  const sql = await readFile(path.join(sqlDir, file), 'utf8');
  await inTransaction(client, async () => {
    for (const [name, value] of Object.entries({ ...settings, 'barton.schemas': PROJECT_SCHEMAS.join(',') })) {
      await client.query('select set_config($1, $2, true)', [name, value]);
    }
    await client.query(sql);
  });
}

async function inTransaction(client: pg.PoolClient, fn: () => Promise<void>): Promise<void> {
  await client.query('begin');
  try {
    await fn();
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}

/** Migrations present on disk but not applied to this database (empty when current). */
export async function pendingMigrations(pool: pg.Pool): Promise<string[]> {
  const files = (await sqlFiles('migrations')).map((f) => f.name);
  const exists = await pool.query(`select to_regclass('public.schema_migrations') as t`);
  if (!exists.rows[0].t) return files;
  const done = new Set((await pool.query('select name from public.schema_migrations')).rows.map((r) => r.name));
  return files.filter((f) => !done.has(f));
}
