// The built web app (web/dist, `npm run build:web`) served at / by the API, so the browser sees
// one origin. Hashed assets are cached for a year; index.html is revalidated on every load so a
// new build is picked up at once. Any other GET that asks for HTML gets index.html (the app's
// router takes it from there), except under the API's own prefixes, which keep their JSON 404.
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Paths the app never shadows: the API, its docs, MCP, tracking and unsubscribe links, probes. */
const SERVER_PREFIXES = ['/api', '/docs', '/mcp', '/t/', '/u/', '/metrics', '/health', '/ready', '/webhooks'];

export const isServerPath = (url: string) =>
  SERVER_PREFIXES.some((prefix) => url === prefix.replace(/\/$/, '') || url.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));

export const webAppPlugin = fp<{ root?: string }>(async (app, options) => {
  const root = path.resolve(options.root ?? DEFAULT_WEB_DIST);
  const built = existsSync(path.join(root, 'index.html'));
  if (!built) app.log.warn(`web app not built (${root}/index.html missing): run npm run build:web`);
  await app.register(fastifyStatic, { root, serve: false }); // only reply.sendFile, with our routes below

  const sendIndex = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false });

  const route = async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    const url = request.url.split('?')[0];
    if (isServerPath(url)) return reply.callNotFound();
    if (!built) {
      return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store')
        .send('<!doctype html><title>Barton Outreach</title><p>The web app is not built yet: run <code>npm run build:web</code> and reload.</p>');
    }
    const relative = path.normalize(decodeURIComponent(request.params['*'] ?? '')).replace(/^([/\\]|\.\.[/\\])+/, '');
    const file = path.join(root, relative);
    if (relative && file.startsWith(root + path.sep) && existsSync(file) && statSync(file).isFile()) {
      // Vite names files under assets/ by their content hash: they never change at a given URL
      const immutable = relative.startsWith(`assets${path.sep}`);
      return reply
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .sendFile(relative, root, { cacheControl: false });
    }
    if (/\btext\/html\b/.test(request.headers.accept ?? '')) return sendIndex(reply);
    return reply.callNotFound();
  };
  const routeOptions = { schema: { hide: true }, config: { public: true } } as const;
  app.get('/', routeOptions, route);
  app.get('/*', routeOptions, route);
});
