import type { FastifyReply, FastifyRequest } from 'fastify';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The session cookie is Secure (and then named with the __Host- prefix, which browsers accept only
 * from a secure origin, for Path=/, without Domain) unless this request is plain http to the machine
 * itself: a browser drops Secure cookies set over http to any other host. Decided per request, so
 * http://localhost:3000 works in development and anything else — a TLS-terminating proxy in front
 * (the API then sees http, but a public Host) included — gets the Secure cookie.
 */
export function sessionCookieIsSecure(request: FastifyRequest): boolean {
  return !(request.protocol === 'http' && LOCAL_HOSTS.has(request.hostname));
}

export const sessionCookieName = (request: FastifyRequest) => (sessionCookieIsSecure(request) ? '__Host-bo_session' : 'bo_session');

/** The session token the request's cookie carries, if any. */
export const sessionTokenOf = (request: FastifyRequest): string | undefined => request.cookies[sessionCookieName(request)];

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, expiresAt: Date): void {
  reply.setCookie(sessionCookieName(request), token, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: sessionCookieIsSecure(request),
    // the browser keeps it to the session's absolute expiry; the server enforces the idle one
    maxAge: Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000)),
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(sessionCookieName(request), { httpOnly: true, sameSite: 'strict', path: '/', secure: sessionCookieIsSecure(request) });
}
