// Outbound webhooks end to end: subscriptions through the API, events emitted in the changing
// transaction, delivered by the webhook workflows to a real HTTP receiver that checks the
// signature; a 500 retried with backoff and then delivered; SSRF destinations refused.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { bearer, startTestWorker, temporalClient, testApp, testDatabase, uniqueId, waitUntil, type TestDatabase, type TestWorker } from './support/harness';
import type { App } from '../api/app';
import { startWebhookDispatch } from '../worker/webhook-dispatch';
import { verifySignature } from '../common/webhook-signature';
import { checkDestination, destinationPolicy, DestinationRefused, postWebhook, type Resolver } from '../clients/webhook-http';
import { loadConfig } from '../common/config';
import { createTrackingRepository } from '../db/tracking';
import type { WebhookDeliveryResult } from '../contracts/webhooks';
import type { CampaignProgress } from '../contracts/campaign';
import { createMailer } from '../clients/mailer';
import { startSmtpSink, type SmtpSink } from './fakes/smtp';
import { api, isolateCampaignIds, PUBLIC_BASE_URL, seedContacts, TRACKING_SECRET } from './support/campaign-fixtures';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook receiver on 127.0.0.1: records each request, answers from `answers` (then 200). */
async function startReceiver() {
  const received: Received[] = [];
  const answers: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      const status = answers.shift() ?? 200;
      if (status === 302) res.setHeader('location', `http://127.0.0.1:${port}/elsewhere`);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { received, answers, url: (path: string) => `http://127.0.0.1:${port}${path}`, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const RETRY = { initialIntervalMs: 200, maximumIntervalMs: 1000, maximumAttempts: 4 };
let db: TestDatabase;
let temporal: Client;
let worker: TestWorker;
let strictWorker: TestWorker;
let app: App;
let strictApp: App;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let stopDispatch: () => Promise<void>;
let sink: SmtpSink;
let admin: Record<string, string>;
const taskQueue = uniqueId('webhooks');
const strictQueue = uniqueId('webhooks-strict');

beforeAll(async () => {
  db = await testDatabase();
  await isolateCampaignIds(db.pool);
  temporal = await temporalClient();
  receiver = await startReceiver();
  sink = await startSmtpSink();
  // Tests deliver to 127.0.0.1 over http: the allowance that exists only outside production.
  worker = await startTestWorker({
    pool: db.pool, taskQueue, webhooks: { policy: destinationPolicy({ production: false, allowPrivate: true }) },
    mailer: createMailer(sink.url, { maxConnections: 2 }),
    campaign: { trackingSecret: TRACKING_SECRET, publicBaseUrl: PUBLIC_BASE_URL, domainRatePerMinute: 60_000 },
  });
  strictWorker = await startTestWorker({ pool: db.pool, taskQueue: strictQueue, webhooks: { policy: destinationPolicy({ production: false, allowPrivate: false }) } });
  app = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', TRACKING_SECRET, PUBLIC_BASE_URL } });
  strictApp = await testApp({ pool: db.pool, temporal, config: { TASK_QUEUE: taskQueue } });
  admin = await bearer(db.pool, ['admin'], 100_000, 'webhook-admin');
  stopDispatch = startWebhookDispatch({ client: temporal, pool: db.pool, taskQueue, input: { retry: RETRY, pollMs: 5000 }, log: () => undefined });
});

afterAll(async () => {
  await stopDispatch?.();
  await temporal?.workflow.getHandle(`webhook-dispatch:${taskQueue}`).terminate('test over').catch(() => undefined);
  await app?.close();
  await strictApp?.close();
  await worker?.stop();
  await strictWorker?.stop();
  await receiver?.close();
  await sink?.close();
  await temporal?.connection.close();
  await db?.drop();
});

const call = (target: App, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, headers = admin) =>
  target.inject({ method, url, headers, ...(payload ? { payload } : {}) });

async function subscribe(path: string, eventTypes: string[]) {
  const res = await call(app, 'POST', '/api/webhook-subscriptions', { url: receiver.url(path), event_types: eventTypes });
  expect(res.statusCode).toBe(201);
  return res.json<{ subscription_id: number; secret: string }>();
}

const deliveries = async (subscriptionId: number) =>
  (await call(app, 'GET', `/api/webhook-subscriptions/${subscriptionId}/deliveries`)).json().deliveries as { status: string; attempts: number; last_status: number | null; last_error: string | null; event_id: string }[];
const requestsTo = (path: string) => receiver.received.filter((r) => r.path === path);

describe('delivery', () => {
  it('signs each delivery so the receiver can verify it (contact.promoted from a real promotion)', async () => {
    const sub = await subscribe('/promoted', ['contact.promoted']);
    const batch = uniqueId('wh');
    const res = await app.inject({
      method: 'POST', url: '/api/ingest?wait=true', headers: await bearer(db.pool, ['write']),
      payload: { source: 'manual', batch_id: batch, promote: true, rows: [{ email: 'ada@promoted.example', first_name: 'Ada' }, { email: 'grace@promoted.example' }] },
    });
    expect(res.statusCode).toBe(200);
    const mine = () => receiver.received.filter((r) => r.body.includes(batch));
    await waitUntil(async () => mine().length >= 2, 60_000, 'two contact.promoted deliveries');
    for (const r of mine()) {
      const header = String(r.headers['barton-signature']);
      expect(verifySignature(sub.secret, r.body, header)).toBe(true);
      expect(verifySignature(sub.secret, r.body.replace('promoted.example', 'evil.example'), header)).toBe(false); // a changed body fails
      expect(verifySignature('whsec_other', r.body, header)).toBe(false);
      const event = JSON.parse(r.body);
      expect(event).toMatchObject({ type: 'contact.promoted', data: { batch_id: batch, source: 'manual', created: true } });
      expect(r.headers['idempotency-key']).toBe(event.id);
      expect(r.headers['barton-event-type']).toBe('contact.promoted');
    }
    expect(mine().map((r) => JSON.parse(r.body).data.email).sort()).toEqual(['ada@promoted.example', 'grace@promoted.example']);
    await waitUntil(async () => (await deliveries(sub.subscription_id)).every((d) => d.status === 'delivered'), 10_000, 'deliveries marked delivered');
  });

  it('retries a 500 with exponential backoff, then delivers; the idempotency key stays the same', async () => {
    const sub = await subscribe('/flaky', ['conversion.recorded']);
    receiver.answers.push(500, 500);
    // what other code calls in its own transaction (conversions do, on their branch)
    await db.pool.query(`select ops.f_emit_event('conversion.recorded', jsonb_build_object('conversion_id', 7, 'path', '/flaky'))`);
    const mine = () => receiver.received.filter((r) => r.body.includes('"/flaky"'));
    await waitUntil(async () => (await deliveries(sub.subscription_id))[0]?.status === 'delivered', 30_000, 'the retried delivery');
    const [d] = await deliveries(sub.subscription_id);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, last_status: 200 });
    expect(mine()).toHaveLength(3);
    expect(new Set(mine().map((r) => r.headers['idempotency-key']))).toEqual(new Set([d.event_id]));
    expect(mine().map((r) => r.headers['barton-delivery-attempt'])).toEqual(['1', '2', '3']);
    for (const r of mine()) expect(verifySignature(sub.secret, r.body, String(r.headers['barton-signature']))).toBe(true);
    // backoff: at least the policy's 200 ms, then 400 ms, between attempts
    expect(mine()[1].at - mine()[0].at).toBeGreaterThanOrEqual(190);
    expect(mine()[2].at - mine()[1].at).toBeGreaterThanOrEqual(390);
  });

  it('gives up after the last attempt and records the delivery as failed; a redirect is not followed', async () => {
    const sub = await subscribe('/down', ['campaign.completed']);
    receiver.answers.push(503, 302, 503, 503);
    await db.pool.query(`select ops.f_emit_event('campaign.completed', jsonb_build_object('campaign_id', 1, 'path', '/down'))`);
    await waitUntil(async () => (await deliveries(sub.subscription_id))[0]?.status === 'failed', 30_000, 'the delivery to fail');
    expect((await deliveries(sub.subscription_id))[0]).toMatchObject({ status: 'failed', attempts: RETRY.maximumAttempts, last_status: 503 });
    expect(receiver.received.filter((r) => r.body.includes('"/down"'))).toHaveLength(RETRY.maximumAttempts);
    expect(requestsTo('/elsewhere')).toHaveLength(0);
  });

  it('emits in the changing transaction: an unsubscribe once, nothing for a repeat or a rollback', async () => {
    const sub = await subscribe('/unsub', ['contact.unsubscribed']);
    const { rows: [c] } = await db.pool.query(`insert into vault.contacts (email, source) values ('unsub@webhook.example', 'manual') returning contact_id`);
    const { rows: [k] } = await db.pool.query(`insert into marketing.campaigns (name, from_email) values ('wh', 'a@sender.example') returning campaign_id`);
    const { rows: [h] } = await db.pool.query(
      `insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status) values ($1, $2, 1, 'unsub@webhook.example', 'sent') returning outreach_id`,
      [k.campaign_id, c.contact_id],
    );
    const client = await db.pool.connect();
    await client.query('begin');
    await client.query(`select ops.f_emit_event('contact.unsubscribed', '{"rolled": "back"}')`);
    await client.query('rollback');
    client.release();
    const tracking = createTrackingRepository(db.pool);
    expect(await tracking.unsubscribe(h.outreach_id, 'one-click')).toBe(true);
    expect(await tracking.unsubscribe(h.outreach_id, 'one-click')).toBe(true);
    const { rows } = await db.pool.query(`select payload from ops.events where event_type = 'contact.unsubscribed'`);
    expect(rows).toEqual([{ payload: expect.objectContaining({ contact_id: c.contact_id, email: 'unsub@webhook.example', outreach_id: h.outreach_id, via: 'one-click' }) }]);
    await waitUntil(async () => (await deliveries(sub.subscription_id))[0]?.status === 'delivered', 30_000, 'the unsubscribe delivery');
  });
});

