import { z } from 'zod';

/** Anyone can sign links with this one: refused unless links point at localhost and NODE_ENV is not production. */
export const DEV_TRACKING_SECRET = 'dev-only-tracking-secret-change-me';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** "https://a.example, http://localhost:5173" → the origins; anything else (a path, `*`) is refused. */
const originList = z.string().default('').transform((list, ctx) => {
  const origins: string[] = [];
  for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const origin = URL.canParse(item) ? new URL(item).origin : 'null';
    if (origin === 'null' || origin !== item.replace(/\/$/, '').toLowerCase()) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not an origin like https://app.example.com` });
    } else origins.push(origin);
  }
  return origins;
});

/** A sending identity's mailbox, read for replies and bounces (IMAP_URL). */
export interface MailboxSettings {
  /** The sending identity it receives for: the reader's workflow id and ledger key. */
  identity: string;
  host: string;
  port: number;
  /** imaps:// (TLS from the start) */
  secure: boolean;
  /** imap:// only: STARTTLS required (the default beyond localhost), used when offered, or never. */
  starttls: 'required' | 'optional' | 'never';
  user: string;
  pass: string;
  folder: string;
}

const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * IMAP_URL: one or more `imaps://user:password@host[:port][/folder][?identity=address]` (or
 * `imap://…[?starttls=required|optional|never]`), separated by commas or spaces. Percent-encode
 * `@ : / , %` in the user and password. The identity defaults to the user when it is an address.
 */
const mailboxList = z.string().default('').transform((list, ctx) => {
  const mailboxes: MailboxSettings[] = [];
  for (const [i, item] of list.split(/[\s,]+/).filter(Boolean).entries()) {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: ${message}` });
    if (!URL.canParse(item)) {
      problem('not a URL like imaps://user:password@imap.example.com/INBOX');
      continue;
    }
    const url = new URL(item);
    if (url.protocol !== 'imap:' && url.protocol !== 'imaps:') {
      problem(`must be imap:// or imaps://, not ${url.protocol}//`);
      continue;
    }
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    if (!user || !pass) {
      problem('needs a user and a password (imaps://user:password@host)');
      continue;
    }
    const given = url.searchParams.get('starttls');
    if (given !== null && !['required', 'optional', 'never'].includes(given)) {
      problem('starttls must be required, optional or never');
      continue;
    }
    const identity = (url.searchParams.get('identity') ?? (user.includes('@') ? user : `${user}@${url.hostname}`)).toLowerCase();
    if (!/^[^\s/@]+@[^\s/@]+$/.test(identity)) {
      problem(`identity "${identity}" is not an address`);
      continue;
    }
    if (mailboxes.some((m) => m.identity === identity)) {
      problem(`identity ${identity} is given twice`);
      continue;
    }
    mailboxes.push({
      identity,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || (url.protocol === 'imaps:' ? 993 : 143)),
      secure: url.protocol === 'imaps:',
      starttls: (given as MailboxSettings['starttls'] | null) ?? (isLoopback(url.hostname) ? 'optional' : 'required'),
      user,
      pass,
      folder: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'INBOX',
    });
  }
  return mailboxes;
});

