import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { companyRecord, history, intelligence, personRecord, personSources } from '../../db/master-data';
import { ErrorResponse, MergeBody, MergeResult } from '../schemas/common';
import { PersonDetail, PersonParams } from '../schemas/people';
import { HttpError } from '../errors';
import { mergeMasters } from '../master-merges';

const peopleRoutes: FastifyPluginAsyncZod = async (app) => {
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
    const person = await personRecord(app.pg, id);
    if (!person) throw new HttpError(404, `no person ${id}`);
    const { rows: contacts } = await app.pg.query(
      `select distinct c.contact_id, c.email, c.status from people.slot s join vault.contacts c on c.contact_id = s.contact_id
       where s.person_id = $1 order by c.contact_id`,
      [id],
    );
    return {
      ...person,
      company: (await companyRecord(app.pg, person.company_id as number | null)) as never,
      contacts,
      sources: (await personSources(app.pg, id)) as never,
      history: (await history(app.pg, 'people', id)) as never,
      intelligence: (await intelligence(app.pg, { personId: id, contactIds: contacts.map((c) => c.contact_id) })) as never,
    } as unknown as z.infer<typeof PersonDetail>;
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
  }, async (request) => mergeMasters(app.pg, 'person', request.params.id, request.body.into, request.apiKey?.name ?? null));
};

export default peopleRoutes;
