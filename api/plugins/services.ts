import fp from 'fastify-plugin';
import type { Client } from '@temporalio/client';
import type { Pool } from '../../db/pool';
import type { Config } from '../../common/config';

declare module 'fastify' {
  interface FastifyInstance {
    pg: Pool;
    temporal: Client;
    config: Config;
  }
}

export interface Services {
  pool: Pool;
  temporal: Client;
  config: Config;
  /** Close the pool and Temporal connection when the app closes (false when the caller owns them). */
  ownsServices?: boolean;
}

/** The pool, the Temporal client and the config, decorated once and closed with the app. */
export const servicesPlugin = fp<Services>(async (app, { pool, temporal, config, ownsServices }) => {
  app.decorate('pg', pool);
  app.decorate('temporal', temporal);
  app.decorate('config', config);
  if (ownsServices) {
    app.addHook('onClose', async () => {
      await pool.end();
      await temporal.connection.close();
    });
  }
});
