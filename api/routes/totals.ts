import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createTotalsRepository } from '../../db/totals';

const Totals = z.object({
  contacts: z.number().int().describe('contacts in the vault'),
  golden_people: z.number().int().describe('golden person records (merged-away ones not counted)'),
  golden_companies: z.number().int().describe('golden company records (merged-away ones not counted)'),
  campaigns_running: z.number().int(),
});

/** The Dashboard's totals: one read of the rollups, a few milliseconds whatever the data's size. */
const totalsRoutes: FastifyPluginAsyncZod = async (app) => {
  const totals = createTotalsRepository(app.pg);
  app.get('/api/totals', {
    schema: {
      summary: 'Totals for the dashboard: contacts, golden people, golden companies, campaigns running',
      description: 'From the rollups the analytics triggers keep in the writing transactions (live), not by counting rows.',
      tags: ['analytics'], response: { 200: Totals },
    },
  }, async () => totals.totals());
};

export default totalsRoutes;
