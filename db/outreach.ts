// The send ledger (marketing.outreach_history) as the sender uses it: throttle tokens, claims
// before SMTP, confirmations after it, and what is left to send. Every statement is one call of
// a marketing.f_* function or one small query: this runs at a thousand messages a second.
import { CONTACT_FIELDS, type ContactVars } from '../common/templates';
import { addDailyCount } from './metrics';
import type { Pool } from './pool';

/** What the sender needs of the campaign row. */
export interface SenderCampaign {
  campaign_id: number;
  name: string;
  from_email: string;
  from_name: string | null;
  reply_to: string | null;
  rate_per_minute: number;
}

export interface ClaimedRow {
  outreach_id: number;
  contact_id: number;
  step_no: number;
  email: string;
  action: 'send' | 'stopped' | 'suppressed';
  /** held by an earlier attempt of this sender: it may have gone out already */
  reclaimed: boolean;
}

export interface ClaimRequest {
  campaignId: number;
  /** the workflow chain's claim token: rows it holds under other attempts come back first */
  chain: string;
  /** this attempt's claim token */
  token: string;
  limit: number;
  leaseSeconds: number;
  /** campaign time: due times and sending windows count in it */
  now: Date;
}

/** A claimed row's Message-ID and the contact fields templates may use. */
export type MessageDetails = ContactVars & { outreach_id: number; message_id: string };

const TEMPLATE_COLUMNS = CONTACT_FIELDS.map((f) => `c.${f}`).join(', ');

export function createOutreachRepository(pool: Pool) {
  return {
    async senderOf(campaignId: number): Promise<SenderCampaign | null> {
      const { rows: [k] } = await pool.query(
        'select campaign_id, name, from_email, from_name, reply_to, rate_per_minute from marketing.campaigns where campaign_id = $1',
        [campaignId],
      );
      return k ?? null;
    },

    /** The sending domain's own cap (messages per minute across campaigns), if it has one. */
    async domainRate(domain: string): Promise<number | null> {
      const { rows: [cap] } = await pool.query('select rate_per_minute from marketing.sending_domains where domain = $1', [domain]);
      return cap?.rate_per_minute ?? null;
    },

    /** Takes up to `want` tokens from every bucket at once; wait_ms: until the next token. */
    async takeTokens(keys: string[], ratesPerMinute: number[], want: number): Promise<{ granted: number; wait_ms: number }> {
      const { rows: [grant] } = await pool.query('select * from marketing.f_take_send_tokens($1, $2, $3)', [keys, ratesPerMinute, want]);
      return grant;
    },

    /** A sender found no token and waits `ms` for the next one: /metrics' throttle-wait counters, by sending domain. */
    async recordThrottleWait(domain: string, ms: number): Promise<void> {
      await addDailyCount(pool, 'send_throttle_waits', domain, 1, ms / 1000);
    },

    async returnTokens(keys: string[], count: number): Promise<void> {
      await pool.query('select marketing.f_return_send_tokens($1, $2)', [keys, count]);
    },

    /** Claims the next due rows (committed before any SMTP call: the claim is the send's intent). */
    async claim(r: ClaimRequest): Promise<ClaimedRow[]> {
      const { rows } = await pool.query<ClaimedRow>('select * from marketing.f_claim_sends($1, $2, $3, $4, $5, $6)', [
        r.campaignId, r.chain, r.token, r.limit, r.leaseSeconds, r.now,
      ]);
      return rows;
    },

    async messageDetails(outreachIds: number[]): Promise<MessageDetails[]> {
      const { rows } = await pool.query(
        // only what templates can use: parsing whole rows is measurable at a thousand messages a second
        `select h.outreach_id, h.message_id, ${TEMPLATE_COLUMNS} from marketing.outreach_history h
           join vault.contacts c on c.contact_id = h.contact_id where h.outreach_id = any($1)`,
        [outreachIds],
      );
      return rows;
    },

    /** Marks sends the server accepted as sent; returns how many were still claimed. */
    async confirm(campaignId: number, outreachIds: number[], responses: string[], now: Date): Promise<number> {
      const { rows } = await pool.query('select marketing.f_confirm_sends($1, $2, $3, $4) as n', [campaignId, outreachIds, responses, now]);
      return rows[0].n;
    },

    /** Refused for good: failed, with the contact's later steps. */
    async fail(campaignId: number, outreachIds: number[], reasons: string[]): Promise<void> {
      await pool.query('select marketing.f_fail_sends($1, $2, $3)', [campaignId, outreachIds, reasons]);
    },

    /** Refused for now: queued again. */
    async release(outreachIds: number[]): Promise<void> {
      await pool.query('select marketing.f_release_sends($1)', [outreachIds]);
    },

    /** Rows still queued or sending, and ms until the next can go out (null: none scheduled). */
    async outlook(campaignId: number, now: Date): Promise<{ remaining: number; waitMs: number | null }> {
      const { rows: [o] } = await pool.query('select * from marketing.f_campaign_outlook($1, $2)', [campaignId, now]);
      return { remaining: o.remaining, waitMs: o.wait_ms === null ? null : Number(o.wait_ms) };
    },
  };
}

export type OutreachRepository = ReturnType<typeof createOutreachRepository>;
