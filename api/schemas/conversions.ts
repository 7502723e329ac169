import { z } from 'zod';
import { IsoDateTime, plainName, trimmedText } from './common';
import { DECIMAL } from '../../common/money';

const Money = z.string().describe('an exact decimal amount, e.g. "1250.00"');
export const MoneyAmount = z.object({ currency: z.string(), value: Money });
export const Model = z.enum(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based']);

// ISO 4217 codes as the platform's ICU knows them (the document lists them)
const Currency = z.enum(Intl.supportedValuesOf('currency') as [string, ...string[]]).describe('an ISO 4217 code, e.g. USD');
const Value = z.union([
  z.number().min(0).lt(1e14),
  z.string().regex(DECIMAL, 'must be a non-negative decimal such as "1250.00" (at most 14 digits before the point, 4 after)'),
]);

/** One conversion as the caller sends it: the contact by contact_id or by email (one of them). */
export const ConversionInput = z
  .object({
    external_id: trimmedText(1, 200).describe('the caller\'s own id of the conversion: posting it again answers the stored conversion'),
    contact_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    email: z.email().max(254).optional(),
    type: plainName(64).describe('e.g. meeting_booked, opportunity, closed_won'),
    value: Value.describe('non-negative, with at most as many decimals as the currency has minor units (JPY 0, USD 2, KWD 3)'),
    currency: Currency,
    occurred_at: IsoDateTime,
  })
  .strict()
  .refine((c) => (c.contact_id === undefined) !== (c.email === undefined), { message: 'give contact_id or email (one of them)', path: ['contact_id'] });

export const ConversionBatch = z.object({ conversions: z.array(ConversionInput).min(1).max(1000) }).strict();
export const ConversionBody = z.union([ConversionBatch, ConversionInput]);

export const Conversion = z.object({
  conversion_id: z.number().int(),
  external_id: z.string(),
  contact_id: z.number().int(),
  type: z.string(),
  value: Money,
  currency: z.string(),
  occurred_at: z.date(),
  source: z.enum(['api', 'csv', 'reply']),
  created_at: z.date(),
});
export const ConversionRecorded = Conversion.extend({
  /** false: the external_id was stored before, and this is that conversion, unchanged */
  created: z.boolean(),
});
export const BatchRecorded = z.object({
  created: z.number().int(),
  existing: z.number().int(),
  conversions: z.array(ConversionRecorded).describe('in the order sent'),
});

export const Touch = z.object({
  touch_no: z.number().int(),
  kind: z.enum(['send', 'open', 'click', 'reply']),
  at: z.date(),
  campaign_id: z.number().int().nullable(),
  step_no: z.number().int().nullable(),
  outreach_id: z.number().int().nullable(),
  event_id: z.number().int().nullable(),
  credits: z.record(z.string(), Money).describe('credit per model, in the conversion\'s currency'),
});
export const ConversionDetail = z.object({
  conversion: Conversion,
  touches: z.array(Touch).describe('in time order; empty when nothing touched the contact within the lookback window'),
  models: z.array(z.object({ model: Model, total: Money })).describe('each model\'s credits sum exactly to the value (0 without touches)'),
});
export const ConversionParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export const ModelTotal = z.object({ model: Model, conversions: z.number().int(), values: z.array(MoneyAmount) });
export const CampaignAttribution = z.object({ campaign_id: z.number().int(), models: z.array(ModelTotal) });

export const AttributionSettings = z.object({
  lookback_days: z.number().int(),
  half_life_days: z.number(),
  reply_is_conversion: z.boolean(),
  reply_type: z.string(),
  reply_value: Money,
  reply_currency: z.string(),
});
export const AttributionSettingsPatch = z
  .object({
    lookback_days: z.number().int().min(1).max(3650).optional(),
    half_life_days: z.number().min(0.01).max(3650).optional(),
    reply_is_conversion: z.boolean().optional(),
    reply_type: plainName(64).optional(),
    reply_value: Value.optional(),
    reply_currency: Currency.optional(),
  })
  .strict();

const RANGE_DAYS = 366;
export const RecomputeBody = z
  .object({ from: IsoDateTime, to: IsoDateTime })
  .strict()
  .refine((r) => Date.parse(r.from) < Date.parse(r.to), { message: 'must be after from', path: ['to'] })
  .refine((r) => Date.parse(r.to) - Date.parse(r.from) <= RANGE_DAYS * 86_400_000, { message: `the range may span at most ${RANGE_DAYS} days`, path: ['to'] });
export const Recomputed = z.object({ conversions: z.number().int(), attribution_rows: z.number().int() });
