// npm run apikey:create -- --name NAME --scopes read,write [--rate-limit 100]
import { parseArgs } from 'node:util';
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { createApiKey, SCOPES, type Scope } from '../db/api-keys';
import { devDatabaseUrl } from './postgres';

const { values } = parseArgs({
  options: { name: { type: 'string' }, scopes: { type: 'string', default: 'read' }, 'rate-limit': { type: 'string', default: '100' } },
});
const scopes = values.scopes.split(',').map((s) => s.trim());
const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
const rate = Number(values['rate-limit']);
if (!values.name || bad.length || !Number.isInteger(rate) || rate < 1) {
  console.error(`usage: npm run apikey:create -- --name NAME --scopes ${SCOPES.join(',')} [--rate-limit N]` +
    (bad.length ? `\nunknown scope(s): ${bad.join(', ')}` : ''));
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
  await migrate(pool);
  const { key, apiKey } = await createApiKey(pool, { name: values.name, scopes: scopes as Scope[], rateLimitPerMinute: rate });
  console.log(`created key "${apiKey.name}" (prefix ${apiKey.prefix}, scopes ${apiKey.scopes.join(',')}); it is shown only once:\n${key}`);
} finally {
  await pool.end();
}
