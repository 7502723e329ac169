// What a backup holds and the database questions npm run backup / restore ask (scripts/backup.ts,
// scripts/restore.ts run pg_dump and pg_restore).
import { withTransaction, type Pool } from './pool';
import { PROJECT_SCHEMAS } from './migrate';

/** Extensions the migrations create (pg_dump leaves them out of a per-schema dump unless named). */
export const PROJECT_EXTENSIONS = ['pg_trgm'] as const;
export const MIGRATION_LEDGER = 'public.schema_migrations';

export function createBackupRepository(pool: Pool) {
  return {
    /** The server's major version (15 for 15.4): pg_dump and pg_restore must be at least as new. */
    async serverMajorVersion(): Promise<number> {
      const { rows } = await pool.query<{ v: string }>(`select current_setting('server_version_num') as v`);
      return Math.floor(Number(rows[0].v) / 10_000);
    },

    /** Tables, views and sequences in public other than the migration ledger: kept out of a backup. */
    async otherPublicRelations(): Promise<string[]> {
      const { rows } = await pool.query<{ name: string }>(
        `select format('%I.%I', n.nspname, c.relname) as name
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and c.relname <> 'schema_migrations'
            and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
          order by 1`,
      );
      return rows.map((r) => r.name);
    },

    /**
     * What makes a database not empty: schemas beyond public and the system's, relations in
     * public, extensions beyond plpgsql. Empty list: safe to restore into.
     */
    async userObjects(): Promise<string[]> {
      const { rows } = await pool.query<{ what: string }>(
        `select 'schema ' || nspname as what from pg_namespace
          where nspname not in ('public', 'information_schema') and nspname !~ '^pg_'
         union all
         select 'relation public.' || c.relname from pg_class c
          where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
            and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
         union all
         select 'extension ' || extname from pg_extension where extname <> 'plpgsql'
         order by 1`,
      );
      return rows.map((r) => r.what);
    },

    /** For restore --force: the project's schemas and ledger go, so the backup replaces them (extensions stay: the dump creates them if not exists). */
    async dropProjectObjects(): Promise<void> {
      await withTransaction(pool, async (client) => {
        for (const schema of PROJECT_SCHEMAS) await client.query(`drop schema if exists ${schema} cascade`);
        await client.query(`drop table if exists ${MIGRATION_LEDGER}`);
      });
    },
  };
}

export type BackupRepository = ReturnType<typeof createBackupRepository>;
