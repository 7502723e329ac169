import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse } from '../schemas/common';
import { NoContent } from '../schemas/campaigns';
import { Suppression, SuppressionAdded, SuppressionBody, SuppressionPage, SuppressionParams, SuppressionQuery } from '../schemas/suppressions';
import { HttpError } from '../errors';
import { createSuppressionsRepository } from '../../db/suppressions';

/**
 * The explicit suppression list. Unsubscribes, hard bounces and complaints land here by
 * themselves; people add addresses by hand. Every campaign leaves these addresses out, at
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
    const added = await suppressions.add(emails, request.body.reason, `api:${request.apiKey?.name ?? 'unknown'}`);
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

  // Only hand-made entries come off the list: an unsubscribe, a bounce or a complaint is the
  // recipient's (or their server's) decision, not ours.
  app.delete('/api/suppressions/:email', {
    config: { scope: 'write' },
    schema: { summary: 'Remove a manual suppression', tags, params: SuppressionParams, response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const email = request.params.email.toLowerCase();
    const found = await suppressions.find(email);
    if (!found) throw new HttpError(404, `${email} is not suppressed`);
    if (found.reason !== 'manual') throw new HttpError(409, `${email} is suppressed as ${found.reason}; that is not lifted through the API`);
    await suppressions.removeManual(email);
    return reply.code(204).send(null);
  });
};

export default suppressionRoutes;