/** Every setting the processes read, checked once at start. */
export const ConfigSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection URL').optional(),
  /**
   * The owner's URL, for migrations only: DATABASE_URL then names the login role the processes
   * use, which npm run migrate creates or updates (sql/grants.sql). Unset: DATABASE_URL is the owner.
   */
  MIGRATION_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection URL').optional(),
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d+$/, 'must be host:port').default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  TASK_QUEUE: z.string().min(1).default('barton-outreach'),
  HOST: z.string().default('0.0.0.0'),
  PORT: port.default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The workers' Temporal SDK metrics (Prometheus) on 0.0.0.0:WORKER_METRICS_PORT; unset: not exported. */
  WORKER_METRICS_PORT: port.optional(),
  /** OpenTelemetry traces go over OTLP/HTTP to this collector (e.g. http://localhost:4318); unset: tracing off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(100),
  // Requests refused 401 (missing or wrong key) per client IP and minute before they get 429.
  AUTH_FAILURES_PER_MINUTE: positiveInt.default(30),
  // Browser origins besides the API's own (PUBLIC_BASE_URL) that may call it (CORS), comma-separated.
  CORS_ORIGINS: originList,
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
  // Enrichment providers (issue 4). Base URLs are settable so tests and staging point at fakes.
  APOLLO_BASE_URL: z.url().default('https://api.apollo.io/api/v1'),
  APOLLO_API_KEY: z.string().min(1).optional(),
  APIFY_BASE_URL: z.url().default('https://api.apify.com'),
  APIFY_TOKEN: z.string().min(1).optional(),
  // The LinkedIn profile actor ("user~name") and the input field its profile URLs go in.
  APIFY_PROFILE_ACTOR: z.string().regex(/^[\w.-]+~[\w.-]+$|^\w+$/, 'must be an actor id or user~name').optional(),
  APIFY_PROFILE_INPUT_KEY: z.string().min(1).default('profileUrls'),
  APIFY_PROFILES_PER_RUN: positiveInt.max(1000).default(25),
  PROVIDER_TIMEOUT_MS: positiveInt.default(30_000),
  // Worker-side caps shared by every worker on a provider's task queue (Temporal enforces them).
  // Apollo paid enrichment: about 1,000 calls a minute; Apify: 30 requests/s per resource.
  APOLLO_CALLS_PER_SECOND: z.coerce.number().positive().default(16),
  APIFY_CALLS_PER_SECOND: z.coerce.number().positive().default(5),
  ENRICH_TTL_DAYS: positiveInt.default(30),
  // Per field, the providers tried in order until one fills it ("field:p1>p2,…"); see workflows/enrich.ts.
  ENRICH_WATERFALL: z.string().min(1).optional(),
  ENRICH_CREDIT_BUDGET: z.coerce.number().int().nonnegative().optional(),
  ENRICH_CONCURRENCY: positiveInt.max(200).default(16),
  ENRICH_MAX_ATTEMPTS: positiveInt.default(8),
  // The TTL refresh schedule: people whose intelligence expires within N days, every interval.
  ENRICH_REFRESH_WITHIN_DAYS: positiveInt.default(3),
  ENRICH_REFRESH_EVERY: z.string().regex(/^\d+[smhd]$/, 'like 30m, 6h or 1d').default('1d'),
  ENRICH_REFRESH_SCHEDULE: z.enum(['on', 'off']).default('on'),
  // The API key the stdio MCP server acts with (npm run mcp).
  MCP_API_KEY: z.string().min(1).optional(),
  // Campaign sending (issue 5)
  SMTP_URL: z.string().regex(/^smtps?:\/\/\S+$/, 'must be an smtp:// or smtps:// URL').optional(),
  SMTP_POOL_CONNECTIONS: positiveInt.max(100).default(5),
  // The provider's event log (Mailgun Events API: https://api.mailgun.net/v3/<domain>): a send left
  // in doubt by a crash is looked up there instead of sent again. Events show up after a lag.
  EMAIL_EVENTS_URL: z.url().optional(),
  EMAIL_EVENTS_API_KEY: z.string().min(1).optional(),
  EMAIL_EVENTS_SETTLE_SECONDS: z.coerce.number().nonnegative().default(10),
  // Mailgun's HTTP webhook signing key: when set, the reply and bounce webhooks need a valid,
  // fresh, never-seen signature (HMAC-SHA256 over timestamp + token) besides the API key.
  MAILGUN_WEBHOOK_SIGNING_KEY: z.string().min(1).optional(),
  // Signs tracking links (open, click, unsubscribe). The default only serves a local stack: loadConfig
  // refuses it in production (`npm start` makes a per-install secret under .data/ instead).
  TRACKING_SECRET: z.string().min(16).default(DEV_TRACKING_SECRET),
  // One cap per sending domain, shared by every campaign and worker (token bucket in Postgres).
  SEND_DOMAIN_RATE_PER_MINUTE: positiveInt.default(6000),
  // Accepted sends are confirmed in one statement per this many ms at most (group commit): each
  // confirmation statement also keeps the campaign's rollups, so its cost is mostly per statement.
  // Longer: cheaper sending; shorter: fewer sends left in doubt by a crash. 0: confirm at once.
  SEND_CONFIRM_GROUP_MS: z.coerce.number().int().min(0).max(5000).default(100),
  CAMPAIGN_BATCH_SIZE: positiveInt.max(50_000).default(2000),
  // Batches one campaign run sends before continue-as-new (bounded history on large audiences).
  CAMPAIGN_BATCHES_PER_RUN: positiveInt.default(100),
  // production: webhook destinations must be https and public (never loopback, private, link-local)
  NODE_ENV: z.string().optional(),
  // Outbound webhooks: attempts per delivery, backoff from the first retry interval (doubling, capped).
  WEBHOOK_MAX_ATTEMPTS: positiveInt.max(100).default(15),
  WEBHOOK_RETRY_INITIAL_SECONDS: z.coerce.number().positive().default(10),
  WEBHOOK_RETRY_MAX_SECONDS: z.coerce.number().positive().default(3600),
  WEBHOOK_TIMEOUT_MS: positiveInt.max(60_000).default(10_000),
  // Local development and tests only: deliver to loopback/private addresses over http. Refused when
  // NODE_ENV=production (loadConfig), and the delivery client refuses it there too.
  WEBHOOK_ALLOW_PRIVATE_TARGETS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  // The sending identities' mailboxes, read for replies, auto-replies and bounces (workflows/mailbox.ts).
  IMAP_URL: mailboxList,
  IMAP_POLL_SECONDS: positiveInt.max(86_400).default(60),
  // Messages one poll activity reads before it returns (the reader loops while more are waiting).
  IMAP_BATCH_SIZE: positiveInt.max(5000).default(100),
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
  if (values.EMAIL_EVENTS_URL !== undefined && values.EMAIL_EVENTS_API_KEY === undefined) {
    problems.push('EMAIL_EVENTS_API_KEY: is required with EMAIL_EVENTS_URL');
  }
  if ((values.TRACKING_SECRET ?? DEV_TRACKING_SECRET) === DEV_TRACKING_SECRET && (values.NODE_ENV === 'production' || !isLocalUrl(values.PUBLIC_BASE_URL))) {
    problems.push('TRACKING_SECRET: the development default must not sign links in production; set a random secret of 16+ characters (e.g. `openssl rand -hex 32`)');
  }
  const roleProblem = migrationUrlProblem(values.DATABASE_URL, values.MIGRATION_DATABASE_URL);
  if (roleProblem) problems.push(`MIGRATION_DATABASE_URL: ${roleProblem}`);
  if (values.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true' && values.NODE_ENV === 'production') {
    problems.push('WEBHOOK_ALLOW_PRIVATE_TARGETS: cannot be true in production (webhooks would reach loopback, private and metadata addresses)');
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return parsed.data as Required<K>;
}

/**
 * The owner's URL must reach the database the processes use, as another role: migrate gives
 * DATABASE_URL's role its grants there (db/app-role.ts). Undefined when fine, or not checkable here.
 */
