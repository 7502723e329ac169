import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { promoteContactsWorkflow } from '../../workflows/promote';
import type { PromotionScope } from '../../contracts/promote';
import { workflowIds, workflowTypes } from '../../contracts/ids';
import { searchAttributes } from '../../contracts/search-attributes';
import { ErrorResponse, WaitQuery } from '../schemas/common';
import { PromoteAccepted, PromoteBody, PromoteWaitResponse } from '../schemas/promote';
import { startOrFind, statusOf } from '../workflow-runs';

const promoteRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post('/api/promote', {
    config: { scope: 'write' },
    schema: {
      summary: 'Promote pending loads (a batch, listed loads, or all pending) into vault.contacts',
      tags: ['promote'],
      body: PromoteBody,
      querystring: WaitQuery,
      response: { 200: PromoteWaitResponse, 202: PromoteAccepted, 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const { batch_id, load_ids } = request.body;
    const scope: PromotionScope = batch_id ? { batchId: batch_id } : load_ids ? { loadIds: [...new Set(load_ids)].sort((a, b) => a - b) } : {};
    // A batch is promoted once (a repeat returns that run); "all pending" and listed loads may
    // run again once the previous run has closed, and join it while it runs.
    const run = await startOrFind<typeof promoteContactsWorkflow>(app.temporal, workflowTypes.promote, {
      workflowId: workflowIds.promote(batch_id ?? (scope.loadIds ? `loads:${digest(scope.loadIds)}` : 'pending')),
      taskQueue: app.config.TASK_QUEUE,
      workflowIdReusePolicy: batch_id ? 'ALLOW_DUPLICATE_FAILED_ONLY' : 'ALLOW_DUPLICATE',
      args: [{ scope, actor: request.apiKey?.name, chunkSize: app.config.PROMOTE_CHUNK_SIZE, chunksPerRun: app.config.CHUNKS_PER_RUN }],
      typedSearchAttributes: batch_id ? [{ key: searchAttributes.BatchId, value: batch_id }] : [],
    });
    if (request.query.wait) {
      const counts = await run.handle.result();
      return reply.code(200).send({ success: true, workflow_id: run.handle.workflowId, existing: run.existing, counts });
    }
    return reply.code(202).send({
      workflow_id: run.handle.workflowId,
      run_id: run.runId,
      status: run.existing ? await statusOf(run.handle) : 'RUNNING',
      existing: run.existing,
    });
  });
};

const digest = (ids: number[]) => createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 16);

export default promoteRoutes;
