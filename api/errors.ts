import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isConnectionError } from '../db/pool';

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
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'Not Found', message: `no route ${request.method} ${request.url}`, requestId: request.id }),
  );
}

const texts: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict',
  412: 'Precondition Failed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests',
  500: 'Internal Server Error', 503: 'Service Unavailable',
};
const statusText = (status: number) => texts[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
