// Issue 10, the workspace of each transaction: the processes set app.workspace_id in every
// transaction they run (db/pool.ts), local to it, from the workspace the work runs for (an API
// key's, common/workspace-context.ts); the audit log's row-level security reads it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { temporalClient, testApp, testDatabase, type TestDatabase } from './support/harness';
import { createPool, withTransaction, type Pool } from '../db/pool';
import { createApiKey, ensureWorkspace } from '../db/api-keys';
import { inWorkspace } from '../common/workspace-context';
import type { App } from '../api/app';

let db: TestDatabase;
let temporal: Client;
let app: App;
let appPool: Pool;

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  app = await testApp({ pool: db.pool, temporal });
  appPool = createPool(db.appUrl, { max: 1 }); // one connection: every query below reuses it
});

afterAll(async () => {
  await appPool?.end();
  await app?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const asKey = (key: string) => ({ authorization: `Bearer ${key}` });
const SETTING = `select coalesce(current_setting('app.workspace_id', true), '') as workspace, pg_backend_pid() as pid`;
const settingOf = async (run: () => Promise<{ rows: { workspace: string; pid: number }[] }>) => (await run()).rows[0];

describe('the workspace setting', () => {
  it('holds for its transaction only: the next one on the same connection has none', async () => {
    const inTwo = await settingOf(() => inWorkspace(2, () => appPool.query(SETTING)));
    const next = await settingOf(() => appPool.query(SETTING));
    expect(inTwo.workspace).toBe('2');
    expect(next).toEqual({ workspace: '', pid: inTwo.pid });

    const inThree = await settingOf(() => inWorkspace(3, () => withTransaction(appPool, (c) => c.query(SETTING))));
    expect(inThree).toEqual({ workspace: '3', pid: inTwo.pid });
    await expect(inWorkspace(4, () => withTransaction(appPool, async (c) => {
      await c.query(SETTING);
      throw new Error('the transaction fails');
    }))).rejects.toThrow('the transaction fails');
    expect(await settingOf(() => appPool.query(SETTING))).toEqual({ workspace: '', pid: inTwo.pid });
  });

  it('concurrent work for two workspaces on one pool each sees its own', async () => {
    const pool = createPool(db.appUrl, { max: 3 });
    try {
      const seen = await Promise.all(Array.from({ length: 60 }, (_, i) => {
        const workspace = 5 + (i % 2);
        return inWorkspace(workspace, async () => {
          await new Promise((r) => setTimeout(r, i % 7)); // interleave the two workspaces' queries
          return { workspace: String(workspace), seen: (await pool.query(SETTING)).rows[0].workspace };
        });
      }));
      expect(seen.filter((s) => s.seen !== s.workspace)).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('cannot be a session setting: a plain query outside a workspace leaves none behind', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 5; i++) {
      pids.add((await settingOf(() => inWorkspace(9, () => appPool.query(SETTING)))).pid);
      expect((await appPool.query(SETTING)).rows[0].workspace).toBe('');
    }
    expect(pids.size).toBe(1);
  });
});

describe('the audit log, per workspace', () => {
  let acme: number;
  let globex: number;
  const adminOf = async (workspaceId: number, name: string) =>
    asKey((await inWorkspace(workspaceId, () => createApiKey(db.pool, { name, scopes: ['admin'], workspaceId }))).key);

  beforeAll(async () => {
    acme = await ensureWorkspace(db.pool, 'acme');
    globex = await ensureWorkspace(db.pool, 'globex');
  });

  it("an admin reads its own workspace's audit rows only; with no workspace set the app role reads none", async () => {
    const acmeAdmin = await adminOf(acme, 'acme-admin');
    const globexAdmin = await adminOf(globex, 'globex-admin');
    for (const [admin, name] of [[acmeAdmin, 'acme-ci'], [globexAdmin, 'globex-ci']] as const) {
      expect((await app.inject({ method: 'POST', url: '/api/keys', headers: admin, payload: { name, scopes: ['read'] } })).statusCode).toBe(201);
    }
    const created = async (admin: { authorization: string }) => {
      const res = await app.inject({ method: 'GET', url: '/api/audit?entity=api_key&action=api_key_created', headers: admin });
      expect(res.statusCode).toBe(200);
      return (res.json().entries as { after: { name: string } }[]).map((e) => e.after.name).sort();
    };
    expect(await created(acmeAdmin)).toEqual(['acme-admin', 'acme-ci']);
    expect(await created(globexAdmin)).toEqual(['globex-admin', 'globex-ci']);

    // stamped in the database: each workspace's creation opens its own log
    const { rows } = await db.pool.query(
      `select workspace_id, entity_id from intake.audit_log where action = 'workspace_created' order by workspace_id`);
    expect(rows).toEqual([{ workspace_id: acme, entity_id: String(acme) }, { workspace_id: globex, entity_id: String(globex) }]);

    const all = Number((await db.pool.query('select count(*) from intake.audit_log')).rows[0].count);
    expect(all).toBeGreaterThanOrEqual(6);
    expect(Number((await appPool.query('select count(*) from intake.audit_log')).rows[0].count)).toBe(0);
    expect(Number((await inWorkspace(acme, () => appPool.query('select count(*) from intake.audit_log'))).rows[0].count)).toBe(3);
  });
});

describe('workflows, per workspace', () => {
  it("GET /api/workflows/:id finds the key's own workspace's runs only", async () => {
    const initech = await ensureWorkspace(db.pool, 'initech');
    const initechReader = asKey((await createApiKey(db.pool, { name: 'initech-reader', scopes: ['read'], workspaceId: initech })).key);
    const defaultReader = asKey((await createApiKey(db.pool, { name: 'default-reader', scopes: ['read'] })).key);
    // started on a queue no worker polls: it stays running, which is all this needs
    const start = (workflowId: string) => temporal.workflow.start('ingestWorkflow', { workflowId, taskQueue: `nobody-${workflowId}`, args: [{}] });
    const theirs = await inWorkspace(initech, () => start(`initech-run-${Date.now()}`));
    const ours = await start(`default-run-${Date.now()}`);
    try {
      const status = async (id: string, headers: { authorization: string }) =>
        (await app.inject({ method: 'GET', url: `/api/workflows/${id}`, headers })).statusCode;
      expect(await status(theirs.workflowId, initechReader)).toBe(200);
      expect(await status(theirs.workflowId, defaultReader)).toBe(404);
      expect(await status(ours.workflowId, defaultReader)).toBe(200);
      expect(await status(ours.workflowId, initechReader)).toBe(404);
    } finally {
      await Promise.all([theirs.terminate(), ours.terminate()]);
    }
  });
});