describe('events of a campaign', () => {
  it('campaign.completed, reply.received and email.bounced reach their subscription', async () => {
    const sub = await subscribe('/campaign', ['campaign.completed', 'reply.received', 'email.bounced']);
    const http = api(app, await bearer(db.pool, ['read', 'write'], 100_000, 'webhook-campaign'));
    const source = uniqueId('wh-campaign');
    await seedContacts(db.pool, source, [{ email: 'replier@wh.example' }, { email: 'bouncer@wh.example' }]);
    const template = await http.template({ subject: 'Hello', text_body: 'Hi there' });
    const campaignId = await http.campaign({ criteria: { sources: [source] }, rate_per_minute: 6000, steps: [{ template_id: template }] });
    const final = (await temporal.workflow.getHandle(await http.start(campaignId)).result()) as CampaignProgress;
    expect(final).toMatchObject({ phase: 'completed', sent: 2 });
    const messageTo = (email: string) => sink.messages.find((m) => m.to.includes(email))!.messageId;
    expect((await http.call('POST', '/api/webhooks/replies', { from: 'replier@wh.example', in_reply_to: messageTo('replier@wh.example'), subject: 'Re: Hello' })).status).toBe(202);
    expect((await http.call('POST', '/api/webhooks/bounces', { type: 'hard', message_id: messageTo('bouncer@wh.example'), diagnostic: '550 no such user' })).status).toBe(202);

    // (an earlier test's subscription to campaign.completed gets its own copy, at its own path)
    const mine = () => requestsTo('/campaign').map((r) => JSON.parse(r.body)).filter((e) => e.data.campaign_id === campaignId);
    await waitUntil(async () => mine().length >= 3, 30_000, 'three campaign events');
    const byType = Object.fromEntries(mine().map((e) => [e.type, e.data]));
    expect(byType['campaign.completed']).toMatchObject({ campaign_id: campaignId, sent_count: 2 });
    expect(byType['reply.received']).toMatchObject({ campaign_id: campaignId, email: 'replier@wh.example', step_no: 1 });
    expect(byType['email.bounced']).toMatchObject({ campaign_id: campaignId, email: 'bouncer@wh.example', kind: 'hard' });
    expect(mine()).toHaveLength(3);
    await waitUntil(async () => (await deliveries(sub.subscription_id)).every((d) => d.status === 'delivered'), 10_000, 'all delivered');
  });
});

