// One trial: the work (ingest + promotion, then the campaign) runs while a "monkey" kills each
// part at its planned point of the work, keeps it down, starts it again and measures how long
// the system takes to move again. Then every workflow is checked for being stuck, and rows and
// sends are counted in the database and at the sink.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ChaosStack, Crash, PartName } from './stack';
import { describePoint, type Kill } from './plan';
import {
  apiReady, checkRows, checkSends, createCampaign, newClientStats, postRows, promotedSoFar, readProgress, startCampaign,
  type ClientStats, type Progress, type RowCheck, type SendCheck, type TrialData,
} from './workload';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KillResult {
  part: PartName;
  planned: number;
  /** the point of the work when it was killed; undefined when the work was done before */
  at?: number;
  downMs: number;
  /** how long the part took to serve again once started (process start, crash recovery, bundling) */
  restartMs?: number;
  /**
   * From the part serving again until the API is ready and the work has resumed: an activity
   * attempt started since (Temporal's record), or a chunk committed or a message sent since.
   * null: not within the limit.
   */
  recoveryMs?: number | null;
  /** from the part serving again until a chunk committed or a message was sent (includes redoing the chunk a kill rolled back) */
  movedMs?: number | null;
  /** the longest time without progress in the minute after the part came back (until the next kill) */
  stallMs?: number;
  /** when it was killed and when it served again (epoch ms) */
  killedAt?: number;
  backAt?: number;
}

export interface TrialResult {
  trial: number;
  seconds: number;
  /** how long the ingest + promotion, and then the campaign, took (kills included) */
  ingestSeconds: number;
  campaignSeconds: number;
  kills: KillResult[];
  rows: RowCheck;
  sends: SendCheck;
  /** workflows not completed when the work stopped moving: id → status */
  stuck: Map<string, string>;
  workflows: number;
  crashes: Crash[];
  client: ClientStats;
}

export interface TrialOptions {
  /** give up waiting when nothing moved for this long */
  stallMs: number;
  recoveryLimitMs: number;
  campaignRatePerMinute: number;
}

/** Retries a check while a part is still coming back (a query right after a kill may fail). */
async function retrying<T>(fn: () => Promise<T>, what: string, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(500);
    }
  }
}

