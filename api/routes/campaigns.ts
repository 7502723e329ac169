import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { createCampaignsRepository, type CampaignRow, type CampaignStep } from '../../db/campaigns';
import { createTemplatesRepository } from '../../db/templates';
import type { campaignWorkflow } from '../../workflows/campaign';
import { cancelCampaignSignal, campaignProgressQuery, ledgerCounters, pauseCampaignSignal, resumeCampaignSignal } from '../../contracts/campaign';
import { scheduleIds, workflowIds, workflowTypes } from '../../contracts/ids';
import { searchAttributes } from '../../contracts/search-attributes';
import { ErrorResponse, WorkflowStarted } from '../schemas/common';
import {
  AUDIENCE_COUNT_CAP, AudienceCount, AudienceCountBody, NoContent, Campaign, CampaignBody, CampaignList, CampaignParams, CampaignPatch, ControlAccepted, CursorQuery, Metrics,
  OutreachPage, OutreachQuery, Progress, ScheduleBody, ScheduleView,
} from '../schemas/campaigns';
import { HttpError } from '../errors';
import { auditContext } from '../audit-context';
import { startOrFind, statusOf } from '../workflow-runs';
import { queryWorkflow } from '../../clients/temporal';
import type { z } from 'zod';

type Body = z.infer<typeof CampaignBody>;
type Patch = z.infer<typeof CampaignPatch>;

const delaySeconds = (d?: { days?: number; hours?: number; minutes?: number; seconds?: number }) =>
  d ? (d.days ?? 0) * 86_400 + (d.hours ?? 0) * 3600 + (d.minutes ?? 0) * 60 + (d.seconds ?? 0) : 0;

const toSteps = (steps: Body['steps']): CampaignStep[] => steps.map((s) => ({ template_id: s.template_id, delay_seconds: delaySeconds(s.delay) }));

/** The API's shape of a campaign: the sending window as one object. */
function present(c: CampaignRow): Record<string, any> {
  const { window_days, window_start, window_end, ...rest } = c;
  return { ...rest, window: window_start ? { days: window_days, start: window_start, end: window_end } : null };
}

/** How long a run gets to act on a cancel signal before the API terminates it. */
const CANCEL_GRACE_MS = 5000;

/** Whether the workflow's latest run is closed, or closes within ms. */
async function closesWithin(handle: WorkflowHandle, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await handle.describe()).status.name !== 'RUNNING') return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return true;
      throw err;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const rate = (n: number, d: number) => (d ? Math.round((n / d) * 10_000) / 10_000 : 0);