describe('events of conversions', () => {
  it('conversion.recorded reaches its subscription once per new conversion; a repeated external_id emits nothing', async () => {
    await subscribe('/conversion', ['conversion.recorded']);
    const http = api(app, await bearer(db.pool, ['read', 'write'], 100_000, 'webhook-conversions'));
    const source = uniqueId('wh-conversion');
    await seedContacts(db.pool, source, [{ email: 'buyer@wh.example' }]);
    const conversion = { external_id: uniqueId('crm'), email: 'buyer@wh.example', type: 'closed_won', value: '1250.50', currency: 'USD', occurred_at: new Date().toISOString() };
    expect((await http.call('POST', '/api/conversions', conversion)).status).toBe(201);
    expect((await http.call('POST', '/api/conversions', conversion)).status).toBe(200);
    const mine = () => requestsTo('/conversion').map((r) => JSON.parse(r.body)).filter((e) => e.data.external_id === conversion.external_id);
    await waitUntil(async () => mine().length >= 1, 30_000, 'the conversion event');
    expect(mine()[0]).toMatchObject({ type: 'conversion.recorded', data: { type: 'closed_won', value: '1250.50', currency: 'USD' } });
    const { rows } = await db.pool.query(`select count(*)::int as n from ops.events where payload ->> 'external_id' = $1`, [conversion.external_id]);
    expect(rows[0].n).toBe(1);
  });
});