export async function runTrial(stack: ChaosStack, d: TrialData, plan: Kill[], opts: TrialOptions): Promise<TrialResult> {
  const started = Date.now();
  const client = newClientStats();
  const crashesBefore = stack.crashes.length;
  const total = d.rows + d.recipients;
  const campaignId = await createCampaign(stack, d, client, opts.campaignRatePerMinute);
  const promotedBefore = await promotedSoFar(stack);

  let progress: Progress = { staged: 0, promoted: 0, sent: 0 };
  let phase: 'ingest' | 'campaign' | 'done' = 'ingest';
  const point = () =>
    phase === 'ingest' ? (progress.staged + progress.promoted) / (2 * total) : phase === 'campaign' ? 1 + progress.sent / d.recipients : 2;
  const counter = () => progress.staged + progress.promoted + progress.sent;
  /** when the counter moved, and to what */
  const timeline: { t: number; n: number }[] = [{ t: Date.now(), n: 0 }];
  const sample = async (): Promise<boolean> => {
    try {
      progress = await readProgress(stack, d.trial, campaignId, promotedBefore);
      if (counter() !== timeline[timeline.length - 1].n) timeline.push({ t: Date.now(), n: counter() });
      return true;
    } catch {
      return false; // Postgres is down: the work did not move as far as we can tell
    }
  };
  let sampling = true;
  let reported = Date.now();
  const sampler = (async () => {
    while (sampling) {
      await sample();
      if (Date.now() - reported >= 30_000) {
        reported = Date.now();
        const still = ((Date.now() - timeline[timeline.length - 1].t) / 1000).toFixed(0);
        console.log(`  ${phase === 'ingest' ? `ingest: ${progress.staged} staged, ${progress.promoted} promoted of ${total}` : `campaign: ${progress.sent} of ${d.recipients} sent`}` +
          `${Number(still) >= 5 ? ` (no move for ${still} s)` : ''}`);
      }
      await sleep(250);
    }
  })();

  /** workflows of this trial so far, and those seen closed */
  const workflowIds = new Set<string>();
  const closedIds = new Set<string>();
  /**
   * When the first activity attempt of a running workflow of this trial started at or after t,
   * by Temporal's record (pending activities' last start time); undefined: none yet.
   */
  const attemptStartedSince = async (t: number): Promise<number | undefined> => {
    const starts = await Promise.all([...workflowIds].filter((id) => !closedIds.has(id)).map(async (id) => {
      try {
        const { status, raw } = await stack.temporal.workflow.getHandle(id).describe();
        if (status.name !== 'RUNNING') closedIds.add(id);
        return (raw.pendingActivities ?? []).map((a) =>
          a.lastStartedTime ? Number(a.lastStartedTime.seconds ?? 0) * 1000 + Math.floor((a.lastStartedTime.nanos ?? 0) / 1e6) : 0);
      } catch {
        return []; // not started yet, or Temporal still coming back
      }
    }));
    const since = starts.flat().filter((s) => s >= t);
    return since.length ? Math.min(...since) : undefined;
  };
  let workDone = false;
  let phaseSeconds = [0, 0];
  const kills: KillResult[] = [];
  const monkey = (async () => {
    for (const k of plan) {
      while (point() < k.at && !workDone) await sleep(100);
      if (workDone) {
        kills.push({ part: k.part, planned: k.at, downMs: k.downMs });
        continue;
      }
      const at = point();
      const result: KillResult = { part: k.part, planned: k.at, at, downMs: k.downMs };
      kills.push(result);
      const part = stack.parts[k.part];
      result.killedAt = Date.now();
      await part.kill();
      await sleep(k.downMs);
      const restart = Date.now();
      await part.start();
      const back = Date.now();
      result.restartMs = back - restart;
      // a reading taken now: whatever committed before the kill is already in it
      while (!(await sample())) await sleep(100);
      const base = counter();
      let readyAt: number | undefined;
      let resumedAt: number | undefined;
      let movedAt: number | undefined;
      let asked = 0;
      while (Date.now() < back + opts.recoveryLimitMs && (readyAt === undefined || resumedAt === undefined || movedAt === undefined)) {
        if (readyAt === undefined && (await apiReady(stack))) readyAt = Date.now();
        if (movedAt === undefined && (counter() > base || workDone)) movedAt = Date.now();
        if (resumedAt === undefined && movedAt !== undefined) resumedAt = movedAt;
        if (resumedAt === undefined && Date.now() - asked > 500) {
          asked = Date.now();
          // a new worker takes tasks before the harness reads its "polling" line; while Postgres
          // was coming back, attempts started and failed
          resumedAt = await attemptStartedSince(k.part === 'postgres' ? back : restart);
        }
        await sleep(100);
      }
      result.recoveryMs = readyAt !== undefined && resumedAt !== undefined ? Math.max(0, readyAt - back, resumedAt - back) : null;
      result.movedMs = movedAt === undefined ? null : movedAt - back;
      result.backAt = back;
      const secs = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);
      console.log(`  ${k.part} killed at ${describePoint(at)}, down ${secs(k.downMs)}, serving again ${secs(result.restartMs)} after its start; ` +
        `work resumed ${secs(result.recoveryMs)} later, next commit ${secs(result.movedMs)} later`);
    }
  })();
  // a part that cannot be started again fails the trial: awaited below, not unhandled meanwhile
  monkey.catch(() => undefined);

  /** Waits until done() or until nothing moved for stallMs; false when it gave up. */
  const waitForWork = async (done: () => boolean | Promise<boolean>) => {
    for (;;) {
      if (await done()) return true;
      if (Date.now() - timeline[timeline.length - 1].t > opts.stallMs) return false;
      await sleep(250);
    }
  };
  /** The workflows' status names once all are closed, or when nothing closed for stallMs. */
  const statuses = new Map<string, string>();
  const waitClosed = async (ids: string[]) => {
    let lastChange = Date.now();
    for (;;) {
      let open = 0;
      for (const id of ids) {
        if (statuses.has(id) && statuses.get(id) !== 'RUNNING') continue;
        try {
          const status = (await stack.temporal.workflow.getHandle(id).describe()).status.name;
          if (status !== statuses.get(id)) lastChange = Date.now();
          statuses.set(id, status);
          if (status === 'RUNNING') open += 1;
        } catch (err) {
          statuses.set(id, err instanceof WorkflowNotFoundError ? 'NOT_FOUND' : 'RUNNING');
          open += 1;
        }
      }
      if (!open || Date.now() - Math.max(lastChange, timeline[timeline.length - 1].t) > opts.stallMs) return;
      await sleep(500);
    }
  };

  let campaignStarted = Date.now();
  let finished = Date.now();
  try {
    const ingestIds = await postRows(stack, d, client, (id) => {
      workflowIds.add(id);
      workflowIds.add(id.replace(/^ingest:/, 'promote:'));
    });
    await waitForWork(() => progress.staged >= total && progress.promoted >= total);
    const promoteIds = ingestIds.map((id) => id.replace(/^ingest:/, 'promote:'));
    await waitClosed([...ingestIds, ...promoteIds]);
    phase = 'campaign';
    campaignStarted = Date.now();
    const campaignWorkflow = await startCampaign(stack, campaignId, client);
    workflowIds.add(campaignWorkflow);
    await waitForWork(() => progress.sent >= d.recipients);
    await waitClosed([campaignWorkflow]);
  } finally {
    phase = 'done';
    workDone = true;
    finished = Date.now();
    await monkey;
    sampling = false;
    await sampler;
    phaseSeconds = [(campaignStarted - started) / 1000, (finished - campaignStarted) / 1000];
  }
  // the work's progress over time beside the kills, for a closer look
  writeFileSync(path.join(stack.logDir, `trial-${d.trial}-progress.csv`), [
    'seconds,staged+promoted+sent',
    ...timeline.map(({ t, n }) => `${((t - started) / 1000).toFixed(2)},${n}`),
    ...kills.filter((k) => k.backAt).map((k) => `# ${k.part} back at ${((k.backAt! - started) / 1000).toFixed(2)} s`),
  ].join('\n'));

  // per kill, the longest wait between moves of the work in the minute after the part came back
  for (const [i, k] of kills.entries()) {
    if (k.backAt === undefined) continue;
    const until = Math.min(k.backAt + 60_000, kills[i + 1]?.killedAt ?? Infinity);
    let stall = 0;
    let last = k.backAt;
    for (const { t } of timeline) {
      if (t <= k.backAt) continue;
      if (t > until) break;
      stall = Math.max(stall, t - last);
      last = t;
    }
    k.stallMs = Math.max(stall, Math.min(until, finished) - last);
  }
  const rows = await retrying(() => checkRows(stack, d), 'checking rows');
  const sends = await retrying(() => checkSends(stack, d, campaignId), 'checking sends');
  const stuck = new Map([...statuses].filter(([, status]) => status !== 'COMPLETED'));
  return {
    trial: d.trial,
    seconds: (Date.now() - started) / 1000,
    ingestSeconds: phaseSeconds[0],
    campaignSeconds: phaseSeconds[1],
    kills,
    rows,
    sends,
    stuck,
    workflows: statuses.size,
    crashes: stack.crashes.slice(crashesBefore),
    client,
  };
}
