// npm run backup / npm run restore: a database holding a real ingest and promotion (API + worker)
// comes back table for table, row for row, in an empty database; a non-empty one is refused; a
// backup from an older schema is migrated after its restore.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool';
import { PROJECT_SCHEMAS } from '../db/migrate';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './support/harness';
import { databaseAtMigrations, emptyDatabase, migrationNames } from './support/migrations';
import type { App } from '../api/app';

const root = fileURLToPath(new URL('..', import.meta.url));
const taskQueue = uniqueId('backup');

let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let app: App;
let writer: Record<string, string>;
let tmp: string;
const dropLater: TestDatabase[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'barton-backup-test-'));
  db = await testDatabase();
  temporal = await temporalClient();
  worker = await startTestWorker({ pool: db.pool, taskQueue });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, INGEST_CHUNK_SIZE: '7', PROMOTE_CHUNK_SIZE: '7' } });
  writer = await bearer(db.pool, ['read', 'write'], 10_000, 'backup-test-writer');
});

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await temporal?.connection.close();
  for (const d of dropLater) await d.drop();
  await db?.drop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** npm run backup / restore as a separate process against `databaseUrl`. */
function runScript(script: 'backup' | 'restore', databaseUrl: string, args: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Every table of the project's schemas plus the migration ledger, schema-qualified. */
async function projectTables(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and (n.nspname = any($1) or (n.nspname = 'public' and c.relname = 'schema_migrations'))
      order by 1`,
    [PROJECT_SCHEMAS],
  );
  return rows.map((r) => r.name);
}

/** Per table: row count and an md5 over every row's text, in a fixed order. */
async function tableChecksums(pool: Pool, tables: string[]): Promise<Record<string, { rows: number; md5: string }>> {
  const sums: Record<string, { rows: number; md5: string }> = {};
  for (const table of tables) {
    const { rows } = await pool.query(
      `select count(*)::int as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text collate "C"), '')) as md5 from ${table} t`,
    );
    sums[table] = rows[0];
  }
  return sums;
}

async function sequenceValues(pool: Pool): Promise<Record<string, string | null>> {
  const { rows } = await pool.query(
    `select schemaname || '.' || sequencename as name, last_value::text as value from pg_sequences where schemaname = any($1) order by 1`,
    [PROJECT_SCHEMAS],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.value]));
}

it('the backup lists every schema the migrations create', async () => {
  const { rows } = await db.pool.query(
    `select nspname from pg_namespace where nspname not in ('public', 'information_schema') and nspname !~ '^pg_' order by 1`,
  );
  expect(rows.map((r) => r.nspname)).toEqual([...PROJECT_SCHEMAS].sort());
});

it('restores a backup of ingested and promoted data into an empty database, every table identical', async () => {
  const batch = uniqueId('backup');
  const rows = Array.from({ length: 40 }, (_, i) => ({
    email: `person${i % 36}@company${(i % 36) % 5}.example`, // the last 4 repeat the first 4: duplicates within the batch
    first_name: `First${i}`,
    last_name: `Last${i}`,
    title: i % 3 ? 'Engineer' : 'VP Sales',
    organization_name: `Company ${i % 5}`,
    website: `https://company${i % 5}.example`,
  }));
  const ingested = await app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers: writer, payload: { source: 'apollo', batch_id: batch, rows } });
  expect(ingested.statusCode).toBe(200);
  expect(ingested.json().counts).toEqual({ inserted: 36, skipped: 4 });
  const promoted = await app.inject({ method: 'POST', url: '/api/promote?wait=true', headers: writer, payload: { batch_id: batch } });
  expect(promoted.statusCode).toBe(200);
  expect(promoted.json().counts.promoted).toBe(36);
  const template = await app.inject({ method: 'POST', url: '/api/templates', headers: writer, payload: { name: 'backup', subject: 'Hi {{ contact.first_name }}', text_body: 'Hello' } });
  expect(template.statusCode).toBe(201);

  const tables = await projectTables(db.pool);
  const before = await tableChecksums(db.pool, tables);
  // the data is really there: staged, promoted, golden records, audit, ledgers, keys
  for (const t of ['intake.raw_loads', 'intake.ingest_chunks', 'intake.promotion_chunks', 'intake.audit_log', 'vault.contacts', 'people.master', 'company.master', 'auth.api_keys', 'marketing.templates']) {
    expect(before[t]?.rows, t).toBeGreaterThan(0);
  }

  const file = path.join(tmp, 'full.dump');
  const backup = await runScript('backup', db.url, ['--file', file]);
  expect(backup.output).toContain(`backup: ${file}`);
  expect(backup.code).toBe(0);

  const target = await emptyDatabase('barton_restored');
  dropLater.push(target);
  const restore = await runScript('restore', target.url, ['--file', file]);
  expect(restore.output).toContain('migrations already current');
  expect(restore.code).toBe(0);

  expect(await projectTables(target.pool)).toEqual(tables);
  expect(await tableChecksums(target.pool, tables)).toEqual(before);
  // identity sequences continue where they were: new rows get new ids
  expect(await sequenceValues(target.pool)).toEqual(await sequenceValues(db.pool));

  // a database that holds anything is refused, and left as it was
  const again = await runScript('restore', target.url, ['--file', file]);
  expect(again.code).toBe(1);
  expect(again.output).toContain('not empty');
  expect(await tableChecksums(target.pool, tables)).toEqual(before);
});

it('applies the migrations newer than the backup after restoring it', async () => {
  const names = migrationNames();
  const old = await databaseAtMigrations(names.slice(0, -1));
  dropLater.push(old);
  await old.pool.query(`insert into vault.contacts (email, first_name, last_name, company_name, source) values ('old@acme.example', 'Olga', 'Older', 'Acme', 'manual')`);

  const file = path.join(tmp, 'old.dump');
  expect((await runScript('backup', old.url, ['--file', file])).code).toBe(0);
  const target = await emptyDatabase('barton_restored');
  dropLater.push(target);
  const restore = await runScript('restore', target.url, ['--file', file]);
  expect(restore.output).toContain(`applied 1 newer migration(s): ${names.at(-1)}`);
  expect(restore.code).toBe(0);
  const { rows } = await target.pool.query('select name from public.schema_migrations order by name');
  expect(rows.map((r) => r.name)).toEqual(names);
  expect((await target.pool.query(`select email, first_name from vault.contacts`)).rows).toEqual([{ email: 'old@acme.example', first_name: 'Olga' }]);
});