const campaignRoutes: FastifyPluginAsyncZod = async (app) => {
  const campaigns = createCampaignsRepository(app.pg);
  const templates = createTemplatesRepository(app.pg);
  const tags = ['campaigns'];
  const byId = { params: CampaignParams };

  const loadCampaign = async (id: number) => {
    const c = await campaigns.find(id);
    if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
    return present(c);
  };

  const assertTemplatesExist = async (steps: Body['steps']) => {
    const found = await templates.existing([...new Set(steps.map((s) => s.template_id))]);
    const missing = steps.findIndex((s) => !found.has(s.template_id));
    if (missing >= 0) {
      throw new HttpError(400, `invalid steps[${missing}].template_id`, {
        issues: [{ field: `steps[${missing}].template_id`, message: `template ${steps[missing].template_id} does not exist` }],
      });
    }
  };

  app.post('/api/campaigns', {
    config: { scope: 'write' },
    schema: { summary: 'Create a campaign (draft) with its steps', tags, body: CampaignBody, response: { 201: Campaign, 400: ErrorResponse } },
  }, async (request, reply) => {
    const { steps, ...fields } = request.body;
    await assertTemplatesExist(steps);
    const id = await campaigns.create(fields, toSteps(steps), auditContext(request));
    return reply.code(201).send((await loadCampaign(id)) as never);
  });

  app.post('/api/campaigns/audience-count', {
    config: { scope: 'read' },
    schema: {
      summary: `How many contacts campaign criteria select now (counted up to ${AUDIENCE_COUNT_CAP.toLocaleString('en')}); the criteria schema of POST /api/campaigns`,
      tags, body: AudienceCountBody, response: { 200: AudienceCount, 400: ErrorResponse },
    },
  }, async (request) => campaigns.audienceCount(request.body.criteria, AUDIENCE_COUNT_CAP));

  app.get('/api/campaigns', {
    schema: { summary: 'List campaigns (cursor: the last campaign_id seen)', tags, querystring: CursorQuery, response: { 200: CampaignList } },
  }, async (request) => {
    const { cursor, limit } = request.query;
    const page = await campaigns.page(cursor, limit);
    return { campaigns: page.rows.map(present) as never, next_cursor: page.nextCursor };
  });

  app.get('/api/campaigns/:id', {
    schema: { summary: 'One campaign with its steps and counters', tags, ...byId, response: { 200: Campaign, 404: ErrorResponse } },
  }, async (request) => loadCampaign(request.params.id) as never);

  app.patch('/api/campaigns/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Change a campaign that has not started', tags, ...byId, body: CampaignPatch, response: { 200: Campaign, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request) => {
    const id = request.params.id;
    const { steps, ...changes }: Patch = request.body;
    if (steps) await assertTemplatesExist(steps);
    const edited = await campaigns.edit(id, changes, steps && toSteps(steps), auditContext(request));
    if (edited === 'not-found') throw new HttpError(404, `campaign ${id} does not exist`);
    if (edited !== 'edited') throw new HttpError(409, `campaign ${id} is ${edited.status}; only draft or scheduled campaigns change`);
    return loadCampaign(id) as never;
  });

  app.delete('/api/campaigns/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Delete a campaign that never sent', tags, ...byId, response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const id = request.params.id;
    const removed = await campaigns.remove(id, auditContext(request));
    if (removed === 'not-found') throw new HttpError(404, `campaign ${id} does not exist`);
    if (removed === 'has-run') throw new HttpError(409, `campaign ${id} has run; cancel it instead`);
    return reply.code(204).send(null);
  });

  app.post('/api/campaigns/:id/start', {
    config: { scope: 'write' },
    schema: { summary: 'Start the campaign workflow campaign:<id> (a repeat finds the existing run)', tags, ...byId, response: { 202: WorkflowStarted, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const c = await loadCampaign(request.params.id);
    if (c.status === 'cancelled') throw new HttpError(409, `campaign ${c.campaign_id} was cancelled`);
    const run = await startOrFind<typeof campaignWorkflow>(app.temporal, workflowTypes.campaign, {
      workflowId: workflowIds.campaign(c.campaign_id),
      taskQueue: app.config.TASK_QUEUE,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      args: [{ campaignId: c.campaign_id, batchSize: app.config.CAMPAIGN_BATCH_SIZE, batchesPerRun: app.config.CAMPAIGN_BATCHES_PER_RUN }],
      typedSearchAttributes: [{ key: searchAttributes.CampaignId, value: String(c.campaign_id) }],
      memo: { actor: request.apiKey?.name },
    });
    // its first activity records it too, but control requests may come before that runs
    if (!run.existing) await campaigns.recordRun(c.campaign_id, run.handle.workflowId, auditContext(request, run.handle.workflowId));
    return reply.code(202).send({
      workflow_id: run.handle.workflowId,
      run_id: run.runId,
      status: run.existing ? await statusOf(run.handle) : 'RUNNING',
      existing: run.existing,
    });
  });

  /**
   * The campaign's latest run, by the workflow id stored when it started (a scheduled run's id
   * carries the schedule's timestamp, so it is not derived); undefined when it never started.
   */
  const latestRun = async (id: number) => {
    const run = await campaigns.latestRun(id);
    if (!run) throw new HttpError(404, `campaign ${id} does not exist`);
    return run.workflowId === null ? undefined : app.temporal.workflow.getHandle(run.workflowId);
  };

  for (const [name, signal] of [['pause', pauseCampaignSignal], ['resume', resumeCampaignSignal]] as const) {
    app.post(`/api/campaigns/:id/${name}`, {
      config: { scope: 'write' },
      schema: { summary: `Signal the running campaign: ${name}`, tags, ...byId, response: { 202: ControlAccepted, 404: ErrorResponse, 409: ErrorResponse } },
    }, async (request, reply) => {
      const handle = await latestRun(request.params.id);
      const noWorkflow = () => new HttpError(409, `campaign ${request.params.id} has no running workflow`);
      if (!handle) throw noWorkflow();
      // The sending activity checks the status between claims, so a pause of a running campaign
      // stops sends within one claim instead of one batch; the signal then moves the workflow.
      // Both moves are made here, so their audit rows name the key that asked (the workflow's
      // own moves then find the status already there and write nothing).
      const ctx = auditContext(request, handle.workflowId);
      const resumed = name === 'pause'
        ? (await campaigns.transition(request.params.id, 'paused', ['running'], ctx), false)
        : await campaigns.transition(request.params.id, 'running', ['paused'], ctx);
      try {
        await handle.signal(signal);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          // no run to resume: the campaign stays paused (audited back)
          if (resumed) await campaigns.transition(request.params.id, 'paused', ['running'], ctx);
          throw noWorkflow();
        }
        throw err;
      }
      return reply.code(202).send({ workflow_id: handle.workflowId, signal: name });
    });
  }

  // Cancel always ends the campaign. The run gets the signal and CANCEL_GRACE_MS to act on it; a
  // run that cannot (stuck in an activity's retries, or no worker at all) is terminated, and a
  // run that closed without finishing (it failed, or never got past its start) is finished here:
  // either way the campaign ends cancelled, audited in intake.audit_log.
  app.post('/api/campaigns/:id/cancel', {
    config: { scope: 'write' },
    schema: {
      summary: `Cancel the campaign: signals its run; a run that does not act on it within ${CANCEL_GRACE_MS / 1000} s is terminated. The campaign ends cancelled either way`,
      tags, ...byId, response: { 202: ControlAccepted, 404: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request, reply) => {
    const id = request.params.id;
    const handle = await latestRun(id);
    const noWorkflow = () => new HttpError(409, `campaign ${id} has no running workflow`);
    if (!handle) throw noWorkflow();
    // recorded before the signal: the sending activity stops claiming at once
    const ctx = auditContext(request, handle.workflowId);
    await campaigns.transition(id, 'cancelled', ['running'], ctx);
    let signalled = true;
    try {
      await handle.signal(cancelCampaignSignal);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      signalled = false;
    }
    const actor = ctx.actor;
    let terminated = false;
    if (signalled && !(await closesWithin(handle, CANCEL_GRACE_MS))) {
      try {
        await handle.terminate(`cancelled through the API by ${actor}; the run did not act on the cancel signal within ${CANCEL_GRACE_MS / 1000} s`);
        terminated = true;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err; // it closed meanwhile
      }
    }
    const ended = await campaigns.cancelAfterRun(id, {
      force: terminated,
      reason: terminated ? 'the run did not act on the cancel signal and was terminated' : 'the run closed without finishing the campaign',
    }, { ...ctx, workflowId: handle.workflowId });
    if (ended === 'not-found') throw new HttpError(404, `campaign ${id} does not exist`);
    // a run that had already finished the campaign: as before, nothing to cancel
    if (ended === 'already-ended' && !signalled) throw noWorkflow();
    return reply.code(202).send({ workflow_id: handle.workflowId, signal: 'cancel', ...(terminated ? { terminated } : {}) });
  });

  app.get('/api/campaigns/:id/progress', {
    schema: { summary: 'The campaign workflow\'s progress query, with its counters and per-step counts (queued, sent, failed, opened, …) read from the send ledger', tags, ...byId, response: { 200: Progress, 404: ErrorResponse } },
  }, async (request) => {
    const handle = await latestRun(request.params.id);
    const notStarted = () => new HttpError(404, `campaign ${request.params.id} has not started`);
    if (!handle) throw notStarted();
    try {
      const [status, progress, steps] = await Promise.all([
        statusOf(handle), queryWorkflow(handle, campaignProgressQuery), campaigns.stepProgress(request.params.id),
      ]);
      // counts from the ledger as of now, not as of the workflow's last finished batch: sends of
      // a batch in flight, or of an attempt killed mid-batch, are counted at once
      const counters = progress.atStart ? ledgerCounters(steps, progress.atStart) : {};
      return { workflow_id: handle.workflowId, status, progress: { ...progress, ...counters, steps } };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notStarted();
      throw err;
    }
  });

  app.get('/api/campaigns/:id/outreach', {
    schema: { summary: 'Outreach history, cursor-paginated (cursor: the last outreach_id seen); event= keeps the rows a funnel number counts', tags, ...byId, querystring: OutreachQuery, response: { 200: OutreachPage } },
  }, async (request) => {
    const page = await campaigns.outreachPage(request.params.id, request.query);
    return { rows: page.rows as never, next_cursor: page.nextCursor };
  });

  app.get('/api/campaigns/:id/metrics', {
    schema: { summary: 'Per-step counts and rates (open, click, reply, bounce, unsubscribe per sent)', tags, ...byId, response: { 200: Metrics, 404: ErrorResponse } },
  }, async (request) => {
    const id = request.params.id;
    const c = await campaigns.counters(id);
    if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
    const steps = await campaigns.stepProgress(id);
    return {
      campaign_id: id, status: c.status, sent_count: c.sent_count, response_count: c.response_count,
      steps: steps.map((s) => ({
        ...s,
        rates: { open: rate(s.opened, s.sent), click: rate(s.clicked, s.sent), reply: rate(s.replied, s.sent), bounce: rate(s.bounced, s.sent), unsubscribe: rate(s.unsubscribed, s.sent) },
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
    const c = await loadCampaign(request.params.id);
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
      // the client's word for the server's "Invalid schedule spec"; every_minutes is bounded by the schema
      if (err instanceof TypeError && b.cron) {
        throw new HttpError(400, `invalid cron: ${err.message}`, { issues: [{ field: 'cron', message: err.message }] });
      }
      throw err;
    }
    await campaigns.recordScheduleChange(c.campaign_id, 'schedule_created',
      { schedule_id: scheduleIds.campaign(c.campaign_id), cron: b.cron ?? null, every_minutes: b.every_minutes ?? null, paused: b.paused ?? false, note: b.note ?? null },
      auditContext(request), { to: 'scheduled', onlyFrom: ['draft'] });
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
      const audited = ({ pause: 'schedule_paused', unpause: 'schedule_unpaused', trigger: 'schedule_triggered' } as const)[action];
      await campaigns.recordScheduleChange(id, audited, { schedule_id: scheduleIds.campaign(id) }, auditContext(request));
      return describeSchedule(id);
    });
  }

  app.delete('/api/campaigns/:id/schedule', {
    config: { scope: 'write' },
    schema: { summary: 'Delete the campaign\'s schedule (running runs continue)', tags, ...byId, response: { 204: NoContent, 404: ErrorResponse } },
  }, async (request, reply) => {
    const before = await describeSchedule(request.params.id);
    await scheduleHandle(request.params.id).delete();
    await campaigns.recordScheduleChange(request.params.id, 'schedule_deleted', { schedule_id: before.schedule_id, paused_before: before.paused },
      auditContext(request), { to: 'draft', onlyFrom: ['scheduled'] });
    return reply.code(204).send(null);
  });
};

export default campaignRoutes;
