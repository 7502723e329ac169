// The login role the API, workers and MCP server connect as. It owns nothing, is not superuser,
// cannot bypass row-level security and has only the grants sql/grants.sql gives it; migrations
// run as the owner (MIGRATION_DATABASE_URL) and keep that role and its grants up to date. When
// that owner is a superuser, the objects themselves go to barton_owner (sql/ownership.sql).
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

/** Creates the role when missing and (re)sets what it may be: a login that is nothing more. */
export async function ensureAppRole(client: pg.ClientBase, role: AppRole): Promise<void> {
  const { rows } = await client.query<{ owner: string }>('select current_user as owner');
  if (rows[0].owner === role.name) throw new Error(`the app role ${role.name} is the migrations' own role: give the processes a login role of their own`);
  if (role.name === OBJECT_OWNER) throw new Error(`${OBJECT_OWNER} owns the schema objects: give the processes a login role of their own`);
  const name = pg.escapeIdentifier(role.name);
  const attributes = `login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit${role.password ? ` password ${pg.escapeLiteral(role.password)}` : ''}`;
  await withRoleRace(async () => {
    const exists = await client.query('select 1 from pg_roles where rolname = $1', [role.name]);
    await client.query(`${exists.rowCount ? 'alter' : 'create'} role ${name} ${attributes}`);
  });
}

/** Owns the schema objects when migrations log in as a superuser (sql/ownership.sql). */
export const OBJECT_OWNER = 'barton_owner';

/**
 * When the migrations' login is a superuser, makes sure OBJECT_OWNER exists (no login, not
 * superuser, no BYPASSRLS) and returns it: migrate hands it every schema object
 * (sql/ownership.sql), so that SECURITY DEFINER functions run without a superuser's rights. A
 * login that is no superuser keeps what it made (its functions already run without them): null.
 */
export async function ensureObjectOwner(client: pg.ClientBase): Promise<string | null> {
  const { rows: [me] } = await client.query<{ super: boolean }>('select rolsuper as super from pg_roles where rolname = current_user');
  if (!me.super) return null;
  const name = pg.escapeIdentifier(OBJECT_OWNER);
  await withRoleRace(async () => {
    const exists = await client.query('select 1 from pg_roles where rolname = $1', [OBJECT_OWNER]);
    await client.query(`${exists.rowCount ? 'alter' : 'create'} role ${name} nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls`);
  });
  return OBJECT_OWNER;
}

/**
 * Runs a create-or-alter of a role. Roles belong to the whole server, so two databases migrating
 * at once may race here: the loser of a create finds the role made, the loser of an alter tries again.
 */
async function withRoleRace(createOrAlter: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await createOrAlter();
      return;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const raced = e.code === '42710' || e.code === '23505' || /tuple concurrently updated/.test(e.message ?? '');
      if (!raced || attempt === 5) throw err;
    }
  }
}
