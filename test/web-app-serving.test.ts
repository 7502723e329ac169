// The API serves the built web app (npm start, npm run api): cache headers a browser relies on,
// the SPA fallback for the app's own URLs, and none of the server's paths shadowed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../api/app';
import { webAppPlugin } from '../api/plugins/web-app';
import { asAppRole, temporalClient, testConfig, testDatabase, type TestDatabase } from './support/harness';

let db: TestDatabase;
let temporal: Client;
let app: App;
let bare: App;
let dist: string;

const INDEX = '<!doctype html><title>app</title><div id="root"></div><script src="/assets/index-3f9a1c.js"></script>';

async function appServing(root: string) {
  const built = await buildApp({ pool: asAppRole(db.pool), temporal, config: testConfig() });
  await built.register(webAppPlugin, { root });
  await built.ready();
  return built;
}

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  dist = mkdtempSync(path.join(tmpdir(), 'barton-dist-'));
  mkdirSync(path.join(dist, 'assets'));
  writeFileSync(path.join(dist, 'index.html'), INDEX);
  writeFileSync(path.join(dist, 'assets', 'index-3f9a1c.js'), 'console.log("app")');
  writeFileSync(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  app = await appServing(dist);
  bare = await appServing(path.join(dist, 'missing'));
});

afterAll(async () => {
  await app?.close();
  await bare?.close();
  await temporal?.connection.close();
  await db?.drop();
  rmSync(dist, { recursive: true, force: true });
});

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('serving web/dist', () => {
  it('serves index.html at / revalidated every time, and hashed assets as immutable', async () => {
    const root = await app.inject({ method: 'GET', url: '/', headers: html });
    expect(root.statusCode).toBe(200);
    expect(root.headers['content-type']).toContain('text/html');
    expect(root.headers['cache-control']).toBe('no-cache');
    expect(root.body).toBe(INDEX);

    const asset = await app.inject({ method: 'GET', url: '/assets/index-3f9a1c.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');

    const icon = await app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache'); // not hashed: may change under the same name
  });

  it("answers the app's own URLs with index.html, so a reload of /contacts/:id works", async () => {
    for (const url of ['/contacts/42', '/campaigns/7?tab=funnel', '/imports']) {
      const res = await app.inject({ method: 'GET', url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toBe(INDEX);
      expect(res.headers['cache-control'], url).toBe('no-cache');
    }
    // a missing file that is not a page (a stale asset, a script) is a 404, not the page
    const stale = await app.inject({ method: 'GET', url: '/assets/index-000000.js', headers: { accept: '*/*' } });
    expect(stale.statusCode).toBe(404);
  });

  it("never shadows the API, its docs, MCP, tracking links or the probes", async () => {
    const unknownApi = await app.inject({ method: 'GET', url: '/api/no-such-resource', headers: html });
    expect(unknownApi.statusCode).toBe(404);
    expect(unknownApi.headers['content-type']).toContain('application/json');

    const needsKey = await app.inject({ method: 'GET', url: '/api/contacts', headers: html });
    expect(needsKey.statusCode).toBe(401);
    expect(needsKey.json().message).toContain('missing API key');

    for (const url of ['/metrics', '/t/o/not-a-token', '/u/not-a-token', '/mcp', '/docs/json', '/health']) {
      const res = await app.inject({ method: 'GET', url, headers: html });
      expect(res.body, url).not.toBe(INDEX);
    }
    const docs = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(docs.statusCode).toBe(200);
    expect(docs.json().openapi).toMatch(/^3\./);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  });

  it('refuses paths that climb out of web/dist', async () => {
    for (const url of ['/..%2F..%2F..%2Fetc%2Fpasswd', '/assets/..%2F..%2Fpackage.json']) {
      const res = await app.inject({ method: 'GET', url, headers: { accept: '*/*' } });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('root:');
      expect(res.body, url).not.toContain('barton-outreach');
    }
  });

  it('still starts without a build, and says how to make one', async () => {
    const res = await bare.inject({ method: 'GET', url: '/', headers: html });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build:web');
    expect((await bare.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
