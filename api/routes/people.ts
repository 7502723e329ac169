import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { companyRecord, history, intelligence, personRecord, personSources } from '../../db/master-data';
import { ErrorResponse } from '../schemas/common';
import { PersonDetail, PersonParams } from '../schemas/people';
import { HttpError } from '../errors';

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
};

export default peopleRoutes;
