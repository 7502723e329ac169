import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { CANONICAL_FIELDS, identifies, mapRecord, payloadOf, type SourceFormat } from '../../common/source-mappings';
import { csvLine } from '../../common/csv';
import { stageCsv } from '../csv-staging';
import { createIntakeRepository, type StagedBatch } from '../../db/intake';
import type { ingestBatchWorkflow } from '../../workflows/ingest';
import { ingestProgressQuery } from '../../contracts/ingest';
import { workflowIds, workflowTypes } from '../../contracts/ids';
import { searchAttributes } from '../../contracts/search-attributes';
import { ErrorResponse, WaitQuery } from '../schemas/common';
import { BatchParams, BatchStatus, ColumnMapping, CsvIngestQuery, IngestAccepted, IngestBody, IngestWaitResponse, SourceFormat as SourceFormatSchema } from '../schemas/ingest';
import { HttpError } from '../errors';
import { startOrFind, statusOf } from '../workflow-runs';
import { queryWorkflow } from '../../clients/temporal';

const IngestQuery = WaitQuery.extend(CsvIngestQuery.shape);

// JSON bodies are checked by the zod schema; a CSV body (a stream) or a multipart upload (read in
// the handler) is checked line by line while it streams.
const ingestValidator = (route: Parameters<typeof validatorCompiler>[0]) => {
  const zod = validatorCompiler(route);
  return route.httpPart === 'body' ? (data: unknown) => (data == null || data instanceof Readable ? { value: data } : zod(data)) : zod;
};

