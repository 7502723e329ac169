// Upgrading a database that holds data: a database at every migration but the newest, filled
// with plain SQL valid for that schema, is brought current by migrate(); its rows stay as they
// were and the API reads them. No migration has been added since the last release (1968715), so
// the older schema is "all but the newest migration", whichever that is when the test runs.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool';
import { migrate, pendingMigrations } from '../db/migrate';
import { LOCAL_APP_ROLE } from '../db/app-role';
import { PROJECT_SCHEMAS } from '../db/migrate';
import { temporalClient, testApp, type TestDatabase } from './support/harness';
import { databaseAtMigrations, migrationNames } from './support/migrations';
import type { App } from '../api/app';

let old: TestDatabase;
let temporal: Client;
let app: App | undefined;
const names = migrationNames();

beforeAll(async () => {
  old = await databaseAtMigrations(names.slice(0, -1));
  temporal = await temporalClient();
});

afterAll(async () => {
  await app?.close();
  await temporal?.connection.close();
  await old?.drop();
});

/** Each table's columns as they are now, to checksum the same columns after the upgrade. */
async function tableColumns(pool: Pool): Promise<Map<string, string[]>> {
  const { rows } = await pool.query(
    `select format('%I.%I', table_schema, table_name) as t, array_agg(format('%I', column_name) order by ordinal_position) as cols
       from information_schema.columns
      where table_schema = any($1) and (table_schema, table_name) in (select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE')
      group by 1 order by 1`,
    [PROJECT_SCHEMAS],
  );
  return new Map(rows.map((r) => [r.t, r.cols]));
}

async function checksums(pool: Pool, tables: Map<string, string[]>): Promise<Record<string, { rows: number; md5: string }>> {
  const sums: Record<string, { rows: number; md5: string }> = {};
  for (const [table, cols] of tables) {
    const row = `row(${cols.join(', ')})::text`;
    const { rows } = await pool.query(
      `select count(*)::int as rows, md5(coalesce(string_agg(${row}, E'\\n' order by ${row} collate "C"), '')) as md5 from ${table}`,
    );
    sums[table] = rows[0];
  }
  return sums;
}

it(`keeps the data of a database at ${names.at(-2)} through the upgrade to ${names.at(-1)}, and the API reads it`, async () => {
  const pool = old.pool;
  // data as the older schema holds it: staged and promoted loads, contacts, a golden record
  await pool.query(`insert into intake.batches (batch_id, source, row_count, actor) values ('upgrade-1', 'apollo', 3, 'upgrade-test')`);
  await pool.query(
    `insert into vault.contacts (email, first_name, last_name, full_name, title, company_name, company_domain, linkedin_url, source)
     values ('ada@engines.example', 'Ada', 'Lovelace', 'Ada Lovelace', 'CTO', 'Analytical Engines', 'engines.example', 'https://www.linkedin.com/in/ada', 'apollo'),
            ('grace@navy.example', 'Grace', 'Hopper', 'Grace Hopper', 'Rear Admiral', 'US Navy', 'navy.example', null, 'apollo'),
            ('alan@bletchley.example', 'Alan', 'Turing', null, null, null, null, null, 'manual')`,
  );
  await pool.query(
    `insert into intake.raw_loads (batch_id, row_no, source, raw, email, status, contact_id, promoted_at)
     select 'upgrade-1', row_number() over (order by c.contact_id), 'apollo', jsonb_build_object('email', c.email, 'first_name', c.first_name),
            c.email, 'promoted', c.contact_id, now()
       from vault.contacts c`,
  );
  await pool.query(
    `insert into company.master (name, domain) values ('Analytical Engines', 'engines.example');
     insert into people.master (email, first_name, last_name, title, company_id)
     select 'ada@engines.example', 'Ada', 'Lovelace', 'CTO', company_id from company.master`,
  );
  // an API key made before the upgrade still works after it (plain SQL too: the older schema's
  // functions are not there to make it)
  const key = `bo_${randomBytes(6).toString('hex')}_${randomBytes(24).toString('base64url')}`;
  await pool.query(
    `insert into auth.api_keys (name, prefix, secret_hash, scopes, rate_limit_per_minute) values ('upgrade-reader', $1, $2, '{read}', 10000)`,
    [key.slice(3, 15), createHash('sha256').update(key).digest('hex')],
  );
  const reader = { authorization: `Bearer ${key}` };

  const columns = await tableColumns(pool);
  const before = await checksums(pool, columns);
  expect(before['vault.contacts'].rows).toBe(3);
  expect(before['people.master'].rows).toBe(1);

  // as npm run migrate does with MIGRATION_DATABASE_URL: the processes' role gets its grants
  expect(await migrate(pool, undefined, { appRole: LOCAL_APP_ROLE })).toEqual([names.at(-1)]);
  expect(await pendingMigrations(pool)).toEqual([]);
  // every column the older schema had holds what it held — but the analytics rollups, which are
  // derived: the first migrate that re-applies sql/functions/analytics.sql counts the rows already
  // there into them (analytics.rollup_state.built_at), so they must have grown from nothing
  const derived = (sums: Record<string, unknown>) => Object.fromEntries(Object.entries(sums).filter(([t]) => !t.startsWith('analytics.')));
  const after = await checksums(pool, columns);
  expect(derived(after)).toEqual(derived(before));
  expect(before['analytics.daily_counts'].rows).toBe(0);
  expect(after['analytics.daily_counts'].rows).toBeGreaterThan(0);

  app = await testApp({ pool, temporal });
  const list = await app.inject({ method: 'GET', url: '/api/contacts?sort=last_name', headers: reader });
  expect(list.statusCode).toBe(200);
  expect(list.json().data.map((c: { email: string }) => c.email)).toEqual(['grace@navy.example', 'ada@engines.example', 'alan@bletchley.example']);
  // search reads what the upgrade derived from the rows already there
  const search = await app.inject({ method: 'GET', url: '/api/contacts?q=lovel', headers: reader });
  expect(search.json().data.map((c: { email: string }) => c.email)).toEqual(['ada@engines.example']);
  const company = await app.inject({ method: 'GET', url: '/api/contacts?q=@navy.example', headers: reader });
  expect(company.json().data.map((c: { email: string }) => c.email)).toEqual(['grace@navy.example']);
});
