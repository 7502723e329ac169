// npm run migrate: apply pending migrations to DATABASE_URL and exit.
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from './pool';
import { migrate } from './migrate';

let config;
try {
  config = loadConfig(['DATABASE_URL']);
} catch (err) {
  exitOnConfigError(err);
}
const pool = createPool(config.DATABASE_URL);
try {
  const applied = await migrate(pool, console.log);
  console.log(applied.length ? `migrated: ${applied.length} applied` : 'migrations: already current');
} finally {
  await pool.end();
}
