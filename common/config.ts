import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Every setting the processes read, checked once at start. */
export const ConfigSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection URL').optional(),
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d+$/, 'must be host:port').default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  TASK_QUEUE: z.string().min(1).default('barton-outreach'),
  HOST: z.string().default('0.0.0.0'),
  PORT: port.default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(100),
  API_BODY_LIMIT_MB: positiveInt.default(64),
  // CSV uploads stream (never buffered whole), so they may be far larger than a JSON body.
  CSV_UPLOAD_LIMIT_MB: positiveInt.default(2048),
  INGEST_CHUNK_SIZE: positiveInt.max(50_000).default(5000),
  PROMOTE_CHUNK_SIZE: positiveInt.max(50_000).default(5000),
  // Chunks one workflow run processes before continue-as-new (bounded history on huge batches).
  CHUNKS_PER_RUN: positiveInt.default(500),
  // "on": promotion asks DNS for MX records; a DNS error still counts as "unknown", never "invalid".
  MX_CHECK: z.enum(['on', 'off']).default('off'),
  PUBLIC_BASE_URL: z.url().optional(),
});

export type Config = z.infer<typeof ConfigSchema>;
type Required<K extends keyof Config> = Config & { [P in K]-?: NonNullable<Config[P]> };

export class ConfigError extends Error {}

/**
 * Parses the environment; `required` names settings this process cannot run without.
 * Throws one ConfigError naming every missing or bad variable.
 */
export function loadConfig<K extends keyof Config>(required: K[] = [], env: NodeJS.ProcessEnv = process.env): Required<K> {
  const values = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = ConfigSchema.safeParse(values);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  for (const key of required) if (values[key] === undefined) problems.push(`${String(key)}: is required`);
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return parsed.data as Required<K>;
}

/** For entry points: a bad configuration prints its message and exits 1, with no stack trace. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
