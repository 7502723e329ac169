// npm run apikey:revoke -- --prefix P   (P: the 12 hex characters after bo_ in the key)
// The API refuses the key from its next request on.
import { parseArgs } from 'node:util';
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { revokeApiKey } from '../db/api-keys';
import { devDatabaseUrl } from './postgres';

const { values } = parseArgs({ options: { prefix: { type: 'string' } } });
const prefix = values.prefix?.replace(/^bo_/, '');
if (!prefix || !/^[0-9a-f]{12}$/.test(prefix)) {
  console.error('usage: npm run apikey:revoke -- --prefix P   (P: the 12 hex characters after bo_ in the key)');
  process.exit(2);
}
let config;
try {
  config = loadConfig(['DATABASE_URL'], { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? devDatabaseUrl() });
} catch (err) {
  exitOnConfigError(err);
}
const pool = createPool(config.DATABASE_URL);
try {
  const name = await revokeApiKey(pool, prefix, { actor: 'apikey:revoke' });
  if (!name) {
    console.error(`no active key has prefix ${prefix}`);
    process.exitCode = 1;
  } else console.log(`revoked key "${name}" (prefix ${prefix})`);
} finally {
  await pool.end();
}
