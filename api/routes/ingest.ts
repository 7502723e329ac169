import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import { withTransaction } from '../../db/pool';
import { ingestBatchWorkflow, ingestProgressQuery } from '../../workflows/ingest';
import { searchAttributes, workflowIds } from '../../workflows/shared';
import { ErrorResponse, WaitQuery } from '../schemas/common';
import { BatchParams, BatchStatus, IngestAccepted, IngestBody, IngestWaitResponse } from '../schemas/ingest';
import { HttpError } from '../errors';
import { startOrFind, statusOf, withTimeout } from '../workflow-runs';

const ingestRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post('/api/ingest', {
    config: { scope: 'write' },
    schema: {
      summary: 'Stage rows and start the ingest workflow ingest:<batch_id>',
      tags: ['ingest'],
      body: IngestBody,
      querystring: WaitQuery,
      response: { 200: IngestWaitResponse, 202: IngestAccepted, 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const { source, batch_id, rows, promote } = request.body;
    const actor = request.apiKey?.name;
    // Rows are staged in Postgres (one statement) and never travel in workflow payloads.
    // A batch_id seen before stages nothing: the request gets the existing run instead.
    const staged = await withTransaction(app.pg, async (db) => {
      const batch = await db.query(
        `insert into intake.batches (batch_id, source, row_count, actor) values ($1, $2, $3, $4)
         on conflict (batch_id) do nothing returning batch_id`,
        [batch_id, source, rows.length, actor],
      );
      if (!batch.rowCount) return false;
      await db.query(
        `insert into intake.batch_rows (batch_id, row_no, payload)
         select $1, t.ord, t.value from jsonb_array_elements($2::jsonb) with ordinality as t(value, ord)`,
        [batch_id, JSON.stringify(rows)],
      );
      return true;
    });
    const { rows: [batch] } = await app.pg.query('select source, row_count from intake.batches where batch_id = $1', [batch_id]);

    const run = await startOrFind(app.temporal, ingestBatchWorkflow, {
      workflowId: workflowIds.ingest(batch_id),
      taskQueue: app.config.TASK_QUEUE,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      args: [{ batchId: batch_id, source: batch.source, rowCount: batch.row_count, chunkSize: app.config.INGEST_CHUNK_SIZE, chunksPerRun: app.config.CHUNKS_PER_RUN, actor, promote }],
      typedSearchAttributes: [
        { key: searchAttributes.Source, value: batch.source },
        { key: searchAttributes.BatchId, value: batch_id },
        { key: searchAttributes.ContactCount, value: batch.row_count },
      ],
      memo: { actor },
    });
    const existing = run.existing || !staged;
    if (request.query.wait) {
      const result = await run.handle.result();
      return reply.code(200).send({
        success: true,
        batch_id,
        workflow_id: run.handle.workflowId,
        existing,
        counts: { inserted: result.inserted, skipped: result.skipped },
        promotion: result.promotion,
      });
    }
    return reply.code(202).send({
      batch_id,
      workflow_id: run.handle.workflowId,
      run_id: run.runId,
      status: existing ? await statusOf(run.handle) : 'RUNNING',
      existing,
    });
  });

  app.get('/api/ingest/:batchId', {
    schema: {
      summary: 'Status, progress and database counts of an ingest batch',
      tags: ['ingest'],
      params: BatchParams,
      response: { 200: BatchStatus, 404: ErrorResponse },
    },
  }, async (request) => {
    const { batchId } = request.params;
    const { rows: [batch] } = await app.pg.query(
      'select batch_id, source, row_count, created_at from intake.batches where batch_id = $1',
      [batchId],
    );
    if (!batch) throw new HttpError(404, `no batch "${batchId}"`);
    const { rows: statusRows } = await app.pg.query(
      'select status, count(*)::int as n from intake.raw_loads where batch_id = $1 group by status',
      [batchId],
    );
    const counts = { pending: 0, duplicate: 0, promoted: 0, failed: 0 };
    for (const r of statusRows) counts[r.status as keyof typeof counts] = r.n;

    const workflowId = workflowIds.ingest(batchId);
    const handle = app.temporal.workflow.getHandle<typeof ingestBatchWorkflow>(workflowId);
    let status = 'UNKNOWN';
    let progress: unknown;
    let result: unknown;
    try {
      status = await statusOf(handle);
      // a query needs a live worker: without one, answer with the database counts alone
      if (status === 'RUNNING') progress = await withTimeout(handle.query(ingestProgressQuery), 2000).catch(() => undefined);
      if (status === 'COMPLETED') result = await handle.result();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      status = 'NOT_STARTED';
    }
    return {
      batch_id: batch.batch_id,
      source: batch.source,
      row_count: batch.row_count,
      created_at: batch.created_at.toISOString(),
      workflow_id: workflowId,
      status,
      progress,
      result,
      counts,
    };
  });
};

export default ingestRoutes;
