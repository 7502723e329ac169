import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { createMasterDataRepository } from '../../db/master-data';
import { ErrorResponse, MergeBody, MergeResult } from '../schemas/common';
import { PersonDetail, PersonParams } from '../schemas/people';
import { HttpError } from '../errors';
import { auditContext } from '../audit-context';

const MERGE_REFUSAL_STATUS = { invalid: 400, not_found: 404, conflict: 409 } as const;

const peopleRoutes: FastifyPluginAsyncZod = async (app) => {
  const masterData = createMasterDataRepository(app.pg);

  app.get('/api/people/:id', {
    schema: {
      summary: 'A golden person record with its company, contacts, sources, history and intelligence',
      description: 'A merged-away person still answers (merged_into names the survivor).',
      tags: ['people'],
      params: PersonParams,
      response: { 200: PersonDetail, 404: ErrorResponse },
    },
  }, async (request) => {
    const { id } = request.params;
    const person = await masterData.personDetail(id);
    if (!person) throw new HttpError(404, `no person ${id}`);
    return person as unknown as z.infer<typeof PersonDetail>;
  });

  app.post('/api/people/:id/merge', {
    config: { scope: 'write' },
    schema: {
      summary: 'Merge this person into another (the survivor): slots and keys move, history keeps the merged record',
      description: 'Idempotent: repeating a merge that already happened answers already_merged: true.',
      tags: ['people'],
      params: PersonParams,
      body: MergeBody,
      response: { 200: MergeResult, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request) => {
    const merge = await masterData.merge('person', request.params.id, request.body.into, auditContext(request));
    if ('refused' in merge) throw new HttpError(MERGE_REFUSAL_STATUS[merge.refused], merge.message, merge.details);
    return merge;
  });
};

export default peopleRoutes;