function migrationUrlProblem(appUrl: string | undefined, ownerUrl: string | undefined): string | undefined {
  if (appUrl === undefined || ownerUrl === undefined || !URL.canParse(appUrl) || !URL.canParse(ownerUrl)) return undefined;
  const app = new URL(appUrl);
  const owner = new URL(ownerUrl);
  if (app.host !== owner.host || app.pathname !== owner.pathname) return `must name the same server and database as DATABASE_URL (${owner.host}${owner.pathname} vs ${app.host}${app.pathname})`;
  if (app.username === owner.username) return `must log in as the owner, another role than DATABASE_URL's ${decodeURIComponent(app.username)}`;
  return undefined;
}

/** Tracking links go to PUBLIC_BASE_URL, else to http://localhost:PORT. */
function isLocalUrl(url: string | undefined): boolean {
  if (url === undefined || !URL.canParse(url)) return true; // a malformed URL is reported by the schema
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** For entry points: a bad configuration prints its message and exits 1, with no stack trace. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

/** Where webhooks may go under this configuration (see clients/webhook-http.ts). */
export function webhookPolicyOf(config: Pick<Config, 'NODE_ENV' | 'WEBHOOK_ALLOW_PRIVATE_TARGETS'>) {
  const production = config.NODE_ENV === 'production';
  return { production, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS };
}

/** The delivery workflows' retry policy from WEBHOOK_* settings. */
export function webhookRetryOf(config: Pick<Config, 'WEBHOOK_MAX_ATTEMPTS' | 'WEBHOOK_RETRY_INITIAL_SECONDS' | 'WEBHOOK_RETRY_MAX_SECONDS'>) {
  return {
    initialIntervalMs: Math.round(config.WEBHOOK_RETRY_INITIAL_SECONDS * 1000),
    maximumIntervalMs: Math.round(Math.max(config.WEBHOOK_RETRY_MAX_SECONDS, config.WEBHOOK_RETRY_INITIAL_SECONDS) * 1000),
    maximumAttempts: config.WEBHOOK_MAX_ATTEMPTS,
  };
}
