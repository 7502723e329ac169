import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse } from '../schemas/common';
import { NoContent } from '../schemas/campaigns';
import { Suppression, SuppressionAdded, SuppressionBody, SuppressionLiftQuery, SuppressionPage, SuppressionParams, SuppressionQuery } from '../schemas/suppressions';
import { HttpError } from '../errors';
import { auditContext } from '../audit-context';
import { createSuppressionsRepository } from '../../db/suppressions';

/**
 * The explicit suppression list. Unsubscribes, hard bounces and complaints land here by
 * themselves; people add addresses by hand, and lift them (an admin lifts any). Every campaign leaves these addresses out, at
 * target selection and again at each send.
 */
const suppressionRoutes: FastifyPluginAsyncZod = async (app) => {
  const suppressions = createSuppressionsRepository(app.pg);
  const tags = ['suppressions'];
  app.post('/api/suppressions', {
    config: { scope: 'write' },
    schema: { summary: 'Suppress addresses in every campaign', tags, body: SuppressionBody, response: { 200: SuppressionAdded, 400: ErrorResponse } },
  }, async (request) => {
    const emails = [...new Set(request.body.emails.map((e) => e.trim().toLowerCase()))];
    const added = await suppressions.add(emails, request.body.reason, `api:${request.apiKey?.name ?? 'unknown'}`, auditContext(request));
    return { added, already: emails.length - added };
  });

  app.get('/api/suppressions', {
    schema: { summary: 'The suppression list, cursor-paginated by email', tags, querystring: SuppressionQuery, response: { 200: SuppressionPage } },
  }, async (request) => {
    const { cursor, limit } = request.query;
    const page = await suppressions.page(cursor, limit);
    return { suppressions: page.rows, next_cursor: page.nextCursor };
  });

  app.get('/api/suppressions/:email', {
    schema: { summary: 'Whether and why an address is suppressed', tags, params: SuppressionParams, response: { 200: Suppression, 404: ErrorResponse } },
  }, async (request) => {
    const found = await suppressions.find(request.params.email.toLowerCase());
    if (!found) throw new HttpError(404, `${request.params.email} is not suppressed`);
    return found;
  });

  // A hand-made entry comes off with write scope. An unsubscribe, a bounce or a complaint is the
  // recipient's (or their server's) decision: only an admin-scope key lifts one (say, after the
  // person asked to hear from us again, or a bounce turned out to be a provider's fault).
  // Every lift is audited (intake.audit_log, action suppression_lifted) with before and after.
  app.delete('/api/suppressions/:email', {
    config: { scope: 'write' },
    schema: {
      summary: 'Lift a suppression: manual ones with write scope, any other (and the contact status it set) with admin scope',
      tags, params: SuppressionParams, querystring: SuppressionLiftQuery,
      response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request, reply) => {
    const email = request.params.email.toLowerCase();
    const found = await suppressions.find(email);
    if (!found) throw new HttpError(404, `${email} is not suppressed`);
    const admin = request.apiKey?.scopes.includes('admin') ?? false;
    if (found.reason !== 'manual' && !admin) {
      throw new HttpError(409, `${email} is suppressed as ${found.reason}; only an admin-scope key lifts that`);
    }
    const lifted = await suppressions.lift(email, request.query.note ?? null, auditContext(request));
    if (!lifted) throw new HttpError(404, `${email} is not suppressed`);
    return reply.code(204).send(null);
  });
};

export default suppressionRoutes;
