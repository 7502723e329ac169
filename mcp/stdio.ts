// npm run mcp: the MCP server over stdio for local agents (Claude Desktop, Cursor, …).
// It runs the API in-process and acts with the API key in MCP_API_KEY (same keys and scopes as REST).
// stdout carries the protocol: everything else goes to stderr.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { connectClient } from '../clients/temporal';
import { findApiKey } from '../db/api-keys';
import { buildApp } from '../api/app';
import { createMcpServer } from './server';
import { injectingApi } from './api-call';

let config;
try {
  config = loadConfig(['DATABASE_URL', 'MCP_API_KEY']);
} catch (err) {
  exitOnConfigError(err);
}
const pool = createPool(config.DATABASE_URL);
if (!(await findApiKey(pool, config.MCP_API_KEY))) {
  console.error('MCP_API_KEY: invalid or revoked API key (create one with npm run apikey:create)');
  await pool.end();
  process.exit(1);
}
const temporal = await connectClient(config);
const app = await buildApp({ pool, temporal, config, ownsServices: true });
await app.ready();
const server = createMcpServer({ api: injectingApi(app, `Bearer ${config.MCP_API_KEY}`) });
const transport = new StdioServerTransport();
transport.onclose = () => void app.close();
process.stdin.on('end', () => void app.close().then(() => process.exit(0)));
await server.connect(transport);
console.error('barton-outreach MCP server on stdio');
