import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../common/config';

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
});
