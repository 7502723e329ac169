// Shared set-up for the campaign tests: a worker that sends through an SMTP sink, contacts, and
// API helpers for templates and campaigns.
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { createMailer } from '../../clients/mailer';
import type { Pool } from '../../db/pool';
import type { ActivityDeps } from '../../activities';
import type { App } from '../../api/app';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, type TestDatabase, type TestWorker } from './harness';
import { startSmtpSink, type SmtpSink } from '../fakes/smtp';
export { waitUntil } from './harness';

export const TRACKING_SECRET = 'test-tracking-secret-0123456789';
export const PUBLIC_BASE_URL = 'https://track.example.test';

export async function startCampaignWorker(opts: {
  pool: Pool; taskQueue: string; smtpUrl: string; domainRatePerMinute?: number; leaseSeconds?: number; connection?: NativeConnection;
  /** More activity dependencies (mailboxes, …). */
  deps?: Partial<ActivityDeps>;
}): Promise<TestWorker> {
  return startTestWorker({
    ...opts.deps,
    pool: opts.pool,
    taskQueue: opts.taskQueue,
    connection: opts.connection,
    mailer: createMailer(opts.smtpUrl, { maxConnections: 5 }),
    campaign: { trackingSecret: TRACKING_SECRET, publicBaseUrl: PUBLIC_BASE_URL, domainRatePerMinute: opts.domainRatePerMinute ?? 60_000, leaseSeconds: opts.leaseSeconds },
  });
}

export interface SeedContact {
  email: string;
  first_name?: string;
  country?: string;
  title?: string;
  company_name?: string;
  /** Only an email and a name: scores 55 (vault.f_contact_score), below the default target of 80. */
  partial?: boolean;
}

/**
 * Inserts contacts straight into vault.contacts (the promotion path is tested elsewhere). Name,
 * title and company make a score of 85 (the trigger computes it from completeness).
 */
export async function seedContacts(pool: Pool, source: string, contacts: SeedContact[]): Promise<Map<string, number>> {
  const { rows } = await pool.query(
    `insert into vault.contacts (email, first_name, country, title, company_name, source)
     select lower(x.email), coalesce(x.first_name, 'Pat'), x.country,
            case when x.partial then null else coalesce(x.title, 'Head of Operations') end,
            case when x.partial then null else coalesce(x.company_name, 'Acme') end, $2
       from jsonb_to_recordset($1::jsonb) as x(email text, first_name text, country text, title text, company_name text, partial boolean)
     returning contact_id, email`,
    [JSON.stringify(contacts), source],
  );
  return new Map(rows.map((r) => [r.email, r.contact_id]));
}

export function api(app: App, headers: Record<string, string>) {
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.body ? safeJson(res.body) : undefined, headers: res.headers, raw: res.body };
  };
  return {
    call,
    async template(body: { subject: string; html?: string; text_body?: string; name?: string }): Promise<number> {
      const res = await call('POST', '/api/templates', { name: 'test template', ...body });
      if (res.status !== 201) throw new Error(`template: ${res.status} ${res.raw}`);
      return res.body.template_id;
    },
    async campaign(body: Record<string, unknown>): Promise<number> {
      const res = await call('POST', '/api/campaigns', { name: 'test campaign', from_email: 'sales@sender.example', ...body });
      if (res.status !== 201) throw new Error(`campaign: ${res.status} ${res.raw}`);
      return res.body.campaign_id;
    },
    async start(id: number) {
      const res = await call('POST', `/api/campaigns/${id}/start`);
      if (res.status !== 202) throw new Error(`start: ${res.status} ${res.raw}`);
      return res.body.workflow_id as string;
    },
  };
}

function safeJson(s: string) {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

export const result = (temporal: Client, workflowId: string) => temporal.workflow.getHandle(workflowId).result();

/**
 * Workflow IDs are campaign:<campaign_id>, and every test file has its own database but shares
 * one Temporal namespace: start each file's campaign ids at a random offset so they never meet.
 */
export async function isolateCampaignIds(pool: Pool): Promise<void> {
  const start = 1 + Math.floor(Math.random() * 1e9);
  await pool.query(`alter table marketing.campaigns alter column campaign_id restart with ${start}`);
}

export interface CampaignStack {
  db: TestDatabase;
  temporal: Client;
  worker: TestWorker;
  app: App;
  sink: SmtpSink;
  http: ReturnType<typeof api>;
  taskQueue: string;
  close(): Promise<void>;
}

/**
 * A test file's campaign stack: its own database (campaign ids offset at random, since every file
 * shares one Temporal namespace), an SMTP sink, a worker sending through it, and the API.
 */
export async function startCampaignStack(opts: {
  name: string;
  sink?: Parameters<typeof startSmtpSink>[0];
  domainRatePerMinute?: number;
  config?: Record<string, string>;
  /** More activity dependencies for the worker (mailboxes, …). */
  deps?: Partial<ActivityDeps>;
}): Promise<CampaignStack> {
  const taskQueue = uniqueId(opts.name);
  const db = await testDatabase();
  await isolateCampaignIds(db.pool);
  const temporal = await temporalClient();
  const sink = await startSmtpSink(opts.sink);
  const worker = await startCampaignWorker({ pool: db.pool, taskQueue, smtpUrl: sink.url, domainRatePerMinute: opts.domainRatePerMinute, deps: opts.deps });
  const app = await testApp({
    pool: db.pool,
    temporal,
    config: { TASK_QUEUE: taskQueue, TRACKING_SECRET, PUBLIC_BASE_URL, CAMPAIGN_BATCH_SIZE: '50', ...opts.config },
  });
  const http = api(app, await bearer(db.pool, ['read', 'write'], 100_000, `${opts.name}-test`));
  return {
    db, temporal, worker, app, sink, http, taskQueue,
    async close() {
      await app.close();
      await worker.stop();
      await sink.close();
      await temporal.connection.close();
      await db.drop();
    },
  };
}
