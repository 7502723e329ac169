// npm run api: the HTTP API with MCP at /mcp on PORT, closed gracefully on SIGINT/SIGTERM.
// The entry point composes the two: buildApp knows nothing of MCP.
import { exitOnConfigError, loadConfig } from '../common/config';
import { createPool } from '../db/pool';
import { connectClient } from '../clients/temporal';
import { mcpPlugin } from '../mcp/http';
import { webAppPlugin } from './plugins/web-app';
import { buildApp } from './app';
import { startTracing } from '../clients/telemetry';

let config;
try {
  config = loadConfig(['DATABASE_URL']);
} catch (err) {
  exitOnConfigError(err);
}
// traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise nothing is patched
const tracing = startTracing({ serviceName: 'barton-api', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
const app = await buildApp({
  pool: createPool(config.DATABASE_URL),
  temporal: await connectClient(config),
  config,
  ownsServices: true,
  logger: { level: config.LOG_LEVEL },
});
await app.register(mcpPlugin);
await app.register(webAppPlugin); // web/dist at /, beside /api, /docs and /mcp
await app.listen({ host: config.HOST, port: config.PORT });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void app.close().then(() => tracing?.shutdown()).then(() => process.exit(0)));
}
