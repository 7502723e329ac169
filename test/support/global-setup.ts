// One Postgres server, one migrated template database, one Temporal dev server and one workflow
// bundle for the whole run; each test file clones the template into a database of its own.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createPool } from '../../db/pool';
import { migrate } from '../../db/migrate';
import { LOCAL_APP_ROLE } from '../../db/app-role';
import { workflowsPath, workflowInterceptorModules } from '../../worker/worker';
import { createDatabase, dropDatabase, throwawayPostgres } from '../../scripts/postgres';
import { startTemporalDevServer } from '../../scripts/temporal-server';
import { freePort } from '../../scripts/ports';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDatabase: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'barton-test-'));
  const cleanups: (() => Promise<unknown>)[] = [];

  // DATABASE_URL (any database on the server) names the server to use; else an embedded one.
  const server = await throwawayPostgres('barton-test-pg-');
  cleanups.push(() => server.stop());
  const { adminUrl } = server;
  const templateDatabase = `barton_template_${process.pid}`;
  const pool = createPool(await createDatabase(adminUrl, templateDatabase));
  await migrate(pool, () => undefined, { appRole: LOCAL_APP_ROLE }); // each file's clone keeps the grants
  await pool.end();
  cleanups.push(() => dropDatabase(adminUrl, templateDatabase));

  const [temporal, bundle] = await Promise.all([
    startTemporalDevServer({ port: await freePort() }),
    bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} } }),
  ]);
  cleanups.push(() => temporal.stop());
  const workflowBundlePath = path.join(tmp, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, bundle.code);

  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(String(err)));
    rmSync(tmp, { recursive: true, force: true });
  };
}
