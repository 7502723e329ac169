import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { companyRecord, companySources, history, jsonRow } from '../../db/master-data';
import { ErrorResponse, MergeBody, MergeResult } from '../schemas/common';
import { CompanyDetail, CompanyListQuery, CompanyPage, CompanyParams } from '../schemas/companies';
import { HttpError } from '../errors';
import { mergeMasters } from '../master-merges';

const companyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/api/companies', {
    schema: {
      summary: 'Golden company records: search by name, filter by domain, cursor pagination',
      tags: ['companies'],
      querystring: CompanyListQuery,
      response: { 200: CompanyPage, 400: ErrorResponse },
    },
  }, async (request) => {
    const { q, domain, limit, cursor } = request.query;
    const params: unknown[] = [];
    const where = ['merged_into is null'];
    if (q) where.push(`name ilike $${params.push(`%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`)}`);
    if (domain) where.push(`domain = $${params.push(domain)}`);
    if (cursor) {
      const after = Number(cursor);
      if (!Number.isInteger(after) || after < 0) throw new HttpError(400, 'invalid cursor', { issues: [{ field: 'cursor', message: 'not a cursor this API returned' }] });
      where.push(`company_id > $${params.push(after)}`);
    }
    const { rows } = await app.pg.query(
      `select * from company.master where ${where.join(' and ')} order by company_id limit ${limit + 1}`,
      params,
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map(jsonRow) as never,
      next_cursor: rows.length > limit ? String(page[page.length - 1].company_id) : null,
    };
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
    const company = await companyRecord(app.pg, id);
    if (!company) throw new HttpError(404, `no company ${id}`);
    const { rows: people } = await app.pg.query(
      `select * from people.master where company_id = $1 and merged_into is null order by person_id limit 1000`,
      [id],
    );
    return {
      ...company,
      people: people.map(jsonRow) as never,
      sources: (await companySources(app.pg, id)) as never,
      history: (await history(app.pg, 'company', id)) as never,
    } as unknown as z.infer<typeof CompanyDetail>;
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
  }, async (request) => mergeMasters(app.pg, 'company', request.params.id, request.body.into, request.apiKey?.name ?? null));
};

export default companyRoutes;
