// Issue 10, signed provider webhooks: with MAILGUN_WEBHOOK_SIGNING_KEY set, the reply and bounce
// webhooks need Mailgun's signature (HMAC-SHA256 over timestamp + token) besides the API key:
// missing, wrong or stale (over 5 minutes) → 401, a replayed token → 409, nothing recorded.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { result, seedContacts, startCampaignStack, type CampaignStack } from './support/campaign-fixtures';
import { bearer, testApp, uniqueId } from './support/harness';
import { signLikeMailgun } from '../common/mailgun-signature';
import type { App } from '../api/app';

const SIGNING_KEY = 'key-test-0123456789abcdef';
let stack: CampaignStack;
let sent: { email: string; messageId: string }[];

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'signed-hooks', config: { MAILGUN_WEBHOOK_SIGNING_KEY: SIGNING_KEY } });
  const source = uniqueId('signed');
  const emails = ['bouncer', 'replier', 'stale', 'replayed'].map((n) => `${n}.${source}@example.com`);
  await seedContacts(stack.db.pool, source, emails.map((email) => ({ email })));
  const template = await stack.http.template({ subject: 'Hi', text_body: 'Hello' });
  const campaign = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: template }] });
  await result(stack.temporal, await stack.http.start(campaign));
  sent = emails.map((email) => ({ email, messageId: stack.sink.messages.find((m) => m.to.includes(email))!.messageId! }));
});

afterAll(async () => {
  await stack?.close();
});

const now = () => String(Math.floor(Date.now() / 1000));
const token = () => randomBytes(25).toString('hex');
const sign = (timestamp = now(), t = token()) => signLikeMailgun(SIGNING_KEY, timestamp, t);
const status = async (email: string) => (await stack.db.pool.query('select status from vault.contacts where email = $1', [email])).rows[0].status;
const bounce = (email: string, signature?: object) =>
  stack.http.call('POST', '/api/webhooks/bounces', { type: 'hard', email, ...(signature ? { signature } : {}) });

describe('with a signing key configured', () => {
  it('a correctly signed bounce is recorded', async () => {
    const res = await bounce(sent[0].email, sign());
    expect(res.status, res.raw).toBe(202);
    expect(await status(sent[0].email)).toBe('bounced');
  });

  it('a correctly signed reply is recorded', async () => {
    const res = await stack.http.call('POST', '/api/webhooks/replies', { from: sent[1].email, in_reply_to: sent[1].messageId, signature: sign() });
    expect(res.status, res.raw).toBe(202);
    expect(res.body.matched).toBe(true);
  });

  it('missing, wrong or stale signatures are 401 naming the signature, and change nothing', async () => {
    const email = sent[2].email;
    const good = sign();
    for (const [what, signature] of [
      ['missing', undefined],
      ['signed with another key', signLikeMailgun('another-key-0123456789', good.timestamp, good.token)],
      ['token swapped', { ...good, token: token() }],
      ['timestamp moved', { ...good, timestamp: String(Number(good.timestamp) + 1) }],
      ['six minutes old', sign(String(Math.floor(Date.now() / 1000) - 360))],
      ['six minutes ahead', sign(String(Math.floor(Date.now() / 1000) + 360))],
    ] as const) {
      const res = await bounce(email, signature);
      expect(res.status, what).toBe(401);
      expect(res.body.details.issues[0].field, what).toBe('signature');
    }
    const reply = await stack.http.call('POST', '/api/webhooks/replies', { from: email, in_reply_to: sent[2].messageId });
    expect(reply.status).toBe(401);
    expect(await status(email)).toBe('active');
    const { rows } = await stack.db.pool.query(`select count(*)::int as n from intake.audit_log where action in ('bounce_received', 'reply_received') and after->>'email' = $1`, [email]);
    expect(rows[0].n).toBe(0);
  });

  it('a replayed signature is 409 and records nothing the second time', async () => {
    const signature = sign();
    expect((await bounce(sent[3].email, { ...signature })).status).toBe(202);
    const count = async () => (await stack.db.pool.query(`select count(*)::int as n from intake.audit_log where action = 'bounce_received' and after->>'email' = $1`, [sent[3].email])).rows[0].n;
    expect(await count()).toBe(1);
    const again = await bounce(sent[3].email, signature);
    expect(again.status).toBe(409);
    expect(again.body.details.issues[0].field).toBe('signature.token');
    // the same token under a reply webhook is a replay too
    expect((await stack.http.call('POST', '/api/webhooks/replies', { from: sent[3].email, in_reply_to: sent[3].messageId, signature })).status).toBe(409);
    expect(await count()).toBe(1);
  });

  it('a signed event that cannot be matched (422) keeps its token: the same request again is a replay', async () => {
    const signature = sign();
    expect((await bounce('never-mailed@example.com', signature)).status).toBe(422);
    expect((await bounce('never-mailed@example.com', signature)).status).toBe(409);
  });
});

describe('without a signing key', () => {
  let plain: App;
  beforeAll(async () => {
    plain = await testApp({ pool: stack.db.pool, temporal: stack.temporal, config: { TASK_QUEUE: stack.taskQueue } });
  });
  afterAll(async () => {
    await plain?.close();
  });

  it('the API key alone is enough, as before', async () => {
    const res = await plain.inject({
      method: 'POST', url: '/api/webhooks/bounces',
      headers: await bearer(stack.db.pool, ['write'], 100, 'unsigned-sender'),
      payload: { type: 'soft', email: sent[0].email },
    });
    expect(res.statusCode, res.body).toBe(202);
  });
});
