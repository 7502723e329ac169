// Conversions and their attribution: recording (idempotent by external_id, attributed in the same
// transaction by marketing.f_record_conversions), reading one with its touches and credits, the
// settings, recomputing a date range, and a campaign's totals per model.
import type { Pool } from './pool';

export const ATTRIBUTION_MODELS = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based'] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];

export interface ConversionInput {
  external_id: string;
  contact_id: number;
  type: string;
  /** a decimal string with at most currency_scale decimals */
  value: string;
  currency: string;
  currency_scale: number;
  occurred_at: string;
}

export interface RecordedConversion {
  conversion_id: number;
  external_id: string;
  created: boolean;
}

export interface AttributionSettings {
  lookback_days: number;
  half_life_days: number;
  reply_is_conversion: boolean;
  reply_type: string;
  reply_value: string;
  reply_currency: string;
}

export interface MoneyAmount {
  currency: string;
  value: string;
}

export interface ModelTotal {
  model: AttributionModel;
  conversions: number;
  values: MoneyAmount[];
}

const CONVERSION_COLUMNS = `conversion_id::int, external_id, contact_id::int, type, value::text, currency, occurred_at, source, created_at`;

export function createConversionsRepository(pool: Pool) {
  return {
    /** The contacts that exist among these ids and emails (emails lower-cased): id → id, email → id. */
    async resolveContacts(ids: number[], emails: string[]): Promise<{ ids: Set<number>; byEmail: Map<string, number> }> {
      const { rows } = await pool.query(
        `select contact_id::int, email, contact_id = any($1::bigint[]) as by_id from vault.contacts
          where contact_id = any($1::bigint[]) or email = any($2::text[])`,
        [ids, emails],
      );
      return {
        ids: new Set(rows.filter((r) => r.by_id).map((r) => r.contact_id)),
        byEmail: new Map(rows.map((r) => [r.email, r.contact_id])),
      };
    },

    /** Stores the conversions not stored yet (by external_id) and attributes them, in one transaction. */
    async record(rows: ConversionInput[], source: 'api' | 'csv'): Promise<RecordedConversion[]> {
      const { rows: out } = await pool.query('select conversion_id::int, external_id, created from marketing.f_record_conversions($1, $2)', [
        JSON.stringify(rows), source,
      ]);
      return out;
    },

    async find(conversionId: number): Promise<Record<string, unknown> | null> {
      const { rows: [c] } = await pool.query(`select ${CONVERSION_COLUMNS} from marketing.conversions where conversion_id = $1`, [conversionId]);
      return c ?? null;
    },

    async findByExternalIds(externalIds: string[]): Promise<Record<string, unknown>[]> {
      const { rows } = await pool.query(`select ${CONVERSION_COLUMNS} from marketing.conversions where external_id = any($1)`, [externalIds]);
      return rows;
    },

    /** A conversion's touches in order, each with its credit in every model. */
    async touches(conversionId: number): Promise<Record<string, unknown>[]> {
      const { rows } = await pool.query(
        `select touch_no::int, touch_kind as kind, touched_at as at, campaign_id::int, step_no::int, outreach_id::int, event_id::int,
                jsonb_object_agg(model, credit::text) as credits
           from marketing.attribution where conversion_id = $1
          group by touch_no, touch_kind, touched_at, campaign_id, step_no, outreach_id, event_id order by touch_no`,
        [conversionId],
      );
      return rows;
    },

    async settings(): Promise<AttributionSettings> {
      const { rows: [s] } = await pool.query(
        `select lookback_days, half_life_days::float8 as half_life_days, reply_is_conversion, reply_type, reply_value::text, reply_currency
           from marketing.attribution_settings`,
      );
      return s;
    },

    async updateSettings(s: Partial<AttributionSettings> & { reply_currency_scale?: number }): Promise<AttributionSettings> {
      await pool.query(
        'select marketing.f_update_attribution_settings($1, $2, $3, $4, $5, $6, $7)',
        [s.lookback_days ?? null, s.half_life_days ?? null, s.reply_is_conversion ?? null, s.reply_type ?? null, s.reply_value ?? null,
          s.reply_currency ?? null, s.reply_currency_scale ?? null],
      );
      return this.settings();
    },

    async recompute(from: string, to: string): Promise<{ conversions: number; attribution_rows: number }> {
      const { rows: [r] } = await pool.query('select * from marketing.f_recompute_attribution($1, $2)', [from, to]);
      return r;
    },

    /** Credit per model (and currency) a campaign earned, from the rollup; null: no such campaign. */
    async campaignTotals(campaignId: number): Promise<ModelTotal[] | null> {
      const { rows } = await pool.query(
        `select m.model, coalesce(sum(a.conversions), 0)::int as conversions,
                coalesce(jsonb_agg(jsonb_build_object('currency', a.currency, 'value', a.credit::text) order by a.currency)
                           filter (where a.currency is not null), '[]') as values
           from marketing.campaigns k
          cross join unnest($2::text[]) with ordinality as m(model, ord)
           left join (select model, currency, sum(conversions) as conversions, sum(credit) as credit
                        from analytics.attribution_daily where campaign_id = $1 group by 1, 2) a on a.model = m.model
          where k.campaign_id = $1
          group by m.model, m.ord order by m.ord`,
        [campaignId, ATTRIBUTION_MODELS],
      );
      return rows.length ? rows : null;
    },
  };
}

export type ConversionsRepository = ReturnType<typeof createConversionsRepository>;
