// A local Apify API (v2) following Apify's documented contract: Bearer (or ?token=) auth, errors as
// {error:{type,message}}, run-sync-get-dataset-items (201 + bare array + X-Apify-Pagination-*,
// 408 run-timeout-exceeded, 400 run-failed), async runs with statuses and waitForFinish, paginated
// dataset items, and a per-resource requests-per-second limit (429 rate-limit-exceeded).
import { randomBytes } from 'node:crypto';
import { FixedWindow, sleep, startFakeServer, type FakeRequest, type FakeResponse } from './http';

export type DatasetItem = Record<string, unknown>;

/** What an actor does with its input: the items it pushes, how long it runs, how it ends. */
export interface ActorBehaviour {
  items?: DatasetItem[];
  durationMs?: number;
  status?: 'SUCCEEDED' | 'FAILED' | 'TIMED-OUT' | 'ABORTED';
}

export interface ApifyFakeOptions {
  token?: string;
  actors?: Record<string, (input: any) => ActorBehaviour>;
  /** Apify answers 408 when a synchronous run takes longer than 300 s; tests shorten it. */
  syncTimeoutMs?: number;
  /** Requests per second per resource (Apify: 30 by default; some sources say 60). */
  perResourcePerSecond?: number;
  /** Run statuses are reported in "seconds" of this many ms (waitForFinish=60 waits 60 × this at most). */
  secondMs?: number;
  down?: boolean;
  latencyMs?: number;
}

interface FakeRun {
  id: string;
  actId: string;
  startedAt: number;
  durationMs: number;
  finalStatus: NonNullable<ActorBehaviour['status']>;
  defaultDatasetId: string;
}

const err = (status: number, type: string, message: string, headers?: Record<string, string | number>): FakeResponse => ({ status, headers, body: { error: { type, message } } });

