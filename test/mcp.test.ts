// The seed's "MCP Orchestration Flow" driven by the MCP SDK's own client, over Streamable HTTP
// (/mcp in the API) and over stdio (npm run mcp as a child process).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client as TemporalClient } from '@temporalio/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { asAppRole, bearer, temporalClient, testConfig, testDatabase, uniqueId, type TestDatabase } from './support/harness';
import { PROFILE_ACTOR, providerEnv, startEnrichStack } from './support/enrich-stack';
import { startApolloFake, type ApolloFake } from './fakes/apollo';
import { startApifyFake, type ApifyFake } from './fakes/apify';
import { buildApp, type App } from '../api/app';
import { mcpPlugin } from '../mcp/http';

let db: TestDatabase;
let temporal: TemporalClient;
let apollo: ApolloFake;
let apify: ApifyFake;
let stack: Awaited<ReturnType<typeof startEnrichStack>>;
let app: App;
let baseUrl: string;
let env: Record<string, string>;
let writerKey: string;
let readerKey: string;
const root = fileURLToPath(new URL('..', import.meta.url));

beforeAll(async () => {
  db = await testDatabase();
  temporal = await temporalClient();
  apollo = await startApolloFake();
  apify = await startApifyFake({ actors: { [PROFILE_ACTOR]: () => ({ items: [] }) } });
  env = providerEnv(apollo, apify, uniqueId('mcp'));
  stack = await startEnrichStack(db.pool, env);
  // mounted as api/server.ts mounts it: after buildApp
  app = await buildApp({ pool: asAppRole(db.pool), temporal, config: testConfig(env) });
  await app.register(mcpPlugin);
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  writerKey = (await bearer(db.pool, ['read', 'write'], 10_000, 'mcp-agent')).authorization.slice(7);
  readerKey = (await bearer(db.pool, ['read'], 10_000, 'mcp-reader')).authorization.slice(7);
});

afterAll(async () => {
  await app?.close();
  await stack?.stop();
  await temporal?.connection.close();
  await apollo?.close();
  await apify?.close();
  await db?.drop();
});

const httpClient = async (key?: string) => {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), key ? { requestInit: { headers: { authorization: `Bearer ${key}` } } } : {}));
  return client;
};

const stdioClient = async () => {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', 'mcp/stdio.ts'],
    cwd: root,
    env: { ...(process.env as Record<string, string>), ...env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), MCP_API_KEY: writerKey, LOG_LEVEL: 'silent' },
    stderr: 'pipe',
  }));
  return client;
};

type Tool = Awaited<ReturnType<Client['callTool']>>;
const data = (r: Tool) => {
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return JSON.parse((r.content as { text: string }[])[0].text);
};
const errorText = (r: Tool) => {
  expect(r.isError).toBe(true);
  return (r.content as { text: string }[])[0].text;
};

