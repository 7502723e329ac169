// Databases at an older schema, for upgrade and restore tests: the first migrations only, applied
// as db/migrate.ts applies them (one transaction each, recorded in public.schema_migrations).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { newDatabase, type TestDatabase } from './harness';

const migrationsDir = fileURLToPath(new URL('../../sql/migrations/', import.meta.url));

/** sql/migrations/*.sql by name, in the order migrate() applies them. */
export function migrationNames(): string[] {
  return readdirSync(migrationsDir).filter((n) => n.endsWith('.sql')).sort();
}

/** A new database on the test server with nothing in it (no template: not even the migrations). */
export function emptyDatabase(prefix = 'barton_empty'): Promise<TestDatabase> {
  return newDatabase(prefix);
}

/**
 * An empty database brought to the schema of `names` (migration files) and no further. Function
 * files are not applied: they are CREATE OR REPLACE'd by every migrate(), and the data tests put
 * in such a database is plain SQL.
 */
export async function databaseAtMigrations(names: string[]): Promise<TestDatabase> {
  const db = await emptyDatabase('barton_old');
  const client = await db.pool.connect();
  try {
    // the ledger as db/migrate.ts creates it
    await client.query(`create table if not exists public.schema_migrations (
      name text primary key, applied_at timestamptz not null default now())`);
    for (const name of names) {
      await client.query('begin');
      await client.query(readFileSync(path.join(migrationsDir, name), 'utf8'));
      await client.query('insert into public.schema_migrations (name) values ($1)', [name]);
      await client.query('commit');
    }
  } finally {
    client.release();
  }
  return db;
}
