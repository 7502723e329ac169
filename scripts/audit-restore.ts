// npm run audit:restore -- --entity contact:ID [--at TIME] [--dry-run] [--actor NAME]
// Rebuilds an accidentally deleted or overwritten contact, golden record (person:ID, company:ID)
// or campaign (campaign:ID, with its steps) from intake.audit_log's row images, as it was at TIME
// (ISO 8601), or, without --at, as it was just before its last update or delete. Prints what
// it wrote as JSON. DATABASE_URL, else `npm start`'s embedded database.
import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { createPool } from '../db/pool';
import { createAuditRepository, RESTORABLE_ENTITIES, RestoreRefused, type RestorableEntity } from '../db/audit';
import { ownerTargetFromEnv } from './pg-tools';

const usage = 'usage: npm run audit:restore -- --entity <contact|person|company|campaign>:<id> [--at 2026-12-01T09:30:00Z] [--dry-run] [--actor name]';
const { values } = parseArgs({ options: { entity: { type: 'string' }, at: { type: 'string' }, 'dry-run': { type: 'boolean' }, actor: { type: 'string' } } });

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const match = /^([a-z]+):(\d{1,15})$/.exec(values.entity ?? '');
if (!match) fail(`--entity: expected kind:id\n${usage}`);
const entity = match[1] as RestorableEntity;
if (!RESTORABLE_ENTITIES.includes(entity)) fail(`--entity: "${entity}" is not one of ${RESTORABLE_ENTITIES.join(', ')}\n${usage}`);
const at = values.at === undefined ? undefined : new Date(values.at);
if (at && Number.isNaN(at.getTime())) fail(`--at: "${values.at}" is not a date-time\n${usage}`);

let url: string;
try {
  url = ownerTargetFromEnv().ownerUrl;
} catch (err) {
  fail((err as Error).message);
}
const pool = createPool(url, { max: 1 });
try {
  const outcome = await createAuditRepository(pool).restore({
    entity, id: Number(match[2]), at, actor: values.actor ?? `audit-restore:${userInfo().username}`, dryRun: values['dry-run'],
  });
  console.log(JSON.stringify({ ...outcome, dry_run: Boolean(values['dry-run']) }, null, 2));
} catch (err) {
  if (err instanceof RestoreRefused) fail(`refused: ${err.message}`);
  throw err;
} finally {
  await pool.end();
}
