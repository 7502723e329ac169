import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createHealthRepository } from '../../db/health';
import { withTimeout } from '../../common/with-timeout';

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });
const Readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ postgres: Check, migrations: Check, temporal: Check }),
});

const CHECK_TIMEOUT_MS = 3000;

async function check(fn: () => Promise<string | void>): Promise<z.infer<typeof Check>> {
  try {
    const problem = await withTimeout(fn(), CHECK_TIMEOUT_MS);
    return problem ? { ok: false, error: problem } : { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message || String(err) };
  }
}

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const health = createHealthRepository(app.pg);
  app.get('/health', {
    config: { public: true },
    schema: { summary: 'The process is up', tags: ['ops'], response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/ready', {
    config: { public: true },
    schema: {
      summary: 'Postgres reachable, migrations current, Temporal reachable (503 naming what is not)',
      description: 'Open: each check is only ok or not. Why a check failed is logged, and shown to an admin key.',
      tags: ['ops'],
      response: { 200: Readiness, 503: Readiness },
    },
  }, async (request, reply) => {
    const [postgres, temporal] = await Promise.all([
      check(() => health.ping()),
      check(async () => void (await app.temporal.connection.workflowService.getSystemInfo({}))),
    ]);
    const migrations = postgres.ok
      ? await check(async () => {
          const pending = await health.pendingMigrations();
          if (pending.length) return `pending migrations: ${pending.join(', ')}`;
        })
      : { ok: false, error: 'postgres unreachable' };
    const checks = { postgres, migrations, temporal };
    const ready = postgres.ok && migrations.ok && temporal.ok;
    if (!ready) request.log.warn({ checks }, 'not ready');
    // Error texts name hosts, ports and schema details: for the log and admins, not the public.
    const detailed = request.apiKey?.scopes.includes('admin');
    const shown = detailed ? checks : { postgres: { ok: postgres.ok }, migrations: { ok: migrations.ok }, temporal: { ok: temporal.ok } };
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: shown });
  });
};

export default healthRoutes;
