// The login role the API, workers and MCP server connect as. It owns nothing, is not superuser,
// cannot bypass row-level security and has only the grants sql/grants.sql gives it; migrations
// run as the owner (MIGRATION_DATABASE_URL) and keep that role and its grants up to date.
import pg from 'pg';

export interface AppRole {
  name: string;
  /** Set on the role when given (password auth); left alone when not (trust, peer, certificates). */
  password?: string;
}

/** The role `npm start`, the tests and the benches create beside an owner they were handed. */
export const LOCAL_APP_ROLE: AppRole = { name: 'barton_app', password: 'barton_app' };

/** The role and password a connection URL logs in with. */
export function roleOfUrl(url: string): AppRole {
  const u = new URL(url);
  return { name: decodeURIComponent(u.username), password: u.password ? decodeURIComponent(u.password) : undefined };
}

/**
 * Where migrations run and which login role they keep up to date: with MIGRATION_DATABASE_URL,
 * the owner is there and DATABASE_URL's role is the app role; without, DATABASE_URL is the owner
 * and the processes share its rights (a single-role setup, as before roles were split).
 */
export function migrationTarget(databaseUrl: string, migrationUrl?: string): { ownerUrl: string; appRole?: AppRole } {
  return migrationUrl ? { ownerUrl: migrationUrl, appRole: roleOfUrl(databaseUrl) } : { ownerUrl: databaseUrl };
}

/** The same server and database, logged in as role. */
export function urlForRole(url: string, role: AppRole): string {
  const u = new URL(url);
  u.username = encodeURIComponent(role.name);
  u.password = role.password ? encodeURIComponent(role.password) : '';
  return u.toString();
}

/**
 * Creates the role when missing and (re)sets what it may be: a login that is nothing more.
 * Roles belong to the whole server, so two databases migrating at once may race here: the loser
 * of a create finds the role made, the loser of an alter tries again.
 */
export async function ensureAppRole(client: pg.ClientBase, role: AppRole): Promise<void> {
  const { rows } = await client.query<{ owner: string }>('select current_user as owner');
  if (rows[0].owner === role.name) throw new Error(`the app role ${role.name} is the migrations' own role: give the processes a login role of their own`);
  const name = pg.escapeIdentifier(role.name);
  const attributes = `login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit${role.password ? ` password ${pg.escapeLiteral(role.password)}` : ''}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const exists = await client.query('select 1 from pg_roles where rolname = $1', [role.name]);
      await client.query(`${exists.rowCount ? 'alter' : 'create'} role ${name} ${attributes}`);
      return;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const raced = e.code === '42710' || e.code === '23505' || /tuple concurrently updated/.test(e.message ?? '');
      if (!raced || attempt === 5) throw err;
    }
  }
}

/** Applies sql/grants.sql for role (given the SQL's text), in one transaction on client. */
export async function applyGrants(client: pg.ClientBase, role: AppRole, grantsSql: string): Promise<void> {
  await client.query('begin');
  try {
    await client.query(`select set_config('barton.app_role', $1, true)`, [role.name]);
    await client.query(grantsSql);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}
