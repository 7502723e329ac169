import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { InvalidCursorError } from '../../db/cursor';
import { createMasterDataRepository } from '../../db/master-data';
import { ErrorResponse, MergeBody, MergeResult } from '../schemas/common';
import { CompanyDetail, CompanyListQuery, CompanyPage, CompanyParams } from '../schemas/companies';
import { HttpError } from '../errors';
import { auditContext } from '../audit-context';

const MERGE_REFUSAL_STATUS = { invalid: 400, not_found: 404, conflict: 409 } as const;

const companyRoutes: FastifyPluginAsyncZod = async (app) => {
  const masterData = createMasterDataRepository(app.pg);

  app.get('/api/companies', {
    schema: {
      summary: 'Golden company records: search by name, filter by domain, cursor pagination',
      tags: ['companies'],
      querystring: CompanyListQuery,
      response: { 200: CompanyPage, 400: ErrorResponse },
    },
  }, async (request) => {
    const page = await masterData.companyPage(request.query).catch((err) => {
      if (err instanceof InvalidCursorError) throw new HttpError(400, err.message, { issues: [{ field: 'cursor', message: err.reason }] });
      throw err;
    });
    return page;
  });

  app.get('/api/companies/:id', {
    schema: {
      summary: 'A golden company record with its people, sources and history',
      tags: ['companies'],
      params: CompanyParams,
      response: { 200: CompanyDetail, 404: ErrorResponse },
    },
  }, async (request) => {
    const { id } = request.params;
    const company = await masterData.companyDetail(id);
    if (!company) throw new HttpError(404, `no company ${id}`);
    return company as unknown as z.infer<typeof CompanyDetail>;
  });

  app.post('/api/companies/:id/merge', {
    config: { scope: 'write' },
    schema: {
      summary: 'Merge this company into another (the survivor): slots, keys and people move, history keeps the merged record',
      description: 'Idempotent: repeating a merge that already happened answers already_merged: true.',
      tags: ['companies'],
      params: CompanyParams,
      body: MergeBody,
      response: { 200: MergeResult, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request) => {
    const merge = await masterData.merge('company', request.params.id, request.body.into, auditContext(request));
    if ('refused' in merge) throw new HttpError(MERGE_REFUSAL_STATUS[merge.refused], merge.message, merge.details);
    return merge;
  });
};

export default companyRoutes;
