// MCP over Streamable HTTP at /mcp, mounted on the API app by its entry points (api/server.ts,
// scripts/dev.ts) after buildApp, so the API itself knows nothing of MCP. The same API keys, scopes
// and rate limits. Stateless (a server and transport per request, JSON responses): any API
// instance can answer.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpServer } from './server';
import { injectingApi } from './api-call';

export const mcpPlugin: FastifyPluginAsync = async (app) => {
  // /mcp needs "read" (checked here by the auth hook); each tool calls the API with the caller's
  // key, which asks for "write" where REST callers need it.
  app.post('/mcp', { config: { scope: 'read' }, schema: { hide: true } }, async (request, reply) => {
    const server = createMcpServer({ api: injectingApi(app, request.headers.authorization!) });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });
  const notAllowed = async (_request: unknown, reply: FastifyReply) =>
    reply.code(405).header('allow', 'POST').send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; POST JSON-RPC messages' }, id: null });
  app.get('/mcp', { config: { scope: 'read' }, schema: { hide: true } }, notAllowed);
  app.delete('/mcp', { config: { scope: 'read' }, schema: { hide: true } }, notAllowed);
};
