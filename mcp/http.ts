// MCP over Streamable HTTP at /mcp, inside the API: the same API keys, scopes and rate limits.
// Stateless (a server and transport per request, JSON responses): any API instance can answer.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpServer, type ApiCall } from './server';

/** Calls the REST API in-process with a given Authorization header. */
export function injectingApi(app: FastifyInstance, authorization: string): ApiCall {
  return async (method, url, body) => {
    const res = await app.inject({ method, url, headers: { authorization }, ...(body === undefined ? {} : { payload: body as object }) });
    let parsed: unknown;
    try {
      parsed = res.json();
    } catch {
      parsed = { message: res.body };
    }
    return { statusCode: res.statusCode, body: parsed };
  };
}

export const mcpRoutes: FastifyPluginAsync = async (app) => {
  // Reading tools need "read" (checked here by the auth hook); tools that start workflows go
  // through the API, which asks for "write" as it does for REST callers.
  app.post('/mcp', { config: { scope: 'read' }, schema: { hide: true } }, async (request, reply) => {
    const server = createMcpServer({ pool: app.pg, api: injectingApi(app, request.headers.authorization!) });
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
