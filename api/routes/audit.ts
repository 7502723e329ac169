import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createAuditRepository } from '../../db/audit';
import { InvalidCursorError } from '../../db/cursor';
import { AuditPage, AuditQuery } from '../schemas/audit';
import { ErrorResponse } from '../schemas/common';
import { HttpError } from '../errors';

/** The audit log (intake.audit_log), for admins: every operation, who made it, before and after. */
const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  const audit = createAuditRepository(app.pg);
  app.get('/api/audit', {
    config: { scope: 'admin' },
    schema: {
      summary: 'The audit log, newest first: filter by entity, entity_id, actor, action and time; keyset cursor',
      tags: ['audit'], querystring: AuditQuery, response: { 200: AuditPage, 400: ErrorResponse },
    },
  }, async (request) => {
    try {
      const page = await audit.page(request.query);
      return { entries: page.rows, next_cursor: page.nextCursor };
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new HttpError(400, err.message, { issues: [{ field: 'cursor', message: err.reason }] });
      throw err;
    }
  });
};

export default auditRoutes;
