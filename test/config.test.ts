import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../common/config';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('configuration', () => {
  it('applies defaults for a local stack', () => {
    const config = loadConfig([], { DATABASE_URL: 'postgres://u@localhost/db' });
    expect(config).toMatchObject({ TEMPORAL_ADDRESS: 'localhost:7233', PORT: 3000, TASK_QUEUE: 'barton-outreach', TEMPORAL_TLS: false });
  });

  it('names every missing or bad variable in one message', () => {
    const load = () => loadConfig(['DATABASE_URL'], { PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', MX_CHECK: 'maybe' });
    expect(load).toThrow(ConfigError);
    const message = (() => {
      try {
        load();
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const name of ['PORT', 'TEMPORAL_ADDRESS', 'MX_CHECK']) expect(message).toContain(`${name}:`);
  });

  it('requires DATABASE_URL where a process needs it, as a postgres URL', () => {
    expect(() => loadConfig(['DATABASE_URL'], {})).toThrow(/DATABASE_URL: is required/);
    expect(() => loadConfig(['DATABASE_URL'], { DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgres/);
  });

  it('asks for the event log key along with its URL', () => {
    expect(() => loadConfig([], { EMAIL_EVENTS_URL: 'https://api.mailgun.net/v3/mg.example.com' })).toThrow(/EMAIL_EVENTS_API_KEY: is required with EMAIL_EVENTS_URL/);
    const config = loadConfig([], { EMAIL_EVENTS_URL: 'https://api.mailgun.net/v3/mg.example.com', EMAIL_EVENTS_API_KEY: 'key-1' });
    expect(config.EMAIL_EVENTS_SETTLE_SECONDS).toBe(10);
  });
});

describe('production entry points', () => {
  it.each(['api/server.ts', 'worker/main.ts', 'db/migrate-cli.ts'])('%s stops with a message naming the bad variable', (entry) => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: 'not-a-port' };
    const run = spawnSync(process.execPath, ['--import', 'tsx', entry], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('DATABASE_URL: is required');
    if (entry !== 'db/migrate-cli.ts') expect(run.stderr).toContain('PORT:');
    expect(run.stderr).not.toContain('    at '); // a message, not a stack trace
  });
});
