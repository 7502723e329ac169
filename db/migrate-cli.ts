// npm run migrate: apply pending migrations as the owner (MIGRATION_DATABASE_URL, else
// DATABASE_URL), bring the processes' login role and its grants up to date, and exit.
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from './pool';
import { migrate } from './migrate';
import { migrationTarget } from './app-role';

let config;
try {
  config = loadConfig(['DATABASE_URL']);
} catch (err) {
  exitOnConfigError(err);
}
const { ownerUrl, appRole } = migrationTarget(config.DATABASE_URL, config.MIGRATION_DATABASE_URL);
const pool = createPool(ownerUrl);
try {
  const applied = await migrate(pool, console.log, { appRole });
  if (appRole) console.log(`app role ${appRole.name}: grants applied`);
  console.log(applied.length ? `migrated: ${applied.length} applied` : 'migrations: already current');
} finally {
  await pool.end();
}
