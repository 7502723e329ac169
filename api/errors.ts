import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isConnectionError } from '../db/pool';
import { ErrorResponse, NoContent } from './schemas/common';

/** An error the API answers with as it is: status, short code, message, optional details. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const MAX_DETAILS = 50;
/** Seconds a client should wait after a 503 for a database outage (Postgres restarts take a few). */
const DB_RETRY_AFTER_S = 5;

/** Zod's path (['rows', 3, 'email']) as a readable field name: rows[3].email. */
export function fieldName(path: PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '');
}

/** One error shape for every failure: {error, message, details?, requestId}. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const requestId = request.id;
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        field: fieldName(v.instancePath.split('/').filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p))) || err.validationContext || 'body',
        message: v.message,
      }));
      const fields = issues.slice(0, MAX_DETAILS).map((i) => i.field);
      return reply.code(400).send({
        error: 'Bad Request',
        message: `invalid ${fields.slice(0, 5).join(', ')}${issues.length > 5 ? ` and ${issues.length - 5} more` : ''}`,
        details: { issues: issues.slice(0, MAX_DETAILS), total: issues.length },
        requestId,
      });
    }
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).headers(err.headers).send({
        error: statusText(err.statusCode),
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
        requestId,
      });
    }
    if (isConnectionError(err)) {
      // Postgres is down or dropped the connection: nothing was committed; the client may retry.
      request.log.warn({ err }, 'database unavailable');
      return reply.code(503).header('retry-after', String(DB_RETRY_AFTER_S)).send({
        error: statusText(503),
        message: 'the database is unavailable; nothing was stored; retry later',
        requestId,
      });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(status).send({
      error: statusText(status),
      message: status >= 500 ? 'internal error; see the server log for this requestId' : err.message,
      requestId,
    });
  });
  // A known path asked with another method answers 405 naming the methods it has (Allow).
  const paths: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    if (route.url === '*' || route.url === '/*') return; // CORS preflight for every path
    const source = route.url
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')))
      .join('/');
    paths.push({ pattern: new RegExp(`^${source}$`), methods: [route.method].flat() });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = [...new Set(paths.filter((p) => p.pattern.test(path)).flatMap((p) => p.methods))];
    if (allowed.length && !allowed.includes(request.method)) {
      return reply.code(405).header('allow', allowed.join(', ')).send({
        error: statusText(405),
        message: `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`,
        requestId: request.id,
      });
    }
    return reply.code(404).send({ error: 'Not Found', message: `no route ${request.method} ${request.url}`, requestId: request.id });
  });
}

const FRAMEWORK_ERRORS: Record<string, { error: string; message: string }> = {
  FST_ERR_MAX_PARAM_LENGTH: { error: 'URI Too Long', message: 'a path parameter exceeds 4096 characters' },
  FST_ERR_BAD_URL: { error: 'Bad Request', message: 'the path is not valid percent-encoded UTF-8' },
};

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route (an overlong or
 * malformed path), answered in the same error shape as everything else.
 */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode ?? 400;
  const known = FRAMEWORK_ERRORS[err.code];
  void reply.code(status).send({ error: known?.error ?? statusText(status), message: known?.message ?? err.message, requestId: request.id });
}

const texts: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  412: 'Precondition Failed', 413: 'Payload Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
  500: 'Internal Server Error', 503: 'Service Unavailable',
};
const statusText = (status: number) => texts[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');

const errorResponse = (description: string) => ErrorResponse.describe(description);
const COMMON_RESPONSES = {
  input: { 400: errorResponse('Bad Request: a parameter or the body is invalid (details.issues name the fields)') },
  body: {
    413: errorResponse('Payload Too Large: the body exceeds the size limit'),
    415: errorResponse('Unsupported Media Type: send the body as application/json'),
  },
  auth: {
    401: errorResponse('Unauthorized: missing, invalid or revoked API key'),
    403: errorResponse('Forbidden: the API key lacks the scope this operation needs'),
    429: errorResponse('Too Many Requests: the key\'s rate limit is spent; retry after Retry-After seconds'),
  },
  params: { 414: errorResponse('URI Too Long: a path parameter exceeds 4096 characters as sent') },
  database: { 503: errorResponse('Service Unavailable: the database is unreachable; nothing was stored; retry after Retry-After seconds') },
};

/**
 * Documents in every route's schema the error answers it can give besides its own (a route's own
 * entry wins): 400 for bad parameters or bodies, 414 for overlong path parameters, 413/415 for
 * bodies, 401/403/429 for keyed routes, 503 when the database is down; and 204 as a response
 * without content. An onRoute hook added before any route, so the OpenAPI document says what the
 * API answers.
 */
export function documentCommonResponses(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    // a route that documents no response may not answer JSON (the tracking pixel and pages)
    if (!schema?.response || schema.hide) return;
    const methods = [route.method].flat();
    const takesBody = methods.some((m) => ['POST', 'PUT', 'PATCH'].includes(m));
    const hasInput = takesBody || ['params', 'querystring', 'headers', 'body'].some((part) => schema[part]);
    const isPublic = Boolean(route.config?.public);
    const own = (schema.response ?? {}) as Record<string, unknown>;
    route.schema = {
      ...schema,
      response: {
        ...(hasInput ? COMMON_RESPONSES.input : {}),
        ...(schema.params ? COMMON_RESPONSES.params : {}),
        ...(takesBody ? COMMON_RESPONSES.body : {}),
        ...(isPublic ? {} : COMMON_RESPONSES.auth),
        // the open health check answers without the database
        ...(isPublic && !hasInput ? {} : COMMON_RESPONSES.database),
        ...own,
        ...(own[204] ? { 204: NoContent } : {}),
      },
    };
  });
}
