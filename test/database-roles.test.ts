// Issue 10, the database layer: the API and workers log in as a role that owns nothing, cannot
// change the schema, and writes no table itself: INSERT, UPDATE, DELETE and TRUNCATE are refused
// on every table (writes are SECURITY DEFINER functions), the audit log included; every SECURITY
// DEFINER function pins its search_path; the staging COPY's temporary table takes rows and no more.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { LOCAL_APP_ROLE, OBJECT_OWNER } from '../db/app-role';
import { PROJECT_SCHEMAS } from '../db/migrate';
import { asAppRole, testDatabase, type TestDatabase } from './support/harness';

let db: TestDatabase;
let app: pg.Pool;
let tables: { name: string; column: string }[];
const SCHEMAS = [...PROJECT_SCHEMAS];

beforeAll(async () => {
  db = await testDatabase();
  app = asAppRole(db.pool);
  // each table with a column an UPDATE may assign (not generated, not identity always)
  const { rows } = await db.pool.query<{ name: string; column: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name,
            (select quote_ident(a.attname) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                and a.attgenerated = '' and a.attidentity <> 'a' order by a.attnum limit 1) as column
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname = any($1) and not c.relispartition order by 1`,
    [SCHEMAS],
  );
  tables = rows;
});

afterAll(async () => {
  await db?.drop();
});

/** The SQLSTATE statement fails with as the app role (rolled back either way), or 'ok'. */
async function attempt(statement: string): Promise<string> {
  const client = await app.connect();
  try {
    await client.query('begin');
    await client.query(statement);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

it('logs the processes in as a role that is not superuser, cannot bypass RLS and owns nothing', async () => {
  const { rows: [me] } = await app.query('select current_user as name');
  expect(me.name).toBe(LOCAL_APP_ROLE.name);
  const { rows: [role] } = await db.pool.query(
    'select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication from pg_roles where rolname = $1', [LOCAL_APP_ROLE.name]);
  expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false });
  const { rows: [owned] } = await db.pool.query(
    `select (select count(*) from pg_class where relowner = r.oid) + (select count(*) from pg_proc where proowner = r.oid)
          + (select count(*) from pg_namespace where nspowner = r.oid) + (select count(*) from pg_type where typowner = r.oid) as n
       from pg_roles r where rolname = $1`, [LOCAL_APP_ROLE.name]);
  expect(owned.n).toBe(0);
});

it('runs no SECURITY DEFINER function as a superuser: the schema objects belong to barton_owner, who cannot log in', async () => {
  const { rows: [owner] } = await db.pool.query(
    'select rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = $1', [OBJECT_OWNER]);
  expect(owner).toEqual({ rolcanlogin: false, rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false });
  const { rows } = await db.pool.query<{ object: string }>(
    `select 'schema ' || n.nspname as object from pg_namespace n where n.nspname = any($1) and n.nspowner <> to_regrole($2)
     union all
     select 'relation ' || c.oid::regclass from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'S') and c.relowner <> to_regrole($2)
     union all
     select 'function ' || p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any($1) and p.proowner <> to_regrole($2)`, [SCHEMAS, OBJECT_OWNER]);
  expect(rows.map((r) => r.object)).toEqual([]);
});

it('refuses the app role INSERT, UPDATE, DELETE and TRUNCATE on every table', async () => {
  expect(tables.length).toBeGreaterThan(50);
  const allowed: string[] = [];
  for (const { name: table, column } of tables) {
    const outcomes = {
      insert: await attempt(`insert into ${table} default values`),
      update: await attempt(`update ${table} set ${column} = ${column} where false`),
      delete: await attempt(`delete from ${table} where false`),
      truncate: await attempt(`truncate ${table}`),
    };
    // 42501 is permission denied; any other outcome (ok, a constraint violation) got past it
    for (const [verb, outcome] of Object.entries(outcomes)) if (outcome !== '42501') allowed.push(`${verb} ${table}: ${outcome}`);
  }
  console.log(`direct writes as ${LOCAL_APP_ROLE.name}: ${tables.length} tables x 4 statements = ${tables.length * 4} checked, ` +
    `${tables.length * 4 - allowed.length} refused`);
  expect(allowed).toEqual([]);
});

it('lets the app role add audit rows only through the functions that make the change', async () => {
  expect(await attempt(`insert into intake.audit_log (action, entity) values ('forged', 'contact')`)).toBe('42501');
  expect(await attempt(`update intake.audit_log set action = action where false`)).toBe('42501');
  expect(await attempt(`delete from intake.audit_log where false`)).toBe('42501');
  expect(await attempt(`truncate intake.audit_log`)).toBe('42501');
});

it('refuses the app role any change to the schema', async () => {
  expect(await attempt('create table intake.intruder (id int)')).toBe('42501');
  expect(await attempt('alter table vault.contacts add column intruder int')).toBe('42501');
  expect(await attempt('drop table marketing.suppressions')).toBe('42501');
  expect(await attempt('create or replace function analytics.f_shard() returns smallint language sql as $$ select 0::smallint $$')).toBe('42501');
  expect(await attempt('alter table vault.contacts disable row level security')).toBe('42501');
});

it('pins search_path on every SECURITY DEFINER function', async () => {
  const { rows } = await db.pool.query<{ fn: string; config: string[] | null }>(
    `select p.oid::regprocedure::text as fn, p.proconfig as config from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where p.prosecdef and n.nspname = any($1) order by 1`, [SCHEMAS]);
  expect(rows.length).toBeGreaterThan(0);
  const unpinned = rows.filter((r) => !(r.config ?? []).some((c) => c === 'search_path=pg_catalog, pg_temp' || c === 'search_path=""'));
  console.log(`SECURITY DEFINER functions: ${rows.length}, search_path pinned on ${rows.length - unpinned.length}`);
  expect(unpinned.map((r) => r.fn)).toEqual([]);
});

it('writes through SECURITY DEFINER functions only: the other functions that write are triggers, helpers those call, or the owner\'s restore', async () => {
  const { rows } = await db.pool.query<{ fn: string }>(
    `select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any($1) and not p.prosecdef and p.prorettype <> 'trigger'::regtype
        and p.prosrc ~* '(insert\\s+into|update\\s+[a-z_]+\\.|delete\\s+from|truncate)' order by 1`, [SCHEMAS]);
  expect(rows.map((r) => r.fn)).toEqual([
    'intake.f_audit(text,text,text,jsonb,jsonb)', // called by definer functions, as their owner
    'intake.f_audit_change(text,text,text,jsonb,jsonb)',
    'intake.f_restore_entity(text,bigint,timestamp with time zone,text)', // npm run audit:restore, as the owner
    'intake.f_restore_row(regclass,text,jsonb)',
  ]);
  // called by the app role itself, they run with its rights: refused
  expect(await attempt(`select intake.f_audit('forger', 'forged', 'contact', null, null)`)).toBe('42501');
  expect(await attempt(`select intake.f_restore_row('vault.contacts', 'contact_id', '{"contact_id": 1}')`)).toBe('42501');
});

it('reads views with the reader\'s rights (security_invoker), never their owner\'s', async () => {
  const { rows } = await db.pool.query<{ view: string; options: string[] | null }>(
    `select c.oid::regclass::text as view, c.reloptions as options from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'v' and n.nspname = any($1) order by 1`, [SCHEMAS]);
  expect(rows.map((r) => r.view)).toEqual(['company.history', 'people.history']);
  for (const r of rows) expect(r.options, r.view).toContain('security_invoker=true');
});

it('stages a batch as the app role through a temporary table it may only insert into', async () => {
  const client = await app.connect();
  try {
    await client.query('begin');
    const { rows: [opened] } = await client.query(`select * from intake.f_open_batch('roles-test', 'csv', 'roles-test')`);
    expect(opened).toEqual({ staged: true, source: 'csv', row_count: 0 });
    await client.query(`insert into pg_temp.intake_staged_rows (row_no, payload) values (1, '{"email": "a@example.com"}')`);
    await client.query('savepoint probe');
    await expect(client.query('select * from pg_temp.intake_staged_rows')).rejects.toMatchObject({ code: '42501' });
    await client.query('rollback to savepoint probe');
    await expect(client.query('update pg_temp.intake_staged_rows set row_no = 2')).rejects.toMatchObject({ code: '42501' });
    await client.query('rollback to savepoint probe');
    const { rows: [closed] } = await client.query(`select intake.f_close_batch('roles-test') as n`);
    expect(closed.n).toBe(1);
    await client.query('commit');
  } finally {
    client.release();
  }
  const { rows } = await db.pool.query(`select b.row_count, r.payload from intake.batches b join intake.batch_rows r using (batch_id) where batch_id = 'roles-test'`);
  expect(rows).toEqual([{ row_count: 1, payload: { email: 'a@example.com' } }]);
});

