// Apify REST client (https://api.apify.com, Authorization: Bearer). No Temporal imports.
import { z } from 'zod';
import {
  errorText,
  parseBody,
  ProviderRateLimitedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  retryAfterMs,
  send,
  UnexpectedResponseError,
} from './http-errors';

export const RUN_STATUSES = ['READY', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMING-OUT', 'TIMED-OUT', 'ABORTING', 'ABORTED'] as const;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED']);

export const ApifyRun = z.looseObject({
  id: z.string(),
  actId: z.string().nullish(),
  status: z.enum(RUN_STATUSES),
  startedAt: z.string().nullish(),
  finishedAt: z.string().nullish(),
  defaultDatasetId: z.string(),
  usageTotalUsd: z.number().nullish(),
});
export type ApifyRun = z.infer<typeof ApifyRun>;
const RunEnvelope = z.object({ data: ApifyRun });
const Items = z.array(z.looseObject({}));
export type DatasetItem = Record<string, unknown>;

export interface ApifyClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

export interface ApifyUsage {
  calls: number;
  runs: number;
  items: number;
  usd: number;
}

export interface Page {
  items: DatasetItem[];
  offset: number;
  limit: number;
  count: number;
  total: number;
}

export function createApifyClient(opts: ApifyClientOptions) {
  const base = opts.baseUrl.replace(/\/?$/, '/');
  const timeoutMs = opts.timeoutMs ?? 330_000; // sync runs may take up to 300 s on Apify's side
  const usage: ApifyUsage = { calls: 0, runs: 0, items: 0, usd: 0 };

  async function call(method: 'GET' | 'POST', path: string, query: Record<string, string | number | undefined> = {}, body?: unknown, callTimeoutMs = timeoutMs) {
    const url = new URL(path.replace(/^\//, ''), base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    usage.calls += 1;
    const res = await send({ provider: 'apify', url, method, body, timeoutMs: callTimeoutMs, headers: { authorization: `Bearer ${opts.token}` } });
    if (res.ok) return res;
    const { text, json } = await errorText(res);
    const type: string | undefined = json?.error?.type;
    const message = `${res.status}${type ? ` ${type}` : ''} on ${url.pathname}: ${json?.error?.message ?? (text.slice(0, 300) || res.statusText)}`;
    if (res.status === 429) throw new ProviderRateLimitedError('apify', message, retryAfterMs(res.headers.get('retry-after')));
    // A failed or timed-out run may succeed when run again; the request itself was fine.
    if (res.status >= 500 || res.status === 408 || type === 'run-failed') throw new ProviderUnavailableError('apify', message, res.status);
    throw new ProviderRejectedError('apify', message, res.status, type);
  }

  async function readPage(res: Response): Promise<Page> {
    const items = await parseBody('apify', res, Items);
    const num = (name: string, fallback: number) => {
      const v = res.headers.get(`x-apify-pagination-${name}`);
      if (v === null) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new UnexpectedResponseError('apify', `X-Apify-Pagination-${name}`, `not a number: ${v}`);
      return n;
    };
    usage.items += items.length;
    return { items, offset: num('offset', 0), limit: num('limit', items.length), count: num('count', items.length), total: num('total', items.length) };
  }

  const actorPath = (actor: string) => `v2/acts/${encodeURIComponent(actor)}`;

  return {
    usage,

    /** POST /v2/acts/{actor}/run-sync-get-dataset-items: 201 with the items (runs over 300 s → 408). */
    async runSyncGetDatasetItems(actor: string, input: unknown, query: { timeout?: number; maxItems?: number } = {}): Promise<Page> {
      const res = await call('POST', `${actorPath(actor)}/run-sync-get-dataset-items`, { ...query, format: 'json', clean: 'true' }, input);
      usage.runs += 1;
      return readPage(res);
    },

    /** POST /v2/acts/{actor}/runs → 201 {data: Run}. */
    async startRun(actor: string, input: unknown): Promise<ApifyRun> {
      const res = await call('POST', `${actorPath(actor)}/runs`, {}, input);
      usage.runs += 1;
      return (await parseBody('apify', res, RunEnvelope)).data;
    },

    /** GET /v2/actor-runs/{id}?waitForFinish=N (≤ 60 s): the run, finished or not. */
    async getRun(runId: string, waitForFinishSecs = 60): Promise<ApifyRun> {
      const wait = Math.min(60, Math.max(0, Math.round(waitForFinishSecs)));
      const res = await call('GET', `v2/actor-runs/${encodeURIComponent(runId)}`, { waitForFinish: wait }, undefined, wait * 1000 + 30_000);
      const run = (await parseBody('apify', res, RunEnvelope)).data;
      if (TERMINAL.has(run.status) && run.usageTotalUsd) usage.usd += run.usageTotalUsd;
      return run;
    },

    /** GET /v2/datasets/{id}/items?offset=&limit= */
    async getDatasetItems(datasetId: string, offset = 0, limit = 1000): Promise<Page> {
      const res = await call('GET', `v2/datasets/${encodeURIComponent(datasetId)}/items`, { offset, limit, format: 'json', clean: 'true' });
      return readPage(res);
    },

    /**
     * A long run: start, wait for it (onWait is called between polls, e.g. to heartbeat), then read
     * every page of its dataset. A run that does not succeed is a retryable failure.
     */
    async runToCompletion(actor: string, input: unknown, o: { pollSecs?: number; pageSize?: number; onWait?: (run: ApifyRun) => void; startedRunId?: string } = {}): Promise<{ run: ApifyRun; items: DatasetItem[] }> {
      let run = o.startedRunId ? await this.getRun(o.startedRunId, 0) : await this.startRun(actor, input);
      // A run resumed from an earlier attempt that did not succeed is not resumed: a new one starts.
      if (o.startedRunId && TERMINAL.has(run.status) && run.status !== 'SUCCEEDED') run = await this.startRun(actor, input);
      while (!TERMINAL.has(run.status)) {
        o.onWait?.(run);
        run = await this.getRun(run.id, o.pollSecs ?? 60);
      }
      if (run.status !== 'SUCCEEDED') throw new ProviderUnavailableError('apify', `actor run ${run.id} ended ${run.status}`);
      const items: DatasetItem[] = [];
      for (let offset = 0; ; ) {
        const page = await this.getDatasetItems(run.defaultDatasetId, offset, o.pageSize ?? 1000);
        items.push(...page.items);
        offset += page.count;
        if (page.count === 0 || offset >= page.total) break;
      }
      return { run, items };
    },
  };
}

export type ApifyClient = ReturnType<typeof createApifyClient>;
