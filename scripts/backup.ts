// npm run backup [-- --file path.dump]: pg_dump (custom format, one consistent snapshot) of the
// project's schemas, the migration ledger and pg_trgm from DATABASE_URL (else `npm start`'s
// embedded database) into .data/backups/<UTC timestamp>.dump. Restore with npm run restore.
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from '../db/pool';
import { createBackupRepository, MIGRATION_LEDGER, PROJECT_EXTENSIONS } from '../db/backup';
import { PROJECT_SCHEMAS } from '../db/migrate';
import { pendingMigrations } from '../db/migrate';
import { backupsDir, ownerTargetFromEnv, findPgTool, libpqConnection, runPgTool } from './pg-tools';

const { values } = parseArgs({ options: { file: { type: 'string' } } });

let url: string;
try {
  url = ownerTargetFromEnv().ownerUrl;
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
const pool = createPool(url, { max: 1 });
try {
  const db = createBackupRepository(pool);
  const pgDump = findPgTool('pg_dump', await db.serverMajorVersion());
  const pending = await pendingMigrations(pool);
  if (pending.length) console.warn(`note: this database lacks ${pending.length} migration(s) (${pending.join(', ')}); a restore applies them`);

  const startedAt = new Date();
  const file = path.resolve(values.file ?? path.join(backupsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.dump`));
  mkdirSync(path.dirname(file), { recursive: true });
  // written aside and renamed when complete: a failed dump never looks like a backup
  const partial = `${file}.partial`;
  const { dbname, env } = libpqConnection(url);
  const args = [
    '--format=custom',
    `--file=${partial}`,
    `--dbname=${dbname}`,
    ...PROJECT_SCHEMAS.map((s) => `--schema=${s}`),
    // public for the migration ledger only; anything else kept there is not ours
    '--schema=public',
    ...(await db.otherPublicRelations()).map((t) => `--exclude-table=${t}`),
    ...PROJECT_EXTENSIONS.map((e) => `--extension=${e}`),
  ];
  try {
    await runPgTool(pgDump.binary, args, env);
    renameSync(partial, file);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  const mb = (statSync(file).size / 1048576).toFixed(1);
  console.log(`backup: ${file} (${mb} MB; ${PROJECT_SCHEMAS.join(', ')}, ${MIGRATION_LEDGER}; snapshot taken at about ${startedAt.toISOString()})`);
} catch (err) {
  console.error(`backup failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
