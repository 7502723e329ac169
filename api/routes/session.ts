import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply } from 'fastify';
import { findApiKey } from '../../db/api-keys';
import { createSession, csrfTokenMatches, findSession, revokeSession, type Session } from '../../db/sessions';
import { SessionBody, SessionInfo } from '../schemas/session';
import { ErrorResponse, NoContent } from '../schemas/common';
import { HttpError } from '../errors';
import { auditContext } from '../audit-context';
import { clearSessionCookie, sessionTokenOf, setSessionCookie } from '../session-cookie';

const info = (s: Session) => ({
  name: s.apiKey.name, key_prefix: s.apiKey.prefix, scopes: s.apiKey.scopes,
  created_at: s.createdAt, expires_at: s.expiresAt, idle_expires_at: s.idleExpiresAt, csrf_token: s.csrfToken,
});
// the answer carries the CSRF token: no cache keeps it
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

/**
 * Sign-in for the web app (issue 11): an API key is exchanged once for a session in an HttpOnly,
 * SameSite=Strict cookie (api/session-cookie.ts says when it is Secure). The session acts with
 * the key's name, scopes and rate limit on /api routes; writes with it need X-CSRF-Token.
 */
const sessionRoutes: FastifyPluginAsyncZod = async (app) => {
  const tags = ['session'];
  const security = [{ session: [] }];

  app.post('/api/session', {
    config: { public: true }, // the key comes in the body
    schema: {
      summary: 'Sign in: exchange an API key for a session cookie',
      description: 'Answers the session and sets it as an HttpOnly, SameSite=Strict cookie (Secure unless the request is plain http to localhost or 127.0.0.1). ' +
        'Wrong keys count against the per-address limit of failed authentications like a wrong Bearer key.',
      tags, body: SessionBody,
      response: { 201: SessionInfo, 401: ErrorResponse.describe('the key is unknown, wrong, revoked or expired; no session is made'), 429: ErrorResponse },
    },
  }, async (request, reply) => {
    // over the limit, keys are not even looked at: no guessing oracle
    if (app.authGuard.isOver(request)) app.authGuard.refuse(request, 'invalid, revoked or expired API key');
    const key = await findApiKey(app.pg, request.body.apiKey.trim());
    if (!key) return app.authGuard.refuse(request, 'invalid, revoked or expired API key');
    request.apiKey = key;
    const opened = await createSession(app.pg, key, auditContext(request));
    if (!opened) return app.authGuard.refuse(request, 'invalid, revoked or expired API key'); // revoked meanwhile
    setSessionCookie(request, reply, opened.token, opened.session.expiresAt);
    return noStore(reply).code(201).send(info(opened.session));
  });

  app.get('/api/session', {
    config: { public: true }, // answers 401 itself: "not signed in" is this route's answer, not a failure
    schema: {
      summary: 'The current session: who, scopes, expiry, CSRF token',
      tags, security, response: { 200: SessionInfo, 401: ErrorResponse.describe('no live session cookie'), 503: ErrorResponse.describe('the database is unreachable') },
    },
  }, async (request, reply) => {
    const token = sessionTokenOf(request);
    const session = token ? await findSession(app.pg, token) : null;
    if (!session) throw new HttpError(401, 'not signed in (no session, or it was signed out, expired, or its API key revoked)');
    return noStore(reply).send(info(session));
  });

  app.delete('/api/session', {
    config: { public: true },
    schema: {
      summary: 'Sign out: revoke the session and clear its cookie',
      description: 'Needs X-CSRF-Token when the session is live. Without a live session it only clears the cookie.',
      tags, security, response: { 204: NoContent, 403: ErrorResponse.describe('X-CSRF-Token missing or wrong'), 503: ErrorResponse.describe('the database is unreachable; the session is not revoked') },
    },
  }, async (request, reply) => {
    const token = sessionTokenOf(request);
    const session = token ? await findSession(app.pg, token) : null;
    if (token && session) {
      if (!csrfTokenMatches(token, request.headers['x-csrf-token'] as string | undefined)) {
        throw new HttpError(403, 'missing or wrong X-CSRF-Token header: signing out needs the csrf_token of the session', { issues: [{ field: 'x-csrf-token', message: 'must equal the session\'s csrf_token' }] });
      }
      request.apiKey = session.apiKey;
      await revokeSession(app.pg, token, auditContext(request));
    }
    clearSessionCookie(request, reply);
    return reply.code(204).send(null);
  });
};

export default sessionRoutes;
