import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, DEV_TRACKING_SECRET, loadConfig } from '../common/config';
import { localTrackingSecret } from '../scripts/tracking-secret';

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

  it('reads IMAP_URL as one mailbox per sending identity, and names what is wrong with an entry without echoing its password', () => {
    const config = loadConfig([], {
      IMAP_URL: 'imaps://sales%40acme.io:p%40ss%2Cword@imap.acme.io/INBOX, imap://bounces:pw@mail.acme.io:1143/Bounces%20Box?identity=news@acme.io imap://me:pw@127.0.0.1:1143',
    });
    expect(config.IMAP_URL).toEqual([
      { identity: 'sales@acme.io', host: 'imap.acme.io', port: 993, secure: true, starttls: 'required', user: 'sales@acme.io', pass: 'p@ss,word', folder: 'INBOX' },
      { identity: 'news@acme.io', host: 'mail.acme.io', port: 1143, secure: false, starttls: 'required', user: 'bounces', pass: 'pw', folder: 'Bounces Box' },
      { identity: 'me@127.0.0.1', host: '127.0.0.1', port: 1143, secure: false, starttls: 'optional', user: 'me', pass: 'pw', folder: 'INBOX' },
    ]);
    expect(loadConfig([], {}).IMAP_URL).toEqual([]);
    for (const [value, message] of [
      ['https://u:secret-one@imap.acme.io', 'entry 1: must be imap:// or imaps://'],
      ['imaps://imap.acme.io', 'entry 1: needs a user and a password'],
      ['imaps://a@acme.io:secret-one@imap.acme.io imaps://a@acme.io:secret-two@other.acme.io', 'entry 2: identity a@acme.io is given twice'],
      ['imap://u:secret-one@imap.acme.io?starttls=sometimes', 'entry 1: starttls must be required, optional or never'],
    ]) {
      expect(() => loadConfig([], { IMAP_URL: value }), value).toThrow(`IMAP_URL: ${message}`);
      expect(() => loadConfig([], { IMAP_URL: value })).not.toThrow(/secret-/);
    }
  });

  it('takes MIGRATION_DATABASE_URL only as another role on the same database as DATABASE_URL', () => {
    const app = 'postgres://barton_app:pw@db.internal:5432/barton';
    expect(loadConfig([], { DATABASE_URL: app, MIGRATION_DATABASE_URL: 'postgres://barton:pw@db.internal:5432/barton' }).MIGRATION_DATABASE_URL)
      .toBe('postgres://barton:pw@db.internal:5432/barton');
    expect(() => loadConfig([], { DATABASE_URL: app, MIGRATION_DATABASE_URL: 'postgres://barton:pw@db.internal:5432/other' }))
      .toThrow(/MIGRATION_DATABASE_URL: must name the same server and database/);
    expect(() => loadConfig([], { DATABASE_URL: app, MIGRATION_DATABASE_URL: 'postgres://barton_app:pw@db.internal:5432/barton' }))
      .toThrow(/MIGRATION_DATABASE_URL: must log in as the owner, another role than DATABASE_URL's barton_app/);
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

describe('tracking secret', () => {
  const local = (env: Record<string, string>) => () => loadConfig([], env);

  it('refuses the development default in production, naming TRACKING_SECRET', () => {
    expect(local({ NODE_ENV: 'production' })).toThrow(/TRACKING_SECRET: the development default/);
    expect(local({ NODE_ENV: 'production', TRACKING_SECRET: DEV_TRACKING_SECRET, PUBLIC_BASE_URL: 'http://localhost:3000' })).toThrow(/TRACKING_SECRET:/);
    expect(local({ PUBLIC_BASE_URL: 'https://track.example.com' })).toThrow(/TRACKING_SECRET:/);
    expect(local({ PUBLIC_BASE_URL: 'http://127.0.0.1.example.com' })).toThrow(/TRACKING_SECRET:/);
  });

  it('allows it for links to localhost outside production, and any real secret anywhere', () => {
    for (const env of [{} as Record<string, string>, { PUBLIC_BASE_URL: 'http://localhost:3000' }, { PUBLIC_BASE_URL: 'http://127.0.0.1:3000/' }, { NODE_ENV: 'development' }]) {
      expect(local(env)().TRACKING_SECRET).toBe(DEV_TRACKING_SECRET);
    }
    const secret = 'a-real-secret-0123456789abcdef';
    expect(local({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://track.example.com', TRACKING_SECRET: secret })().TRACKING_SECRET).toBe(secret);
  });

  it('npm start keeps a random per-install secret under .data/, readable only by its owner', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tracking-secret-'));
    const other = mkdtempSync(path.join(os.tmpdir(), 'tracking-secret-'));
    try {
      const secret = localTrackingSecret(dir);
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(secret).not.toBe(DEV_TRACKING_SECRET);
      expect(statSync(path.join(dir, 'tracking-secret')).mode & 0o777).toBe(0o600);
      expect(localTrackingSecret(dir)).toBe(secret); // kept across restarts
      expect(localTrackingSecret(other)).not.toBe(secret);
      expect(loadConfig([], { NODE_ENV: 'production', TRACKING_SECRET: secret }).TRACKING_SECRET).toBe(secret);
    } finally {
      rmSync(dir, { recursive: true });
      rmSync(other, { recursive: true });
    }
  });

  it('docker compose gives the app processes no default: TRACKING_SECRET must come from the environment', () => {
    const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'));
    for (const name of ['worker', 'api']) expect(compose.services[name].environment.TRACKING_SECRET).toMatch(/^\$\{TRACKING_SECRET:\?[^}]+\}$/);
  });

  // issue 10: links pointing anywhere but localhost are production too, whatever NODE_ENV says
  it.each([
    ['api/server.ts', { NODE_ENV: 'production' }],
    ['worker/main.ts', { NODE_ENV: 'production' }],
    ['api/server.ts', { PUBLIC_BASE_URL: 'https://outreach.example.com' }],
    ['worker/main.ts', { PUBLIC_BASE_URL: 'https://outreach.example.com' }],
  ])('%s with %o and no TRACKING_SECRET stops with a message naming it', (entry, settings) => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: 'postgres://u@127.0.0.1:1/db', ...settings };
    const run = spawnSync(process.execPath, ['--import', 'tsx', entry], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('TRACKING_SECRET: the development default');
    expect(run.stderr).not.toContain('    at ');
  });
});
