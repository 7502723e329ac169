import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse, NoContent } from '../schemas/common';
import {
  DeliveryPage, SubscriptionBody, SubscriptionCreated, SubscriptionCursorQuery, SubscriptionList, SubscriptionParams,
} from '../schemas/webhooks';
import { HttpError } from '../errors';
import { createWebhooksRepository } from '../../db/webhooks';
import { webhookPolicyOf } from '../../common/config';
import { newWebhookSecret } from '../../common/webhook-signature';
import { checkDestination, destinationPolicy, DestinationRefused } from '../../clients/webhook-http';

/**
 * Outbound webhook subscriptions (admin scope): which events go where. Deliveries are made by
 * the webhook workflows (workflows/webhooks.ts), signed with the secret shown once at creation.
 */
const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const webhooks = createWebhooksRepository(app.pg);
  const policy = destinationPolicy(webhookPolicyOf(app.config));
  const tags = ['webhooks'];
  const admin = { scope: 'admin' as const };

  app.post('/api/webhook-subscriptions', {
    config: admin,
    schema: {
      summary: 'Subscribe a URL to event types; the answer holds the signing secret, shown only this once',
      tags, body: SubscriptionBody, response: { 201: SubscriptionCreated, 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const { url, event_types, description } = request.body;
    try {
      // refused now when it plainly points inside; checked again at every connection
      await checkDestination(url, policy);
    } catch (err) {
      if (err instanceof DestinationRefused) throw new HttpError(400, `invalid url: ${err.message}`, { issues: [{ field: 'url', message: err.message }] });
      throw err;
    }
    const secret = newWebhookSecret();
    const created = await webhooks.createSubscription({
      url, eventTypes: [...new Set(event_types)], secret, description: description ?? null, createdBy: request.apiKey?.name ?? null,
    });
    return reply.code(201).send({ ...created, secret });
  });

  app.get('/api/webhook-subscriptions', {
    config: admin,
    schema: { summary: 'Webhook subscriptions (never their secrets), cursor: the last subscription_id seen', tags, querystring: SubscriptionCursorQuery, response: { 200: SubscriptionList } },
  }, async (request) => {
    const page = await webhooks.page(request.query.cursor, request.query.limit);
    return { subscriptions: page.rows, next_cursor: page.nextCursor };
  });

  app.delete('/api/webhook-subscriptions/:id', {
    config: admin,
    schema: { summary: 'End a subscription: nothing more is sent to it, pending deliveries are cancelled', tags, params: SubscriptionParams, response: { 204: NoContent, 404: ErrorResponse } },
  }, async (request, reply) => {
    if (!(await webhooks.deleteSubscription(request.params.id))) throw new HttpError(404, `no webhook subscription ${request.params.id}`);
    return reply.code(204).send(null);
  });

  app.get('/api/webhook-subscriptions/:id/deliveries', {
    config: admin,
    schema: {
      summary: 'A subscription\'s deliveries, newest first (cursor: the last delivery_id seen): status, attempts, the receiver\'s last answer',
      tags, params: SubscriptionParams, querystring: SubscriptionCursorQuery, response: { 200: DeliveryPage, 404: ErrorResponse },
    },
  }, async (request) => {
    if (!(await webhooks.find(request.params.id))) throw new HttpError(404, `no webhook subscription ${request.params.id}`);
    const page = await webhooks.deliveries(request.params.id, request.query.cursor, request.query.limit);
    return { deliveries: page.rows as never, next_cursor: page.nextCursor };
  });
};

export default webhookRoutes;
