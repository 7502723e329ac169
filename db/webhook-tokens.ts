// auth.webhook_tokens: the tokens of provider webhook signatures already accepted (replay guard).
import type { Pool } from './pool';

export function createWebhookTokensRepository(pool: Pool) {
  return {
    /** Records a signature's token; false when it was seen before (a replay). */
    async claim(token: string): Promise<boolean> {
      const { rows } = await pool.query('select auth.f_claim_webhook_token($1) as fresh', [token]);
      return rows[0].fresh;
    },
    /** Forgets a token whose event could not be processed, so the provider's retry is accepted. */
    async release(token: string): Promise<void> {
      await pool.query('select auth.f_release_webhook_token($1)', [token]);
    },
  };
}

export type WebhookTokensRepository = ReturnType<typeof createWebhookTokensRepository>;
