// No Docker engine runs on our machines: the compose file is checked by parsing it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema } from '../common/config';
import { searchAttributes } from '../contracts/search-attributes';

// merge: the migrate service extends the shared environment with `<<: *app-env`, as Compose reads it
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true });
const services = compose.services as Record<string, Record<string, any>>;

describe('docker-compose.yml', () => {
  it('runs postgres, temporal on postgres, temporal-ui, worker and api', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'temporal', 'temporal-ui', 'worker', 'api']));
    expect(services.temporal.environment.DB).toBe('postgres12');
    expect(services.temporal.environment.POSTGRES_SEEDS).toBe('postgres');
    expect(services.api.ports).toContain('3000:3000');
  });

  it('starts worker and api with their npm scripts after migrations', () => {
    const scripts = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts;
    for (const name of ['worker', 'api', 'migrate']) {
      expect(services[name].command).toEqual(['npm', 'run', name]);
      expect(scripts[name]).toBeDefined();
    }
    expect(services.worker.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(services.api.depends_on.migrate.condition).toBe('service_completed_successfully');
  });

  it('gives the app processes a configuration the config schema accepts', () => {
    for (const name of ['worker', 'api', 'migrate']) {
      const env = services[name].environment;
      const parsed = ConfigSchema.safeParse(env);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      expect(env.DATABASE_URL).toContain('@postgres:5432/');
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
  });

  it('runs the processes as the app role and only migrations as the owner', () => {
    const owner = new URL(services.migrate.environment.MIGRATION_DATABASE_URL);
    for (const name of ['worker', 'api', 'migrate']) {
      const app = new URL(services[name].environment.DATABASE_URL);
      expect(app.username).not.toBe(owner.username);
      expect(app.pathname).toBe(owner.pathname);
    }
    expect(owner.username).toBe(services.postgres.environment.POSTGRES_USER);
    expect(services.worker.environment.MIGRATION_DATABASE_URL).toBeUndefined();
    expect(services.api.environment.MIGRATION_DATABASE_URL).toBeUndefined();
  });

  it('registers every search attribute the workflows use', () => {
    const command = services['temporal-search-attributes'].command.join(' ');
    for (const key of Object.values(searchAttributes)) expect(command).toContain(`${key.name}=`);
  });
});
