import type { FastifyRequest } from 'fastify';
import type { AuditContext } from '../db/audit';

/** Who a request's writes are audited as: its key's name, this request's id, and the workflow it acts on. */
export const auditContext = (request: FastifyRequest, workflowId?: string): AuditContext => ({
  actor: request.apiKey?.name ?? 'anonymous',
  requestId: request.id,
  ...(workflowId === undefined ? {} : { workflowId }),
});