/** ingest → promote → find → enrich → status → contact: what an agent does with the seed's flow. */
async function seedFlow(client: Client) {
  const tag = uniqueId('flow').replace(/\W/g, '');
  const domain = `${tag}.example`;
  apollo.addPerson({ id: `${tag}-1`, email: `ada@${domain}`, title: 'CTO', linkedin_url: `https://www.linkedin.com/in/${tag}-ada`, organization: { name: 'Engines', primary_domain: domain } });

  const tools = (await client.listTools()).tools.map((t) => t.name).sort();
  expect(tools).toEqual(['enrich_contacts', 'get_contact', 'get_workflow_status', 'ingest_rows', 'promote_batch', 'search_contacts']);

  const ingested = data(await client.callTool({ name: 'ingest_rows', arguments: { source: 'agent', batch_id: tag, rows: [{ email: `ada@${domain}`, first_name: 'Ada', company_domain: domain }, { email: `alan@${domain}`, first_name: 'Alan', company_domain: domain }] } }));
  expect(ingested).toMatchObject({ workflow_id: `ingest:${tag}`, counts: { inserted: 2, skipped: 0 } });
  const promoted = data(await client.callTool({ name: 'promote_batch', arguments: { batch_id: tag } }));
  expect(promoted.counts).toEqual({ promoted: 2, updated: 0, failed: 0 });

  const found = data(await client.callTool({ name: 'search_contacts', arguments: { company_domain: domain } }));
  expect(found.contacts.map((c: { email: string }) => c.email).sort()).toEqual([`ada@${domain}`, `alan@${domain}`]);
  const ids = found.contacts.map((c: { contact_id: number }) => c.contact_id);
  // the API's word search and cursors
  const alan = data(await client.callTool({ name: 'search_contacts', arguments: { query: 'ala', company_domain: domain } }));
  expect(alan.contacts.map((c: { email: string }) => c.email)).toEqual([`alan@${domain}`]);
  const first = data(await client.callTool({ name: 'search_contacts', arguments: { company_domain: domain, limit: 1 } }));
  const second = data(await client.callTool({ name: 'search_contacts', arguments: { company_domain: domain, limit: 1, cursor: first.next_cursor } }));
  expect([...first.contacts, ...second.contacts].map((c: { contact_id: number }) => c.contact_id).sort()).toEqual([...ids].sort());
  expect(errorText(await client.callTool({ name: 'search_contacts', arguments: { query: 'a' } }))).toMatch(/query/);

  const enriched = data(await client.callTool({ name: 'enrich_contacts', arguments: { request_id: tag, contact_ids: ids, providers: ['apollo'] } }));
  expect(enriched).toMatchObject({ workflow_id: `enrich:${tag}`, result: { requested: 2, enriched_count: 1, promoted_count: 1, skipped_fresh: 0, failed: 0, providers: { apollo: { credits: 1 } } } });

  const status = data(await client.callTool({ name: 'get_workflow_status', arguments: { workflow_id: `enrich:${tag}` } }));
  expect(status).toMatchObject({ status: 'COMPLETED', type: 'enrichContactsWorkflow', result: { enriched_count: 1 } });

  const ada = data(await client.callTool({ name: 'get_contact', arguments: { email: `ada@${domain}` } }));
  expect(ada).toMatchObject({ title: 'CTO', company_name: 'Engines', intelligence: [{ provider: 'apollo', matched: true }] });

  // a bad argument is a tool error naming the argument, not a crash or a protocol failure
  const bad = errorText(await client.callTool({ name: 'enrich_contacts', arguments: { contact_ids: 'all of them' } }));
  expect(bad).toMatch(/contact_ids/);
  // a bad value the API rejects comes back with the API's reason and field
  const rejected = errorText(await client.callTool({ name: 'ingest_rows', arguments: { source: 'agent', batch_id: `${tag}-bad`, rows: [{ email: 'x@y.example' }, { title: 'no way to find this one' }] } }));
  expect(rejected).toMatch(/^400 Bad Request: .*rows\[1\]\.email: a row needs an email, a linkedin_url or a name/);
  const missing = errorText(await client.callTool({ name: 'get_workflow_status', arguments: { workflow_id: 'enrich:never-started' } }));
  expect(missing).toMatch(/^404/);
}

describe('MCP server', () => {
  it('runs the seed flow over Streamable HTTP', async () => {
    const client = await httpClient(writerKey);
    try {
      await seedFlow(client);
    } finally {
      await client.close();
    }
  });

  it('runs the seed flow over stdio', async () => {
    const client = await stdioClient();
    try {
      await seedFlow(client);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('/mcp uses the API keys and scopes: no key → 401, a read-only key cannot start workflows', async () => {
    await expect(httpClient()).rejects.toThrow(/Unauthorized.*missing API key/);
    const get = await fetch(`${baseUrl}/mcp`, { headers: { authorization: `Bearer ${readerKey}`, accept: 'text/event-stream' } });
    expect(get.status).toBe(405); // stateless server: no standalone SSE stream
    const reader = await httpClient(readerKey);
    try {
      const denied = errorText(await reader.callTool({ name: 'enrich_contacts', arguments: { contact_ids: [1] } }));
      expect(denied).toMatch(/^403 Forbidden: this API key lacks the "write" scope/);
      expect(data(await reader.callTool({ name: 'search_contacts', arguments: { limit: 1 } }))).toHaveProperty('contacts');
    } finally {
      await reader.close();
    }
  });
});
