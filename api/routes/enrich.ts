import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse, WaitQuery } from '../schemas/common';
import { EnrichAccepted, EnrichBody, EnrichList, EnrichListQuery, EnrichParams, EnrichStatus, EnrichWaitResponse } from '../schemas/enrich';
import { createEnrichRepository } from '../../db/enrich';
import { HttpError } from '../errors';
import { statusOf } from '../workflow-runs';
import { enrichmentStatus, startEnrichment } from '../enrich-runs';

const enrichRoutes: FastifyPluginAsyncZod = async (app) => {
  const enrich = createEnrichRepository(app.pg);

  app.get('/api/enrich', {
    schema: {
      summary: 'Enrichment requests, newest first, with their ledgers\' counts (people, provider calls by status, matches, credits, write-back)',
      tags: ['enrich'],
      querystring: EnrichListQuery,
      response: { 200: EnrichList, 400: ErrorResponse },
    },
  }, async (request) => {
    const page = await enrich.listRequests(request.query.limit, request.query.cursor);
    return { runs: page.rows, next_cursor: page.nextCursor };
  });

  app.post('/api/enrich', {
    config: { scope: 'write' },
    schema: {
      summary: 'Enrich contacts with Apollo and Apify (workflow enrich:<request_id>)',
      tags: ['enrich'],
      body: EnrichBody,
      querystring: WaitQuery,
      response: { 200: EnrichWaitResponse, 202: EnrichAccepted, 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const run = await startEnrichment(app.temporal, app.config, request.body, request.apiKey?.name);
    if (request.query.wait) {
      const result = await run.handle.result();
      return reply.code(200).send({ success: true, workflow_id: run.handle.workflowId, existing: run.existing, result });
    }
    return reply.code(202).send({
      request_id: run.requestId,
      workflow_id: run.handle.workflowId,
      run_id: run.runId,
      status: run.existing ? await statusOf(run.handle) : 'RUNNING',
      existing: run.existing,
    });
  });

  app.get('/api/enrich/:id', {
    schema: {
      summary: 'Status, progress, result (counts per provider, credits) or failure of an enrichment request',
      tags: ['enrich'],
      params: EnrichParams,
      response: { 200: EnrichStatus, 404: ErrorResponse },
    },
  }, async (request) => {
    const status = await enrichmentStatus(app.temporal, request.params.id);
    if (!status) throw new HttpError(404, `no enrichment request "${request.params.id}"`);
    return status;
  });
};

export default enrichRoutes;
