import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError } from '@temporalio/client';
import type pg from 'pg';
import { withTransaction } from '../../db/pool';
import type { campaignWorkflow } from '../../workflows/campaign';
import { cancelCampaignSignal, campaignProgressQuery, pauseCampaignSignal, resumeCampaignSignal } from '../../contracts/campaign';
import { scheduleIds, workflowIds, workflowTypes } from '../../contracts/ids';
import { searchAttributes } from '../../contracts/search-attributes';
import { ErrorResponse, WorkflowStarted } from '../schemas/common';
import {
  NoContent, Campaign, CampaignBody, CampaignList, CampaignParams, CampaignPatch, ControlAccepted, CursorQuery, Metrics,
  OutreachPage, OutreachQuery, Progress, ScheduleBody, ScheduleView,
} from '../schemas/campaigns';
import { HttpError } from '../errors';
import { startOrFind, statusOf } from '../workflow-runs';
import type { z } from 'zod';

type Body = z.infer<typeof CampaignBody>;
type Patch = z.infer<typeof CampaignPatch>;
type Queryable = Pick<pg.Pool, 'query'>;

const delaySeconds = (d?: { days?: number; hours?: number; minutes?: number; seconds?: number }) =>
  d ? (d.days ?? 0) * 86_400 + (d.hours ?? 0) * 3600 + (d.minutes ?? 0) * 60 + (d.seconds ?? 0) : 0;

async function loadCampaign(db: Queryable, id: number) {
  const { rows: [c] } = await db.query(
    `select c.*, coalesce((select jsonb_agg(jsonb_build_object('step_no', s.step_no, 'template_id', s.template_id,
              'delay_seconds', s.delay_seconds) order by s.step_no) from marketing.campaign_steps s where s.campaign_id = c.campaign_id), '[]') as steps
       from marketing.campaigns c where c.campaign_id = $1`,
    [id],
  );
  if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
  return present(c);
}

function present(c: Record<string, any>): Record<string, any> {
  const { window_days, window_start, window_end, ...rest } = c;
  return { ...rest, window: window_start ? { days: window_days, start: window_start, end: window_end } : null };
}

async function assertTemplatesExist(db: Queryable, steps: Body['steps']) {
  const ids = [...new Set(steps.map((s) => s.template_id))];
  const { rows } = await db.query('select template_id from marketing.templates where template_id = any($1)', [ids]);
  const found = new Set(rows.map((r) => Number(r.template_id)));
  const missing = steps.findIndex((s) => !found.has(s.template_id));
  if (missing >= 0) {
    throw new HttpError(400, `invalid steps[${missing}].template_id`, {
      issues: [{ field: `steps[${missing}].template_id`, message: `template ${steps[missing].template_id} does not exist` }],
    });
  }
}

async function writeSteps(db: pg.PoolClient, id: number, steps: Body['steps']) {
  await db.query('delete from marketing.campaign_steps where campaign_id = $1', [id]);
  await db.query(
    `insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds)
     select $1, ord, t, d from unnest($2::bigint[], $3::int[]) with ordinality as x(t, d, ord)`,
    [id, steps.map((s) => s.template_id), steps.map((s) => delaySeconds(s.delay))],
  );
}

const rate = (n: number, d: number) => (d ? Math.round((n / d) * 10_000) / 10_000 : 0);

