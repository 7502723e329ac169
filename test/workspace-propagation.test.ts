// The workspace travels through Temporal: a workflow started inside inWorkspace(7) runs every
// activity in workspace 7 — after continue-as-new, in its child, and when a schedule made in
// workspace 7 starts it — and is findable by its WorkspaceId search attribute; a start without
// the header falls back to the search attribute, a start with neither to workspace 1. The real
// workflows and interceptors (the run's bundle, the workers' options) with activities that only
// record where they ran.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { activityInfo } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { currentWorkspace, inWorkspace } from '../common/workspace-context';
import { searchAttributes } from '../contracts/search-attributes';
import { workflowIds, workflowTypes } from '../contracts/ids';
import { WORKSPACE_HEADER } from '../contracts/workspace';
import type { IngestInput } from '../contracts/ingest';
import { workerInterceptorOptions } from '../worker/worker';
import { temporalClient, uniqueId, waitUntil } from './support/harness';

interface Ran { activity: string; workflowId: string; runId: string; workspace: number | undefined }
const ran: Ran[] = [];
const record = () => {
  const { activityType, workflowExecution } = activityInfo();
  const { workflowId, runId } = workflowExecution!; // always set: these run for workflows
  ran.push({ activity: activityType, workflowId, runId, workspace: currentWorkspace() });
};

// Just what ingestBatchWorkflow and its promoteContactsWorkflow child call.
const activities = {
  async ingestChunk() {
    record();
    return { rowCount: 1, inserted: 1, skipped: 0 };
  },
  async dropStagedRows() {
    record();
  },
  async countPending() {
    record();
    return 2;
  },
  async promoteChunk({ afterLoadId }: { afterLoadId: number }) {
    record();
    return afterLoadId === 0 ? { loadCount: 1, lastLoadId: 1, promoted: 1, updated: 0, failed: 0 } : { loadCount: 0, lastLoadId: 1, promoted: 0, updated: 0, failed: 0 };
  },
};

const taskQueue = uniqueId('workspace');
let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  client = await temporalClient();
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await Worker.create({
    connection,
    taskQueue,
    activities,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    ...workerInterceptorOptions('bundled'),
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
});

// One chunk per run, so both the ingest and its promotion child continue-as-new once.
const ingestInput = (batchId: string, rowCount = 2): IngestInput => ({ batchId, source: 'apollo', rowCount, chunkSize: 1, chunksPerRun: 1, promote: rowCount > 1 });

async function runIngest(batchId: string, extra: { typedSearchAttributes?: { key: typeof searchAttributes.WorkspaceId; value: number }[] } = {}) {
  const handle = await client.workflow.start(workflowTypes.ingest, { taskQueue, workflowId: workflowIds.ingest(batchId), args: [ingestInput(batchId)], ...extra });
  await handle.result();
  return handle;
}

const ranBy = (workflowId: string) => ran.filter((r) => r.workflowId === workflowId);
const workspaceAttribute = async (workflowId: string) => (await client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(searchAttributes.WorkspaceId);

/** The workspace header each run of workflowId was started with, oldest run first (continue-as-new passes it on). */
async function startHeaders(workflowId: string) {
  const runIds = [...new Set(ranBy(workflowId).map((r) => r.runId))];
  return Promise.all(runIds.map(async (runId) => {
    const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const payload = events?.[0].workflowExecutionStartedEventAttributes?.header?.fields?.[WORKSPACE_HEADER];
    return payload ? defaultPayloadConverter.fromPayload<number>(payload) : undefined;
  }));
}

it('runs the activities of a workflow started in workspace 7 in workspace 7, across continue-as-new and in its child', async () => {
  const batchId = uniqueId('ws7');
  await inWorkspace(7, () => runIngest(batchId));
  const ingest = workflowIds.ingest(batchId);
  const promote = workflowIds.promote(batchId);

  expect(ranBy(ingest).map((r) => [r.activity, r.workspace])).toEqual([['ingestChunk', 7], ['ingestChunk', 7], ['dropStagedRows', 7]]);
  expect(ranBy(promote).map((r) => [r.activity, r.workspace])).toEqual([['countPending', 7], ['promoteChunk', 7], ['promoteChunk', 7]]);
  // two runs each: the second run has the header from the continue-as-new (and the child from its parent)
  expect(await startHeaders(ingest)).toEqual([7, 7]);
  expect(await startHeaders(promote)).toEqual([7, 7]);

  expect(await workspaceAttribute(ingest)).toBe(7);
  expect(await workspaceAttribute(promote)).toBe(7);
});

it('runs a workflow started outside any workspace in the default workspace, adding no search attribute', async () => {
  const batchId = uniqueId('ws-none');
  await runIngest(batchId);
  const ingest = workflowIds.ingest(batchId);

  expect(await startHeaders(ingest)).toEqual([undefined, 1]); // the workflow's own continue-as-new names it
  expect([...ranBy(ingest), ...ranBy(workflowIds.promote(batchId))].map((r) => r.workspace)).toEqual([1, 1, 1, 1, 1, 1]);
  expect(await workspaceAttribute(ingest)).toBeUndefined();
});

it('falls back to the WorkspaceId search attribute when the start has no header', async () => {
  const batchId = uniqueId('ws9');
  await runIngest(batchId, { typedSearchAttributes: [{ key: searchAttributes.WorkspaceId, value: 9 }] });

  expect([...ranBy(workflowIds.ingest(batchId)), ...ranBy(workflowIds.promote(batchId))].map((r) => r.workspace)).toEqual([9, 9, 9, 9, 9, 9]);
  expect(await workspaceAttribute(workflowIds.promote(batchId))).toBe(9);
});

it('runs what a schedule made in workspace 7 starts in workspace 7', async () => {
  const batchId = uniqueId('ws7-sched');
  const schedule = await inWorkspace(7, () => client.schedule.create({
    scheduleId: uniqueId('workspace-schedule'),
    spec: { intervals: [{ every: '1 day' }] },
    action: { type: 'startWorkflow', workflowType: workflowTypes.ingest, workflowId: workflowIds.ingest(batchId), taskQueue, args: [ingestInput(batchId, 1)] },
    state: { triggerImmediately: true },
  }));
  try {
    // a scheduled start's workflow id is the action's plus the time it was due
    const scheduled = await waitUntil(async () => ran.find((r) => r.workflowId.startsWith(workflowIds.ingest(batchId)) && r.activity === 'dropStagedRows'), 30_000, 'the scheduled run');
    expect(ranBy(scheduled.workflowId).map((r) => [r.activity, r.workspace])).toEqual([['ingestChunk', 7], ['dropStagedRows', 7]]);
    expect(await workspaceAttribute(scheduled.workflowId)).toBe(7);
  } finally {
    await schedule.delete();
  }
});
