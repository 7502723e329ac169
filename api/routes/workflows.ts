import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ErrorResponse } from '../schemas/common';
import { WorkflowParams, WorkflowStatus } from '../schemas/workflows';
import { HttpError } from '../errors';
import { uiUrl } from '../workflow-runs';
import { searchAttributes } from '../../contracts/search-attributes';
import { DEFAULT_WORKSPACE_ID } from '../../contracts/workspace';

const workflowRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/api/workflows/:id', {
    schema: {
      summary: 'Type, status, times, result or failure of one of this workspace\'s workflows, with its Temporal UI link',
      tags: ['workflows'],
      params: WorkflowParams,
      response: { 200: WorkflowStatus, 404: ErrorResponse },
    },
  }, async (request) => {
    const handle = app.temporal.workflow.getHandle(request.params.id);
    let info;
    try {
      info = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(404, `no workflow "${request.params.id}"`);
      throw err;
    }
    // another workspace's run is not found (runs started outside any workspace are the default one's)
    const workspaceId = info.typedSearchAttributes.get(searchAttributes.WorkspaceId) ?? DEFAULT_WORKSPACE_ID;
    if (workspaceId !== request.apiKey!.workspaceId) throw new HttpError(404, `no workflow "${request.params.id}"`);
    const status = info.status.name;
    let result: unknown;
    let failure: string | undefined;
    if (status === 'COMPLETED' || status === 'FAILED' || status === 'TERMINATED' || status === 'TIMED_OUT') {
      try {
        result = await handle.result();
      } catch (err) {
        failure = err instanceof WorkflowFailedError ? `${err.message}${err.cause ? `: ${err.cause.message}` : ''}` : String(err);
      }
    }
    return {
      workflow_id: info.workflowId,
      run_id: info.runId,
      type: info.type,
      status,
      task_queue: info.taskQueue,
      start_time: info.startTime.toISOString(),
      close_time: info.closeTime?.toISOString() ?? null,
      history_length: info.historyLength,
      result,
      failure,
      ui_url: uiUrl(app.config.TEMPORAL_UI_URL, app.config.TEMPORAL_NAMESPACE, info.workflowId, info.runId),
    };
  });
};

export default workflowRoutes;