const campaignRoutes: FastifyPluginAsyncZod = async (app) => {
  const tags = ['campaigns'];
  const byId = { params: CampaignParams };

  app.post('/api/campaigns', {
    config: { scope: 'write' },
    schema: { summary: 'Create a campaign (draft) with its steps', tags, body: CampaignBody, response: { 201: Campaign, 400: ErrorResponse } },
  }, async (request, reply) => {
    const b = request.body;
    await assertTemplatesExist(app.pg, b.steps);
    const id = await withTransaction(app.pg, async (db) => {
      const { rows: [c] } = await db.query(
        `insert into marketing.campaigns (name, from_email, from_name, reply_to, criteria, time_zone, window_days, window_start, window_end, rate_per_minute)
         values ($1, lower($2), $3, $4, $5, $6, $7, $8, $9, $10) returning campaign_id`,
        [b.name, b.from_email, b.from_name ?? null, b.reply_to ?? null, b.criteria ?? {}, b.time_zone ?? 'UTC',
          b.window?.days ?? null, b.window?.start ?? null, b.window?.end ?? null, b.rate_per_minute ?? 60],
      );
      await writeSteps(db, c.campaign_id, b.steps);
      return c.campaign_id as number;
    });
    return reply.code(201).send((await loadCampaign(app.pg, id)) as never);
  });

  app.get('/api/campaigns', {
    schema: { summary: 'List campaigns (cursor: the last campaign_id seen)', tags, querystring: CursorQuery, response: { 200: CampaignList } },
  }, async (request) => {
    const { cursor, limit } = request.query;
    const { rows } = await app.pg.query(
      `select c.*, coalesce((select jsonb_agg(jsonb_build_object('step_no', s.step_no, 'template_id', s.template_id,
                'delay_seconds', s.delay_seconds) order by s.step_no) from marketing.campaign_steps s where s.campaign_id = c.campaign_id), '[]') as steps
         from marketing.campaigns c where c.campaign_id > $1 order by c.campaign_id limit $2`,
      [cursor ?? 0, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { campaigns: page.map(present) as never, next_cursor: rows.length > limit ? page[page.length - 1].campaign_id : null };
  });

  app.get('/api/campaigns/:id', {
    schema: { summary: 'One campaign with its steps and counters', tags, ...byId, response: { 200: Campaign, 404: ErrorResponse } },
  }, async (request) => loadCampaign(app.pg, request.params.id) as never);

  app.patch('/api/campaigns/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Change a campaign that has not started', tags, ...byId, body: CampaignPatch, response: { 200: Campaign, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request) => {
    const id = request.params.id;
    const p: Patch = request.body;
    if (p.steps) await assertTemplatesExist(app.pg, p.steps);
    await withTransaction(app.pg, async (db) => {
      const { rows: [c] } = await db.query('select status from marketing.campaigns where campaign_id = $1 for update', [id]);
      if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
      if (!['draft', 'scheduled'].includes(c.status)) throw new HttpError(409, `campaign ${id} is ${c.status}; only draft or scheduled campaigns change`);
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (col: string, v: unknown) => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (p.name !== undefined) set('name', p.name);
      if (p.from_email !== undefined) set('from_email', p.from_email.toLowerCase());
      if (p.from_name !== undefined) set('from_name', p.from_name);
      if (p.reply_to !== undefined) set('reply_to', p.reply_to);
      if (p.criteria !== undefined) set('criteria', p.criteria);
      if (p.time_zone !== undefined) set('time_zone', p.time_zone);
      if (p.rate_per_minute !== undefined) set('rate_per_minute', p.rate_per_minute);
      if (p.window !== undefined) {
        set('window_days', p.window?.days ?? null);
        set('window_start', p.window?.start ?? null);
        set('window_end', p.window?.end ?? null);
      }
      if (sets.length) await db.query(`update marketing.campaigns set ${sets.join(', ')}, updated_at = now() where campaign_id = $1`, params);
      if (p.steps) await writeSteps(db, id, p.steps);
    });
    return loadCampaign(app.pg, id) as never;
  });

  app.delete('/api/campaigns/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Delete a campaign that never sent', tags, ...byId, response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const id = request.params.id;
    await withTransaction(app.pg, async (db) => {
      const { rows: [c] } = await db.query('select status from marketing.campaigns where campaign_id = $1 for update', [id]);
      if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
      const used = await db.query('select 1 from marketing.outreach_history where campaign_id = $1 limit 1', [id]);
      if (used.rows.length || !['draft', 'scheduled'].includes(c.status)) throw new HttpError(409, `campaign ${id} has run; cancel it instead`);
      await db.query('delete from marketing.campaigns where campaign_id = $1', [id]);
    });
    return reply.code(204).send(null);
  });

  app.post('/api/campaigns/:id/start', {
    config: { scope: 'write' },
    schema: { summary: 'Start the campaign workflow campaign:<id> (a repeat finds the existing run)', tags, ...byId, response: { 202: WorkflowStarted, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const c = await loadCampaign(app.pg, request.params.id);
    if (c.status === 'cancelled') throw new HttpError(409, `campaign ${c.campaign_id} was cancelled`);
    const run = await startOrFind<typeof campaignWorkflow>(app.temporal, workflowTypes.campaign, {
      workflowId: workflowIds.campaign(c.campaign_id),
      taskQueue: app.config.TASK_QUEUE,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      args: [{ campaignId: c.campaign_id, batchSize: app.config.CAMPAIGN_BATCH_SIZE, batchesPerRun: app.config.CAMPAIGN_BATCHES_PER_RUN }],
      typedSearchAttributes: [{ key: searchAttributes.CampaignId, value: String(c.campaign_id) }],
      memo: { actor: request.apiKey?.name },
    });
    return reply.code(202).send({
      workflow_id: run.handle.workflowId,
      run_id: run.runId,
      status: run.existing ? await statusOf(run.handle) : 'RUNNING',
      existing: run.existing,
    });
  });

  const runningHandle = async (id: number) => {
    const { rows: [c] } = await app.pg.query('select workflow_id from marketing.campaigns where campaign_id = $1', [id]);
    if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
    return app.temporal.workflow.getHandle(c.workflow_id ?? workflowIds.campaign(id));
  };

  for (const [name, signal] of [['pause', pauseCampaignSignal], ['resume', resumeCampaignSignal], ['cancel', cancelCampaignSignal]] as const) {
    app.post(`/api/campaigns/:id/${name}`, {
      config: { scope: 'write' },
      schema: { summary: `Signal the running campaign: ${name}`, tags, ...byId, response: { 202: ControlAccepted, 404: ErrorResponse, 409: ErrorResponse } },
    }, async (request, reply) => {
      const handle = await runningHandle(request.params.id);
      // The sending activity checks this between claims, so a pause or cancel stops sends within
      // one claim instead of one batch; the signal then moves the workflow itself.
      if (name !== 'resume') {
        await app.pg.query(`update marketing.campaigns set status = $2, updated_at = now() where campaign_id = $1 and status = 'running'`,
          [request.params.id, name === 'pause' ? 'paused' : 'cancelled']);
      }
      try {
        await handle.signal(signal);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new HttpError(409, `campaign ${request.params.id} has no running workflow`);
        throw err;
      }
      return reply.code(202).send({ workflow_id: handle.workflowId, signal: name });
    });
  }

  app.get('/api/campaigns/:id/progress', {
    schema: { summary: 'The campaign workflow\'s progress query (per step: queued, sent, failed, opened, …)', tags, ...byId, response: { 200: Progress, 404: ErrorResponse } },
  }, async (request) => {
    const handle = await runningHandle(request.params.id);
    try {
      const [status, progress] = await Promise.all([statusOf(handle), handle.query(campaignProgressQuery)]);
      return { workflow_id: handle.workflowId, status, progress };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(404, `campaign ${request.params.id} has not started`);
      throw err;
    }
  });

  app.get('/api/campaigns/:id/outreach', {
    schema: { summary: 'Outreach history, cursor-paginated (cursor: the last outreach_id seen)', tags, ...byId, querystring: OutreachQuery, response: { 200: OutreachPage } },
  }, async (request) => {
    const { cursor, limit, status, step } = request.query;
    const { rows } = await app.pg.query(
      `select outreach_id, contact_id, email, step_no, status, message_id, due_at, sent_at, opened_at, clicked_at, replied_at,
              bounced_at, bounce_type, unsubscribed_at, failure_reason, attempts
         from marketing.outreach_history
        where campaign_id = $1 and outreach_id > $2 and ($3::text is null or status = $3) and ($4::int is null or step_no = $4)
        order by outreach_id limit $5`,
      [request.params.id, cursor ?? 0, status ?? null, step ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { rows: page, next_cursor: rows.length > limit ? page[page.length - 1].outreach_id : null };
  });

  app.get('/api/campaigns/:id/metrics', {
    schema: { summary: 'Per-step counts and rates (open, click, reply, bounce, unsubscribe per sent)', tags, ...byId, response: { 200: Metrics, 404: ErrorResponse } },
  }, async (request) => {
    const id = request.params.id;
    const { rows: [c] } = await app.pg.query('select status, sent_count, response_count from marketing.campaigns where campaign_id = $1', [id]);
    if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
    const { rows } = await app.pg.query('select * from marketing.f_step_progress($1)', [id]);
    return {
      campaign_id: id, status: c.status, sent_count: c.sent_count, response_count: c.response_count,
      steps: rows.map((r) => ({
        step: r.step_no, total: r.total, queued: r.queued + r.sending, sent: r.sent, failed: r.failed, stopped: r.stopped,
        suppressed: r.suppressed, cancelled: r.cancelled, opened: r.opened, clicked: r.clicked, replied: r.replied,
        bounced: r.bounced, unsubscribed: r.unsubscribed,
        rates: { open: rate(r.opened, r.sent), click: rate(r.clicked, r.sent), reply: rate(r.replied, r.sent), bounce: rate(r.bounced, r.sent), unsubscribe: rate(r.unsubscribed, r.sent) },
      })),
    };
  });

  // Schedules: recurring runs of a campaign as a Temporal Schedule. Each run snapshots the
  // contacts not yet reached by this campaign (criteria.new_since_last_run narrows it to new ones).
  const scheduleHandle = (id: number) => app.temporal.schedule.getHandle(scheduleIds.campaign(id));
  const describeSchedule = async (id: number) => {
    try {
      const d = await scheduleHandle(id).describe();
      return {
        schedule_id: d.scheduleId,
        paused: d.state.paused,
        note: d.state.note ?? null,
        next_action_times: d.info.nextActionTimes,
        recent_runs: d.info.recentActions.map((a) => ({ workflow_id: a.action.workflow.workflowId, scheduled_at: a.scheduledAt })),
      };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new HttpError(404, `campaign ${id} has no schedule`);
      throw err;
    }
  };

  app.post('/api/campaigns/:id/schedule', {
    config: { scope: 'write' },
    schema: { summary: 'Create the campaign\'s Temporal Schedule (cron or every N minutes)', tags, ...byId, body: ScheduleBody, response: { 201: ScheduleView, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const c = await loadCampaign(app.pg, request.params.id);
    if (c.status === 'cancelled') throw new HttpError(409, `campaign ${c.campaign_id} was cancelled`);
    const b = request.body;
    try {
      await app.temporal.schedule.create({
        scheduleId: scheduleIds.campaign(c.campaign_id),
        spec: b.cron ? { cronExpressions: b.cron } : { intervals: [{ every: `${b.every_minutes} minutes` }] },
        action: {
          type: 'startWorkflow',
          workflowType: workflowTypes.campaign,
          workflowId: workflowIds.campaign(c.campaign_id),
          taskQueue: app.config.TASK_QUEUE,
          args: [{ campaignId: c.campaign_id, batchSize: app.config.CAMPAIGN_BATCH_SIZE, batchesPerRun: app.config.CAMPAIGN_BATCHES_PER_RUN }],
          typedSearchAttributes: [{ key: searchAttributes.CampaignId, value: String(c.campaign_id) }],
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        state: { paused: b.paused, note: b.note },
      });
    } catch (err) {
      if ((err as Error).name === 'ScheduleAlreadyRunning') throw new HttpError(409, `campaign ${c.campaign_id} already has a schedule`);
      throw err;
    }
    await app.pg.query(`update marketing.campaigns set status = 'scheduled', updated_at = now() where campaign_id = $1 and status = 'draft'`, [c.campaign_id]);
    return reply.code(201).send(await describeSchedule(c.campaign_id));
  });

  app.get('/api/campaigns/:id/schedule', {
    schema: { summary: 'The campaign\'s schedule: state, next times, recent runs', tags, ...byId, response: { 200: ScheduleView, 404: ErrorResponse } },
  }, async (request) => describeSchedule(request.params.id));

  for (const action of ['pause', 'unpause', 'trigger'] as const) {
    app.post(`/api/campaigns/:id/schedule/${action}`, {
      config: { scope: 'write' },
      schema: { summary: `Schedule: ${action === 'trigger' ? 'run now' : action}`, tags, ...byId, response: { 200: ScheduleView, 404: ErrorResponse } },
    }, async (request) => {
      const id = request.params.id;
      await describeSchedule(id); // 404 when there is none
      const handle = scheduleHandle(id);
      if (action === 'pause') await handle.pause(`paused through the API by ${request.apiKey?.name ?? 'unknown'}`);
      else if (action === 'unpause') await handle.unpause();
      else await handle.trigger(ScheduleOverlapPolicy.SKIP);
      return describeSchedule(id);
    });
  }

  app.delete('/api/campaigns/:id/schedule', {
    config: { scope: 'write' },
    schema: { summary: 'Delete the campaign\'s schedule (running runs continue)', tags, ...byId, response: { 204: NoContent, 404: ErrorResponse } },
  }, async (request, reply) => {
    await describeSchedule(request.params.id);
    await scheduleHandle(request.params.id).delete();
    await app.pg.query(`update marketing.campaigns set status = 'draft', updated_at = now() where campaign_id = $1 and status = 'scheduled'`, [request.params.id]);
    return reply.code(204).send(null);
  });
};

export default campaignRoutes;
