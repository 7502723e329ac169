import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createApiKey, findApiKeyInfo, listApiKeys, revokeApiKey, rotateApiKey } from '../../db/api-keys';
import { InvalidCursorError } from '../../db/cursor';
import { ApiKeyBody, ApiKeyCreated, ApiKeyInfo, ApiKeyList, ApiKeyParams, ApiKeyQuery } from '../schemas/api-keys';
import { ErrorResponse } from '../schemas/common';
import { HttpError } from '../errors';
import { auditContext } from '../audit-context';

/**
 * API keys, for admins: list (never a secret), create, revoke and rotate, each audited. A revoked,
 * rotated-away or expired key is refused from its next request on, by every API process. An admin
 * sees and makes keys of its own workspace only: another workspace's prefix is not found (404).
 */
const apiKeyRoutes: FastifyPluginAsyncZod = async (app) => {
  const tags = ['api keys'];
  const config = { scope: 'admin' as const };
  const byPrefix = { params: ApiKeyParams };
  const workspaceOf = (request: FastifyRequest) => request.apiKey!.workspaceId; // admin scope: always a key
  const info = async (prefix: string, workspaceId: number) => {
    const k = await findApiKeyInfo(app.pg, prefix, workspaceId);
    if (!k) throw new HttpError(404, `no API key has prefix ${prefix}`);
    return k;
  };

  app.get('/api/keys', {
    config,
    schema: { summary: 'List API keys: prefix, name, scopes, created, last used, expires, revoked', tags, querystring: ApiKeyQuery, response: { 200: ApiKeyList, 400: ErrorResponse } },
  }, async (request) => {
    try {
      const page = await listApiKeys(app.pg, {
        workspaceId: workspaceOf(request), cursor: request.query.cursor, limit: request.query.limit, activeOnly: request.query.active,
      });
      return { keys: page.rows, next_cursor: page.nextCursor };
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new HttpError(400, err.message, { issues: [{ field: 'cursor', message: err.reason }] });
      throw err;
    }
  });

  app.post('/api/keys', {
    config,
    schema: { summary: 'Create an API key (the key is shown only in this answer)', tags, body: ApiKeyBody, response: { 201: ApiKeyCreated, 400: ErrorResponse } },
  }, async (request, reply) => {
    const b = request.body;
    const expiresAt = b.expires_at === undefined ? null : new Date(b.expires_at);
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new HttpError(400, 'invalid expires_at', { issues: [{ field: 'expires_at', message: 'must be in the future' }] });
    }
    const workspaceId = workspaceOf(request);
    const created = await createApiKey(app.pg, { name: b.name, scopes: b.scopes, rateLimitPerMinute: b.rate_limit_per_minute, expiresAt, workspaceId },
      auditContext(request));
    return reply.code(201).send({ ...(await info(created.apiKey.prefix, workspaceId)), key: created.key });
  });

  app.post('/api/keys/:prefix/revoke', {
    config,
    schema: { summary: 'Revoke a key: refused from its next request on', tags, ...byPrefix, response: { 200: ApiKeyInfo, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request) => {
    const { prefix } = request.params;
    const workspaceId = workspaceOf(request);
    const k = await info(prefix, workspaceId); // 404 when this workspace has none
    // answered once every process has been told
    if (!(await app.apiKeys.changing(prefix, () => revokeApiKey(app.pg, prefix, auditContext(request))))) {
      throw new HttpError(409, `API key ${prefix} ("${k.name}") was already revoked`);
    }
    return info(prefix, workspaceId);
  });

  app.post('/api/keys/:prefix/rotate', {
    config,
    schema: {
      summary: 'Rotate a key: a new key with the same name, scopes, limit and expiry; the old one is refused from its next request on',
      tags, ...byPrefix, response: { 201: ApiKeyCreated, 404: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request, reply) => {
    const { prefix } = request.params;
    const workspaceId = workspaceOf(request);
    await info(prefix, workspaceId); // 404 when this workspace has none
    const rotated = await app.apiKeys.changing(prefix, () => rotateApiKey(app.pg, prefix, auditContext(request)));
    if (!rotated) {
      const k = await info(prefix, workspaceId);
      throw new HttpError(409, `API key ${prefix} ("${k.name}") is ${k.revoked_at ? 'revoked' : 'expired'}; only an active key rotates`);
    }
    return reply.code(201).send({ ...(await info(rotated.apiKey.prefix, workspaceId)), key: rotated.key });
  });
};

export default apiKeyRoutes;
