import Fastify, { type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { servicesPlugin, type Services } from './plugins/services';
import { authPlugin, requiredScope } from './plugins/auth';
import { metricsPlugin } from './plugins/metrics';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { activeTracing } from '../clients/telemetry';
import { answerFrameworkError, documentCommonResponses, registerErrorHandler } from './errors';
import { registerInputGuards } from './input-guards';
import healthRoutes from './routes/health';
import ingestRoutes from './routes/ingest';
import promoteRoutes from './routes/promote';
import workflowRoutes from './routes/workflows';
import contactRoutes from './routes/contacts';
import companyRoutes from './routes/companies';
import peopleRoutes from './routes/people';
import enrichRoutes from './routes/enrich';
import templateRoutes from './routes/templates';
import campaignRoutes from './routes/campaigns';
import trackingRoutes from './routes/tracking';
import suppressionRoutes from './routes/suppressions';
import webhookRoutes from './routes/webhooks';
import auditRoutes from './routes/audit';
import apiKeyRoutes from './routes/api-keys';
import conversionRoutes from './routes/conversions';
import analyticsRoutes from './routes/analytics';
import sessionRoutes from './routes/session';
import totalsRoutes from './routes/totals';

export interface AppOptions extends Services {
  logger?: FastifyServerOptions['logger'];
}

/**
 * The API: plugins first (services, docs, auth, metrics), then one route file per resource.
 * Not ready yet: entry points may add plugins (MCP's /mcp) before listen or ready.
 */
export async function buildApp({ logger = false, ...services }: AppOptions) {
  const app = Fastify({
    logger,
    bodyLimit: services.config.API_BODY_LIMIT_MB * 1024 * 1024,
    genReqId: () => crypto.randomUUID(),
    // Click tokens carry their target URL (a 500-character URL makes a ~700-character token) and
    // batch/enrichment ids may be 128 characters; Fastify's default of 100 answered those with 414.
    routerOptions: { maxParamLength: 4096 },
    frameworkErrors: answerFrameworkError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  // Every answer names its request: the id the audit log keeps for the writes it made (errors carry it as requestId too).
  app.addHook('onSend', async (request, reply) => void reply.header('x-request-id', request.id));
  registerInputGuards(app);
  documentCommonResponses(app); // an onRoute hook: before any route is added

  // With tracing on (clients/telemetry.ts), each request is a span whose context the workflow starts and queries inherit.
  const tracing = activeTracing();
  if (tracing) {
    const otel = new FastifyOtelInstrumentation({ ignorePaths: (r) => r.url === '/metrics' || r.url === '/health' });
    otel.setTracerProvider(tracing.provider);
    await app.register(otel.plugin());
  }
  await app.register(servicesPlugin, services);
  await app.register(helmet, { contentSecurityPolicy: false });
  // Browsers on other sites get no Access-Control-Allow-Origin unless their origin is configured
  // (the docs UI is same-origin and needs none). Preflights are answered here, before auth.
  const { CORS_ORIGINS, PUBLIC_BASE_URL } = services.config;
  await app.register(cors, {
    origin: [...new Set([...CORS_ORIGINS, ...(PUBLIC_BASE_URL ? [new URL(PUBLIC_BASE_URL).origin] : [])])],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['etag', 'retry-after'], // If-Match needs the ETag; 429 and 503 say when to retry
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Barton Outreach API', version: '0.1.0' },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http', scheme: 'bearer',
            description: 'An API key (npm run apikey:create). Each operation names the scope it needs in `x-required-scope` ' +
              '(read, write or admin; an admin key has them all): a key without it is answered 403.',
          },
          session: {
            type: 'apiKey', in: 'cookie', name: 'bo_session',
            description: 'The web app\'s session (POST /api/session), on /api routes only; named __Host-bo_session when Secure. ' +
              'Writes (POST, PUT, PATCH, DELETE) made with it must send X-CSRF-Token: the session\'s csrf_token (else 403).',
          },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // Docs routes are added by swagger-ui below; mark them open. Open routes say so in the
  // document (`security: []`), whose default asks for a key; every other operation names the
  // scope its key needs (`x-required-scope`), so clients and the every-operation auth test read
  // it from the document instead of a hand list.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config as object), public: true };
    if (route.config?.public) route.schema = { ...route.schema, security: route.schema?.security ?? [] };
    else route.schema = { ...route.schema, 'x-required-scope': requiredScope(route.config) } as typeof route.schema;
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
  await app.register(cookie); // parses cookies onRequest, before the auth hook reads the session's
  await app.register(authPlugin);
  await app.register(metricsPlugin);

  await app.register(healthRoutes);
  await app.register(ingestRoutes);
  await app.register(promoteRoutes);
  await app.register(workflowRoutes);
  await app.register(contactRoutes);
  await app.register(companyRoutes);
  await app.register(peopleRoutes);
  await app.register(enrichRoutes);
  await app.register(templateRoutes);
  await app.register(campaignRoutes);
  await app.register(trackingRoutes);
  await app.register(suppressionRoutes);
  await app.register(webhookRoutes);
  await app.register(auditRoutes);
  await app.register(apiKeyRoutes);
  await app.register(conversionRoutes);
  await app.register(analyticsRoutes);
  await app.register(sessionRoutes);
  await app.register(totalsRoutes);
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