describe('subscriptions API', () => {
  it('shows the secret once, lists without it, deletes; admin scope only; bad input is a 400 naming the field', async () => {
    const sub = await subscribe('/api', ['reply.received', 'email.bounced']);
    expect(sub.secret).toMatch(/^whsec_/);
    const list = (await call(app, 'GET', '/api/webhook-subscriptions')).json();
    const listed = list.subscriptions.find((s: { subscription_id: number }) => s.subscription_id === sub.subscription_id);
    expect(listed).toMatchObject({ event_types: ['reply.received', 'email.bounced'] });
    expect(JSON.stringify(list)).not.toContain(sub.secret);

    expect((await call(app, 'GET', '/api/webhook-subscriptions', undefined, await bearer(db.pool, ['read', 'write']))).statusCode).toBe(403);
    const before = (await db.pool.query('select count(*)::int as n from ops.webhook_subscriptions')).rows[0].n;
    const badType = await call(app, 'POST', '/api/webhook-subscriptions', { url: receiver.url('/x'), event_types: ['contact.exploded'] });
    expect(badType.statusCode).toBe(400);
    expect(badType.body).toContain('event_types');
    const badUrl = await call(app, 'POST', '/api/webhook-subscriptions', { url: 'ftp://files.example/hook', event_types: ['reply.received'] });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json().details.issues[0].field).toBe('url');
    expect((await db.pool.query('select count(*)::int as n from ops.webhook_subscriptions')).rows[0].n).toBe(before);

    expect((await call(app, 'DELETE', `/api/webhook-subscriptions/${sub.subscription_id}`)).statusCode).toBe(204);
    expect((await call(app, 'DELETE', `/api/webhook-subscriptions/${sub.subscription_id}`)).statusCode).toBe(404);
    const after = (await call(app, 'GET', '/api/webhook-subscriptions')).json();
    expect(after.subscriptions.some((s: { subscription_id: number }) => s.subscription_id === sub.subscription_id)).toBe(false);
  });
});