export async function startApifyFake(options: ApifyFakeOptions = {}) {
  const o = { token: 'apify-test-token', actors: {}, syncTimeoutMs: 300_000, perResourcePerSecond: 30, secondMs: 1000, down: false, latencyMs: 0, ...options };
  const runs = new Map<string, FakeRun>();
  const datasets = new Map<string, DatasetItem[]>();
  const windows = new Map<string, FixedWindow>();
  const scripted: FakeResponse[] = [];
  const stats = { requests: 0, rateLimited: 0, runsStarted: 0, syncRuns: 0, inputs: [] as unknown[] };
  const id = () => randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 17);

  const runStatus = (r: FakeRun, now = Date.now()) => (now - r.startedAt >= r.durationMs ? r.finalStatus : 'RUNNING');
  const runJson = (r: FakeRun) => {
    const status = runStatus(r);
    const done = status !== 'RUNNING';
    return {
      id: r.id, actId: r.actId, userId: 'fake-user', status,
      startedAt: new Date(r.startedAt).toISOString(), finishedAt: done ? new Date(r.startedAt + r.durationMs).toISOString() : null,
      defaultDatasetId: r.defaultDatasetId, defaultKeyValueStoreId: `kv-${r.id}`, usageTotalUsd: done ? 0.001 * (datasets.get(r.defaultDatasetId)?.length ?? 0) : 0,
    };
  };
  const pageOf = (items: DatasetItem[], q: URLSearchParams, status: number): FakeResponse => {
    const offset = Number(q.get('offset') ?? 0);
    const limit = q.has('limit') ? Number(q.get('limit')) : items.length;
    const page = items.slice(offset, offset + limit);
    return {
      status,
      headers: { 'x-apify-pagination-offset': offset, 'x-apify-pagination-limit': limit, 'x-apify-pagination-count': page.length, 'x-apify-pagination-total': items.length },
      body: page,
    };
  };

  function startRun(actId: string, input: unknown): FakeRun | FakeResponse {
    const actor = (o.actors as Record<string, (input: any) => ActorBehaviour>)[actId];
    if (!actor) return err(404, 'actor-not-found', `Actor with this name was not found`);
    stats.inputs.push(input);
    const b = actor(input);
    const run: FakeRun = { id: id(), actId, startedAt: Date.now(), durationMs: b.durationMs ?? 0, finalStatus: b.status ?? 'SUCCEEDED', defaultDatasetId: id() };
    datasets.set(run.defaultDatasetId, b.status && b.status !== 'SUCCEEDED' ? [] : b.items ?? []);
    runs.set(run.id, run);
    return run;
  }

  async function handle(req: FakeRequest): Promise<FakeResponse> {
    stats.requests += 1;
    if (o.latencyMs) await sleep(o.latencyMs);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : req.url.searchParams.get('token');
    if (!token) return err(401, 'token-not-provided', 'Authentication token was not provided');
    if (token !== o.token) return err(401, 'token-not-valid', 'Authentication token is not valid');
    const queued = scripted.shift();
    if (queued) return queued;
    if (o.down) return err(503, 'server-error', 'Service temporarily unavailable');

    const path = decodeURIComponent(req.url.pathname);
    let w = windows.get(path);
    if (!w) windows.set(path, (w = new FixedWindow(o.perResourcePerSecond, 1000)));
    if (!w.take()) {
      stats.rateLimited += 1;
      return err(429, 'rate-limit-exceeded', `You have exceeded the rate limit of ${o.perResourcePerSecond} requests per second`);
    }

    let m: RegExpMatchArray | null;
    if (req.method === 'POST' && (m = path.match(/^\/v2\/acts\/([^/]+)\/run-sync-get-dataset-items$/))) {
      stats.syncRuns += 1;
      const run = startRun(m[1], req.body);
      if (!('id' in run)) return run;
      const limitMs = req.url.searchParams.has('timeout') ? Math.min(o.syncTimeoutMs, Number(req.url.searchParams.get('timeout')) * o.secondMs) : o.syncTimeoutMs;
      if (run.durationMs > limitMs) {
        await sleep(limitMs);
        return err(408, 'run-timeout-exceeded', `Actor run exceeded the timeout of ${Math.round(limitMs / o.secondMs)} seconds for this API endpoint`);
      }
      await sleep(run.durationMs);
      if (run.finalStatus !== 'SUCCEEDED') return err(400, 'run-failed', `Actor run did not succeed (run ID: ${run.id}, status: ${run.finalStatus})`);
      return pageOf(datasets.get(run.defaultDatasetId)!, req.url.searchParams, 201);
    }
    if (req.method === 'POST' && (m = path.match(/^\/v2\/acts\/([^/]+)\/runs$/))) {
      stats.runsStarted += 1;
      const run = startRun(m[1], req.body);
      if (!('id' in run)) return run;
      return { status: 201, body: { data: runJson(run) } };
    }
    if (req.method === 'GET' && (m = path.match(/^\/v2\/actor-runs\/([^/]+)$/))) {
      const run = runs.get(m[1]);
      if (!run) return err(404, 'record-not-found', 'Actor run was not found');
      const wait = Math.min(60, Number(req.url.searchParams.get('waitForFinish') ?? 0)) * o.secondMs;
      const remaining = run.startedAt + run.durationMs - Date.now();
      if (remaining > 0 && wait > 0) await sleep(Math.min(wait, remaining));
      return { status: 200, body: { data: runJson(run) } };
    }
    if (req.method === 'POST' && (m = path.match(/^\/v2\/actor-runs\/([^/]+)\/abort$/))) {
      const run = runs.get(m[1]);
      if (!run) return err(404, 'record-not-found', 'Actor run was not found');
      if (runStatus(run) === 'RUNNING') Object.assign(run, { durationMs: Date.now() - run.startedAt, finalStatus: 'ABORTED' });
      return { status: 200, body: { data: runJson(run) } };
    }
    if (req.method === 'GET' && (m = path.match(/^\/v2\/datasets\/([^/]+)\/items$/))) {
      const items = datasets.get(m[1]);
      if (!items) return err(404, 'record-not-found', 'Dataset was not found');
      return pageOf(items, req.url.searchParams, 200);
    }
    return err(404, 'page-not-found', `No route ${req.method} ${path}`);
  }

  const server = await startFakeServer(handle);
  return {
    baseUrl: server.url,
    token: o.token,
    stats,
    options: o,
    setActor(name: string, behaviour: (input: any) => ActorBehaviour) {
      (o.actors as Record<string, (input: any) => ActorBehaviour>)[name] = behaviour;
    },
    setDown(down: boolean) {
      o.down = down;
    },
    /** Answer the next authenticated request(s) with these responses. */
    script(...responses: FakeResponse[]) {
      scripted.push(...responses);
    },
    close: server.close,
  };
}

export type ApifyFake = Awaited<ReturnType<typeof startApifyFake>>;
