import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse } from '../schemas/common';
import { NoContent } from '../schemas/campaigns';
import { Suppression, SuppressionAdded, SuppressionBody, SuppressionPage, SuppressionParams, SuppressionQuery } from '../schemas/suppressions';
import { HttpError } from '../errors';

/**
 * The explicit suppression list. Unsubscribes, hard bounces and complaints land here by
 * themselves; people add addresses by hand. Every campaign leaves these addresses out, at
 * target selection and again at each send.
 */
const suppressionRoutes: FastifyPluginAsyncZod = async (app) => {
  const tags = ['suppressions'];
  app.post('/api/suppressions', {
    config: { scope: 'write' },
    schema: { summary: 'Suppress addresses in every campaign', tags, body: SuppressionBody, response: { 200: SuppressionAdded, 400: ErrorResponse } },
  }, async (request) => {
    const emails = [...new Set(request.body.emails.map((e) => e.trim().toLowerCase()))];
    const { rowCount } = await app.pg.query(
      `insert into marketing.suppressions (email, reason, source)
       select e, $2, $3 from unnest($1::text[]) as e on conflict (email) do nothing`,
      [emails, request.body.reason, `api:${request.apiKey?.name ?? 'unknown'}`],
    );
    return { added: rowCount ?? 0, already: emails.length - (rowCount ?? 0) };
  });

  app.get('/api/suppressions', {
    schema: { summary: 'The suppression list, cursor-paginated by email', tags, querystring: SuppressionQuery, response: { 200: SuppressionPage } },
  }, async (request) => {
    const { cursor, limit } = request.query;
    const { rows } = await app.pg.query(
      `select email, reason, source, outreach_id, created_at from marketing.suppressions where email > $1 order by email limit $2`,
      [cursor ?? '', limit + 1],
    );
    const page = rows.slice(0, limit);
    return { suppressions: page, next_cursor: rows.length > limit ? page[page.length - 1].email : null };
  });

  app.get('/api/suppressions/:email', {
    schema: { summary: 'Whether and why an address is suppressed', tags, params: SuppressionParams, response: { 200: Suppression, 404: ErrorResponse } },
  }, async (request) => {
    const { rows } = await app.pg.query('select email, reason, source, outreach_id, created_at from marketing.suppressions where email = $1', [request.params.email.toLowerCase()]);
    if (!rows.length) throw new HttpError(404, `${request.params.email} is not suppressed`);
    return rows[0];
  });

  // Only hand-made entries come off the list: an unsubscribe, a bounce or a complaint is the
  // recipient's (or their server's) decision, not ours.
  app.delete('/api/suppressions/:email', {
    config: { scope: 'write' },
    schema: { summary: 'Remove a manual suppression', tags, params: SuppressionParams, response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const email = request.params.email.toLowerCase();
    const { rows } = await app.pg.query('select reason from marketing.suppressions where email = $1', [email]);
    if (!rows.length) throw new HttpError(404, `${email} is not suppressed`);
    if (rows[0].reason !== 'manual') throw new HttpError(409, `${email} is suppressed as ${rows[0].reason}; that is not lifted through the API`);
    await app.pg.query(`delete from marketing.suppressions where email = $1 and reason = 'manual'`, [email]);
    return reply.code(204).send(null);
  });
};

export default suppressionRoutes;