describe('SSRF', () => {
  it('refuses loopback, private, link-local, metadata and names resolving to loopback at subscription time', async () => {
    for (const url of [
      'http://127.0.0.1/hook', 'http://10.1.2.3/hook', 'http://192.168.0.10/hook', 'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/hook', 'http://[::ffff:127.0.0.1]/hook', 'http://[fd00:ec2::254]/hook', `http://localhost:${receiver.port}/hook`,
    ]) {
      const res = await call(strictApp, 'POST', '/api/webhook-subscriptions', { url, event_types: ['reply.received'] });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().details.issues[0].field).toBe('url');
    }
  });

  it('checks every connection: a name that resolves to loopback when the request is made is refused (DNS rebinding)', async () => {
    const policy = destinationPolicy({ production: false, allowPrivate: false });
    let answer = '93.184.215.14';
    const rebinding: Resolver = async () => [{ address: answer, family: 4 }];
    await expect(checkDestination(`http://rebind.example:${receiver.port}/hook`, policy, rebinding)).resolves.toBeUndefined();
    answer = '127.0.0.1'; // the name now points inside
    const before = receiver.received.length;
    await expect(postWebhook(`http://rebind.example:${receiver.port}/hook`, '{}', {}, { policy, resolve: rebinding })).rejects.toThrow(DestinationRefused);
    for (const url of [receiver.url('/direct'), `http://[::1]:${receiver.port}/`, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/']) {
      await expect(postWebhook(url, '{}', {}, { policy }), url).rejects.toThrow(DestinationRefused);
    }
    await expect(postWebhook(`http://localhost:${receiver.port}/`, '{}', {}, { policy })).rejects.toThrow(/resolves to/);
    expect(receiver.received.length).toBe(before);
  });

  it('a delivery to a destination that now resolves inside fails at once, unsent and not retried', async () => {
    // stored as if it had resolved to a public address when subscribed
    const { rows: [s] } = await db.pool.query(
      `insert into ops.webhook_subscriptions (url, event_types, secret) values ($1, '{reply.received}', 'whsec_x') returning subscription_id`,
      [`http://localhost:${receiver.port}/inside`],
    );
    const { rows: [e] } = await db.pool.query(`insert into ops.events (event_type, payload) values ('reply.received', '{}') returning event_id`);
    const { rows: [d] } = await db.pool.query(
      'insert into ops.webhook_deliveries (event_id, subscription_id, dispatched_at) values ($1, $2, now()) returning delivery_id',
      [e.event_id, s.subscription_id],
    );
    const before = receiver.received.length;
    const result: WebhookDeliveryResult = await temporal.workflow.execute('webhookDeliveryWorkflow', {
      taskQueue: strictQueue, workflowId: uniqueId('webhook-refused'), args: [{ deliveryId: d.delivery_id, retry: RETRY }],
    });
    expect(result).toEqual({ deliveryId: d.delivery_id, status: 'failed', attempts: 1 });
    const { rows: [row] } = await db.pool.query('select status, last_error from ops.webhook_deliveries where delivery_id = $1', [d.delivery_id]);
    expect(row.status).toBe('failed');
    expect(row.last_error).toMatch(/refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(receiver.received.length).toBe(before);
  });

  it('production: https only, and the private-destination allowance cannot be turned on', () => {
    expect(() => loadConfig([], { NODE_ENV: 'production', TRACKING_SECRET: 'x'.repeat(32), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })).toThrow(/WEBHOOK_ALLOW_PRIVATE_TARGETS/);
    expect(() => destinationPolicy({ production: true, allowPrivate: true })).toThrow(DestinationRefused);
    const production = destinationPolicy({ production: true, allowPrivate: false });
    return expect(checkDestination('http://hooks.example.com/x', production)).rejects.toThrow(/https/);
  });
});
