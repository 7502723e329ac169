// npm run restore [-- --file path.dump] [--force]: pg_restore a backup (npm run backup; default: the
// newest under .data/backups) into the database DATABASE_URL names (made if missing), then apply
// the migrations newer than the backup. Refuses a database that already holds anything unless
// --force, which drops the project's schemas first. In-flight workflows: see README, "Backup and restore".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPool } from '../db/pool';
import { createBackupRepository } from '../db/backup';
import { migrate } from '../db/migrate';
import type { AppRole } from '../db/app-role';
import { createDatabase, withDatabase } from './postgres';
import { backupsDir, ownerTargetFromEnv, findPgTool, libpqConnection, runPgTool } from './pg-tools';

const { values } = parseArgs({ options: { file: { type: 'string' }, force: { type: 'boolean', default: false } } });

function newestBackup(): string | undefined {
  if (!existsSync(backupsDir)) return undefined;
  const dumps = readdirSync(backupsDir).filter((f) => f.endsWith('.dump')).sort(); // names are UTC timestamps
  return dumps.length ? path.join(backupsDir, dumps[dumps.length - 1]) : undefined;
}

let url: string;
let appRole: AppRole | undefined;
try {
  ({ ownerUrl: url, appRole } = ownerTargetFromEnv());
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
const file = values.file ? path.resolve(values.file) : newestBackup();
if (!file || !existsSync(file)) {
  console.error(file ? `no backup file ${file}` : `no backup under ${backupsDir}: name one with --file`);
  process.exit(1);
}

try {
  await ensureDatabase(url);
} catch (err) {
  console.error(`restore failed: ${(err as Error).message}`);
  process.exit(1);
}
const pool = createPool(url, { max: 1 });
try {
  const db = createBackupRepository(pool);
  const pgRestore = findPgTool('pg_restore', await db.serverMajorVersion());
  const present = await db.userObjects();
  if (present.length && !values.force) {
    console.error(
      `refusing to restore into ${new URL(url).pathname.slice(1)}: it is not empty (${present.slice(0, 8).join(', ')}${present.length > 8 ? ', …' : ''}). ` +
        'Restore into an empty database, or pass --force to drop the project\'s schemas and replace them.',
    );
    process.exitCode = 1;
  } else {
    if (present.length) {
      console.warn(`--force: dropping the project's schemas in ${new URL(url).pathname.slice(1)}`);
      await db.dropProjectObjects();
    }
    const { dbname, env } = libpqConnection(url);
    const list = await restoreList(pgRestore.binary, file, env);
    try {
      // one transaction: a failed restore leaves the database as it was
      await runPgTool(pgRestore.binary, ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', `--use-list=${list}`, `--dbname=${dbname}`, file], env);
    } finally {
      rmSync(path.dirname(list), { recursive: true, force: true });
    }
    // restored without privileges (--no-privileges): migrate gives the processes' role its grants again
    const applied = await migrate(pool, () => undefined, { appRole });
    console.log(`restored ${file}${applied.length ? `; then applied ${applied.length} newer migration(s): ${applied.join(', ')}` : '; migrations already current'}`);
    console.log('Workflows started or still running after the backup point must be ended before workers run again: see README, "Backup and restore".');
  }
} catch (err) {
  console.error(`restore failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}

/**
 * The archive's table of contents without the public schema itself: the dump names it (for the
 * migration ledger in it), but every database already has one, and CREATE SCHEMA public would fail.
 */
async function restoreList(binary: string, archive: string, env: NodeJS.ProcessEnv): Promise<string> {
  const listed = spawnSync(binary, ['--list', archive], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (listed.status !== 0) throw new Error(`${binary} --list ${archive}: ${listed.stderr.trim() || `exit ${listed.status}`}`);
  const entries = listed.stdout.split('\n').filter((line) => !/^\d+; \d+ \d+ (SCHEMA|COMMENT) - (SCHEMA )?public /.test(line));
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'barton-restore-')), 'toc.list');
  writeFileSync(file, entries.join('\n'));
  return file;
}

/** Makes the target database when it does not exist yet (needs CREATEDB; else make it first). */
async function ensureDatabase(target: string): Promise<void> {
  const name = decodeURIComponent(new URL(target).pathname.slice(1));
  const probe = new pg.Client({ connectionString: target });
  try {
    await probe.connect();
    await probe.end();
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: no such database
    await createDatabase(withDatabase(target, 'postgres'), name);
    console.log(`created database ${name}`);
  }
}