const ingestRoutes: FastifyPluginAsyncZod = async (app) => {
  const intake = createIntakeRepository(app.pg);
  // Multipart parsing for this route only (the tracking routes parse their own form posts).
  await app.register(multipart, { limits: { fileSize: app.config.CSV_UPLOAD_LIMIT_MB * 1024 * 1024, files: 1 } });
  // CSV bodies are not buffered: the handler reads them as a stream (see api/csv-staging.ts).
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));

  app.post('/api/ingest', {
    config: { scope: 'write' },
    validatorCompiler: ingestValidator as never,
    schema: {
      summary: 'Stage rows and start the ingest workflow ingest:<batch_id>',
      description:
        'JSON body `{source, batch_id, format, mapping?, rows}`; or a CSV file as a `text/csv` body (batch settings in the query: ' +
        '`source`, `batch_id`, `format`, `mapping` as JSON, `promote`) or as a multipart upload (the same settings as form fields before the file). ' +
        'CSV is parsed as a stream; a malformed file is rejected whole with 400 naming the line.',
      tags: ['ingest'],
      body: IngestBody,
      querystring: IngestQuery,
      response: { 200: IngestWaitResponse, 202: IngestAccepted, 400: ErrorResponse, 413: ErrorResponse },
    },
  }, async (request, reply) => {
    const actor = request.apiKey?.name;
    const body = request.body as unknown;
    if (request.isMultipart()) return ingestMultipart(request, reply);
    if (body instanceof Readable) {
      const settings = csvSettings(request.query);
      const staged = await stageCsv(intake, { ...settings, actor, maxBytes: app.config.CSV_UPLOAD_LIMIT_MB * 1048576 }, body);
      return startIngest(request, reply, settings.batchId, staged, settings.promote);
    }
    if (body == null) throw new HttpError(400, 'send a JSON body, a text/csv body or a multipart CSV upload');

    const { source, batch_id, rows, format, mapping } = request.body;
    // `promote` may come in the body or, as for CSV uploads, in the query
    const promote = request.body.promote || request.query.promote === 'true';
    // Source records → staged payloads (the record plus its canonical fields); every row must
    // still identify someone, else 400 naming the row and nothing is stored.
    const mapped = rows.map((row) => mapRecord(format, row, mapping));
    const payloads = rows.map((row, i) => payloadOf(row, mapped[i]));
    const unidentified = mapped.flatMap((m, i) => (identifies(m) ? [] : [i]));
    if (unidentified.length) {
      const issues = unidentified.slice(0, 50).map((i) => ({ field: `rows[${i}]`, message: 'a row needs an email, a LinkedIn URL or a name' }));
      throw new HttpError(400, `invalid ${issues.slice(0, 5).map((i) => i.field).join(', ')}`, { issues, total: unidentified.length });
    }
    // Rows are staged in Postgres and never travel in workflow payloads.
    // A batch_id seen before stages nothing: the request gets the existing run instead.
    const staged = await intake.stageBatch({ batchId: batch_id, source, actor }, () => payloads);
    return startIngest(request, reply, batch_id, staged, promote);
  });

  /** Multipart: settings come as fields (or query parameters); the first file part is the CSV. */
  async function ingestMultipart(request: FastifyRequest, reply: FastifyReply) {
    const fields: Record<string, string> = { ...(request.query as Record<string, string>) };
    for await (const part of multipartParts(request)) {
      if (part.type === 'field') {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      const settings = csvSettings(fields);
      // busboy ends a file at the size limit as if it were complete: fail the stream instead, so
      // the staging transaction rolls back rather than keep a truncated batch
      const tooLarge = () => new HttpError(413, `CSV upload exceeds ${app.config.CSV_UPLOAD_LIMIT_MB} MB`);
      part.file.once('limit', () => part.file.destroy(tooLarge()));
      const staged = await stageCsv(intake, { ...settings, actor: request.apiKey?.name, maxBytes: app.config.CSV_UPLOAD_LIMIT_MB * 1048576 }, part.file)
        .catch((err) => {
          // the cut-off last line may fail to parse before the limit event lands
          throw part.file.truncated ? tooLarge() : err;
        });
      return startIngest(request, reply, settings.batchId, staged, settings.promote);
    }
    throw new HttpError(400, 'the multipart upload has no file part', { field: 'file' });
  }

  /** Starts (or finds) ingest:<batch_id> for a staged batch and answers 202, or 200 with ?wait=true. */
  async function startIngest(request: FastifyRequest, reply: FastifyReply, batchId: string, batch: StagedBatch, promote: boolean) {
    const actor = request.apiKey?.name;
    const run = await startOrFind<typeof ingestBatchWorkflow>(app.temporal, workflowTypes.ingest, {
      workflowId: workflowIds.ingest(batchId),
      taskQueue: app.config.TASK_QUEUE,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      args: [{ batchId, source: batch.source, rowCount: batch.rowCount, chunkSize: app.config.INGEST_CHUNK_SIZE, chunksPerRun: app.config.CHUNKS_PER_RUN, actor, promote }],
      typedSearchAttributes: [
        { key: searchAttributes.Source, value: batch.source },
        { key: searchAttributes.BatchId, value: batchId },
        { key: searchAttributes.ContactCount, value: batch.rowCount },
      ],
      memo: { actor },
    });
    const existing = run.existing || !batch.staged;
    if ((request.query as { wait?: boolean }).wait) {
      const result = await run.handle.result();
      return reply.code(200).send({
        success: true,
        batch_id: batchId,
        workflow_id: run.handle.workflowId,
        existing,
        counts: { inserted: result.inserted, skipped: result.skipped },
        promotion: result.promotion,
      });
    }
    return reply.code(202).send({
      batch_id: batchId,
      workflow_id: run.handle.workflowId,
      run_id: run.runId,
      status: existing ? await statusOf(run.handle) : 'RUNNING',
      existing,
    });
  }

  app.get('/api/ingest/:batchId', {
    schema: {
      summary: 'Status, progress and database counts of an ingest batch',
      tags: ['ingest'],
      params: BatchParams,
      response: { 200: BatchStatus, 404: ErrorResponse },
    },
  }, async (request) => {
    const { batchId } = request.params;
    const batch = await intake.findBatch(batchId);
    if (!batch) throw new HttpError(404, `no batch "${batchId}"`);
    const counts = await intake.countLoadsByStatus(batchId);

    const workflowId = workflowIds.ingest(batchId);
    const handle = app.temporal.workflow.getHandle<typeof ingestBatchWorkflow>(workflowId);
    let status = 'UNKNOWN';
    let progress: unknown;
    let result: unknown;
    try {
      status = await statusOf(handle);
      // a query needs a live worker: without one, answer with the database counts alone
      if (status === 'RUNNING') progress = await queryWorkflow(handle, ingestProgressQuery, 2000).catch(() => undefined);
      if (status === 'COMPLETED') result = await handle.result();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      status = 'NOT_STARTED';
    }
    return {
      batch_id: batch.batchId,
      source: batch.source,
      row_count: batch.rowCount,
      created_at: batch.createdAt.toISOString(),
      workflow_id: workflowId,
      status,
      progress,
      result,
      counts,
    };
  });

  app.get('/api/ingest/:batchId/failed.csv', {
    schema: {
      summary: 'The failed rows of a batch with their reasons, as CSV',
      description: 'Columns: row_no, failure_reason, then every field of the rows as staged (the canonical fields first, then the ' +
        'others by name). RFC 4180 quoting; text cells a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) ' +
        'get a leading single quote. Streamed; only the header line when no row failed.',
      tags: ['ingest'],
      params: BatchParams,
      response: { 200: { description: 'the failed rows', content: { 'text/csv': { schema: z.string() } } }, 404: ErrorResponse },
    },
  }, async (request, reply) => {
    const { batchId } = request.params;
    if (!(await intake.findBatch(batchId))) throw new HttpError(404, `no batch "${batchId}"`);
    const canonical = new Map<string, number>(CANONICAL_FIELDS.map((f, i) => [f, i]));
    const keys = (await intake.failedRowKeys(batchId)).sort((a, b) =>
      (canonical.get(a) ?? Infinity) - (canonical.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0));
    const cell = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
    const pages = intake.failedRows(batchId);
    const lines = async function* () {
      yield csvLine(['row_no', 'failure_reason', ...keys]);
      for await (const page of pages) yield page.map((r) => csvLine([r.row_no, r.failure_reason, ...keys.map((k) => cell(r.raw[k]))])).join('');
    };
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="failed-rows-${batchId.replace(/[^\w.-]/g, '_')}.csv"`)
      .send(Readable.from(lines()) as never);
  });
};

/** The parts of a multipart upload; busboy's own errors (no boundary, a broken part) are the client's: 400. */
async function* multipartParts(request: FastifyRequest) {
  try {
    yield* request.parts();
  } catch (err) {
    const { statusCode, message } = err as FastifyError;
    throw err instanceof HttpError || statusCode ? err : new HttpError(400, `malformed multipart upload: ${message}`);
  }
}

const CsvSettings = z.object({
  source: CsvIngestQuery.shape.source.unwrap(),
  batch_id: CsvIngestQuery.shape.batch_id.unwrap(),
  format: SourceFormatSchema.default('manual'),
  mapping: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      try {
        return ColumnMapping.parse(JSON.parse(text));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'mapping must be a JSON object of CSV header → canonical field' });
        return z.NEVER;
      }
    }),
  promote: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

/** The batch settings of a CSV upload (query parameters or form fields); 400 naming the field. */
function csvSettings(values: Record<string, unknown>): { batchId: string; source: string; format: SourceFormat; mapping?: Record<string, string>; promote: boolean } {
  const parsed = CsvSettings.safeParse(values);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.') || 'query', message: i.message }));
    throw new HttpError(400, `invalid ${issues.map((i) => i.field).join(', ')}`, { issues, total: issues.length });
  }
  const { batch_id, source, format, mapping, promote } = parsed.data;
  return { batchId: batch_id, source, format, mapping, promote };
}

export default ingestRoutes;
