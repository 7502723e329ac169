import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createTrackingRepository } from '../../db/tracking';
import { createWebhookTokensRepository } from '../../db/webhook-tokens';
import { verifyTrackingToken } from '../../common/tracking-tokens';
import { SIGNATURE_MAX_AGE_S, verifyMailgunSignature, type MailgunSignature } from '../../common/mailgun-signature';
import { ErrorResponse } from '../schemas/common';
import { BounceWebhook, ReplyWebhook, TokenParams, WebhookAccepted } from '../schemas/tracking';
import { HttpError } from '../errors';
import { autoReplyReason } from '../../common/inbound-mail';

// The smallest transparent GIF (43 bytes).
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const html = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${title}</title></head><body>${body}</body></html>`;
const messageIds = (v: string | string[] | undefined) =>
  (Array.isArray(v) ? v : (v ?? '').split(/\s+/)).map((s) => s.trim()).filter(Boolean).map((s) => (s.startsWith('<') ? s : `<${s}>`));

/**
 * Tracking links in sent mail (public: the recipient has no API key) and the provider webhooks.
 * Every link carries an HMAC-signed token; anything unsigned or altered is refused and never
 * redirects anywhere. Opens and clicks are classified human, machine or bot from the user agent
 * and the time since the send (common/engagement.ts); the client's address helps classify and is
 * never stored.
 */
const trackingRoutes: FastifyPluginAsyncZod = async (app) => {
  const tracking = createTrackingRepository(app.pg);
  const secret = app.config.TRACKING_SECRET;
  // RFC 8058 one-click POSTs arrive form-encoded (or multipart); the body is not needed.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  const tags = ['tracking'];
  const agentOf = (request: { headers: Record<string, string | string[] | undefined>; ip: string }) => {
    const ua = request.headers['user-agent'];
    return { userAgent: Array.isArray(ua) ? ua[0] : ua, ip: request.ip };
  };

  // Provider webhooks: with a signing key configured, a request also needs Mailgun's signature,
  // fresh and never seen before. The token is kept once accepted (a replay gets 409) and let go
  // when the event could not be processed, so the provider's retry of it is accepted.
  const signingKey = app.config.MAILGUN_WEBHOOK_SIGNING_KEY;
  const webhookTokens = createWebhookTokensRepository(app.pg);
  const unsigned = (message: string) => new HttpError(401, message, { issues: [{ field: 'signature', message }] });
  async function signed<T>(signature: MailgunSignature | undefined, handle: () => Promise<T>): Promise<T> {
    if (!signingKey) return handle();
    if (!signature) throw unsigned('a signature is required: this API verifies Mailgun webhook signatures');
    const verdict = verifyMailgunSignature(signingKey, signature);
    if (verdict === 'mismatch') throw unsigned('the signature does not match its timestamp and token');
    if (verdict === 'stale') throw unsigned(`the signature's timestamp is more than ${SIGNATURE_MAX_AGE_S / 60} minutes away from now`);
    if (!(await webhookTokens.claim(signature.token))) {
      throw new HttpError(409, 'this signature was already used (a replay); nothing was recorded', { issues: [{ field: 'signature.token', message: 'already used' }] });
    }
    try {
      return await handle();
    } catch (err) {
      if (!(err instanceof HttpError)) await webhookTokens.release(signature.token).catch(() => undefined);
      throw err;
    }
  }
  const signedResponses = {
    401: ErrorResponse.describe('Unauthorized: missing, invalid or revoked API key; or, with MAILGUN_WEBHOOK_SIGNING_KEY set, a missing, wrong or stale signature'),
    409: ErrorResponse.describe('Conflict: the signature was already used (a replay); nothing was recorded'),
  };

  app.get('/t/o/:token', {
    config: { public: true },
    schema: { summary: 'Open pixel (1x1 GIF)', tags, params: TokenParams },
  }, async (request, reply) => {
    const claims = verifyTrackingToken(secret, request.params.token.replace(/\.gif$/, ''), 'open');
    if (claims) await tracking.recordOpen(claims.outreachId, agentOf(request));
    // the pixel is answered either way: a broken image reveals nothing and fixes nothing
    return reply.code(200).header('content-type', 'image/gif').header('cache-control', 'no-store, max-age=0').send(PIXEL);
  });

  app.get('/t/c/:token', {
    config: { public: true },
    schema: { summary: 'Click redirect (signed; never an open redirect)', tags, params: TokenParams, response: { 400: ErrorResponse } },
  }, async (request, reply) => {
    const claims = verifyTrackingToken(secret, request.params.token, 'click');
    if (!claims?.url) throw new HttpError(400, 'invalid or tampered link');
    await tracking.recordClick(claims.outreachId, claims.url, agentOf(request), claims.honeypot === true);
    return reply.header('cache-control', 'no-store').redirect(claims.url, 302);
  });

  // A page for humans: link scanners follow GETs, so the GET only shows a button.
  app.get('/u/:token', {
    config: { public: true },
    schema: { summary: 'Unsubscribe page (does not unsubscribe by itself)', tags, params: TokenParams },
  }, async (request, reply) => {
    const claims = verifyTrackingToken(secret, request.params.token, 'unsubscribe');
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store');
    if (!claims) return reply.code(400).send(html('Invalid link', '<p>This unsubscribe link is not valid.</p>'));
    return reply.code(200).send(html('Unsubscribe',
      `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><p>Stop receiving these emails?</p><button type="submit">Unsubscribe</button></form>`));
  });

  app.post('/u/:token', {
    config: { public: true },
    schema: { summary: 'RFC 8058 one-click unsubscribe (POST List-Unsubscribe=One-Click); no confirmation step', tags, params: TokenParams },
  }, async (request, reply) => {
    const claims = verifyTrackingToken(secret, request.params.token, 'unsubscribe');
    reply.header('content-type', 'text/html; charset=utf-8');
    if (!claims) return reply.code(400).send(html('Invalid link', '<p>This unsubscribe link is not valid.</p>'));
    const found = await tracking.unsubscribe(claims.outreachId, 'one-click');
    if (!found) return reply.code(404).send(html('Unknown', '<p>We could not find this message.</p>'));
    return reply.code(200).send(html('Unsubscribed', '<p>You are unsubscribed and will receive no further emails.</p>'));
  });

  app.post('/api/webhooks/replies', {
    config: { scope: 'write' },
    schema: {
      summary: 'Inbound reply: stops the contact\'s later steps (an automatic reply, told by its subject, is recorded as one and does not). Matched when In-Reply-To/References name a message of ours sent to `from`; a repeat with the same `message_id` changes nothing',
      tags, body: ReplyWebhook, response: { 202: WebhookAccepted, 400: ErrorResponse, ...signedResponses },
    },
  }, async (request, reply) => signed(request.body.signature, async () => {
    const b = request.body;
    const ids = [...messageIds(b.in_reply_to), ...messageIds(b.references)];
    // an out-of-office reply is recorded as one and does not stop the sequence (only its subject is known here)
    const auto = autoReplyReason({ subject: b.subject, headers: {}, inReplyTo: [], references: [] });
    const ownId = b.message_id ? messageIds(b.message_id)[0] : undefined;
    const outreachId = await tracking.recordReply({
      from: b.from,
      messageIds: ids,
      details: { from: b.from, message_id: b.message_id ?? null, subject: b.subject ?? null, ...(auto ? { auto_reply: auto } : {}) },
      // a provider that posts the same reply again changes nothing
      dedupeKey: ownId ? `reply:${ownId}` : undefined,
      auto: auto !== undefined,
    });
    return reply.code(202).send({ matched: outreachId !== null, outreach_id: outreachId });
  }));

  app.post('/api/webhooks/bounces', {
    config: { scope: 'write' },
    schema: {
      summary: 'Bounce or complaint for a message we sent: hard bounces and complaints suppress the address everywhere; anything else is a 422 and changes nothing',
      tags, body: BounceWebhook, response: { 202: WebhookAccepted, 400: ErrorResponse, 422: ErrorResponse, ...signedResponses },
    },
  }, async (request, reply) => signed(request.body.signature, async () => {
    const b = request.body;
    const outcome = await tracking.recordBounce({
      email: b.email,
      messageId: b.message_id ? messageIds(b.message_id)[0] : undefined,
      kind: b.type,
      details: { diagnostic: b.diagnostic ?? null },
    });
    if (outcome !== 'recorded') {
      // Only mail we sent can bounce: an event naming anything else would suppress an address for good.
      const [field, message] = outcome === 'unknown-message' || !b.email
        ? ['message_id', 'names no message we sent']
        : ['email', 'we have sent no message to this address'];
      throw new HttpError(422, `${field} ${message}; nothing was recorded`, { issues: [{ field, message }] });
    }
    return reply.code(202).send({ matched: true });
  }));
};

export default trackingRoutes;
