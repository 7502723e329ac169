// npm run apikey:create -- --name NAME --scopes read,write [--rate-limit 100] [--expires-in 90d] [--workspace SLUG]
// The key acts in the workspace SLUG (made when missing; default: the default workspace).
import { parseArgs } from 'node:util';
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { migrationTarget } from '../db/app-role';
import { createApiKey, ensureWorkspace, SCOPES, type Scope } from '../db/api-keys';
import { devDatabaseUrl } from './postgres';
import { inWorkspace } from '../common/workspace-context';

const { values } = parseArgs({
  options: {
    name: { type: 'string' }, scopes: { type: 'string', default: 'read' }, 'rate-limit': { type: 'string', default: '100' }, 'expires-in': { type: 'string' },
    workspace: { type: 'string', default: 'default' },
  },
});
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** "90d", "12h", "30m" → when the key stops working; null: never. */
function expiryOf(text: string | undefined): Date | null | undefined {
  if (text === undefined) return null;
  const m = /^([1-9]\d{0,5})([mhd])$/.exec(text);
  return m ? new Date(Date.now() + Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]) : undefined;
}
const expiresAt = expiryOf(values['expires-in']);
const scopes = values.scopes.split(',').map((s) => s.trim());
const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
const rate = Number(values['rate-limit']);
const WORKSPACE_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/; // as auth.workspaces checks it
const badWorkspace = !WORKSPACE_SLUG.test(values.workspace);
if (!values.name || bad.length || !Number.isInteger(rate) || rate < 1 || expiresAt === undefined || badWorkspace) {
  console.error(`usage: npm run apikey:create -- --name NAME --scopes ${SCOPES.join(',')} [--rate-limit N] [--expires-in 30m|12h|90d] [--workspace SLUG]` +
    (bad.length ? `\nunknown scope(s): ${bad.join(', ')}` : '') +
    (expiresAt === undefined ? `\n--expires-in: a number and a unit (m, h or d), like 90d` : '') +
    (badWorkspace ? `\n--workspace: lowercase letters, digits and dashes, up to 63, like acme-corp` : ''));
  process.exit(2);
}
let config;
try {
  config = loadConfig(['DATABASE_URL'], { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? devDatabaseUrl() });
} catch (err) {
  exitOnConfigError(err);
}
// an admin's tool: it migrates and writes as the owner, as npm run migrate does
const { ownerUrl, appRole } = migrationTarget(config.DATABASE_URL, config.MIGRATION_DATABASE_URL);
const pool = createPool(ownerUrl);
try {
  await migrate(pool, () => undefined, { appRole });
  const ctx = { actor: 'apikey:create' };
  const workspaceId = await ensureWorkspace(pool, values.workspace, ctx);
  // in the key's workspace, so its audit row is that workspace's
  const { key, apiKey } = await inWorkspace(workspaceId, () =>
    createApiKey(pool, { name: values.name!, scopes: scopes as Scope[], rateLimitPerMinute: rate, expiresAt, workspaceId }, ctx));
  const expiry = expiresAt ? `, expires ${expiresAt.toISOString()}` : '';
  if (values.workspace !== 'default') console.warn('note: so far workspaces separate API keys and the audit log only; contacts, campaigns and the other data are shared by all workspaces');
  console.log(`created key "${apiKey.name}" in workspace ${values.workspace} (prefix ${apiKey.prefix}, scopes ${apiKey.scopes.join(',')}${expiry}); it is shown only once:\n${key}`);
} finally {
  await pool.end();
}
