import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { parse as parseCsv } from 'csv-parse/sync';
import type { z } from 'zod';
import { ErrorResponse } from '../schemas/common';
import { CampaignParams } from '../schemas/campaigns';
import {
  AttributionSettings, AttributionSettingsPatch, BatchRecorded, CampaignAttribution, ConversionBatch, ConversionBody, ConversionDetail,
  ConversionInput, ConversionParams, ConversionRecorded, Recomputed, RecomputeBody,
} from '../schemas/conversions';
import { HttpError, fieldName } from '../errors';
import { ATTRIBUTION_MODELS, createConversionsRepository, type ConversionInput as StoredInput } from '../../db/conversions';
import { currencyScale, decimalPlaces, decimalString, DECIMAL } from '../../common/money';

type Input = z.infer<typeof ConversionInput>;
interface Issue {
  field: string;
  message: string;
}

const MAX_CSV_ROWS = 10_000;
const CSV_COLUMNS = ['external_id', 'contact_id', 'email', 'type', 'value', 'currency', 'occurred_at'];

const badRequest = (issues: Issue[]) =>
  new HttpError(400, `invalid ${issues.slice(0, 5).map((i) => i.field).join(', ')}${issues.length > 5 ? ` and ${issues.length - 5} more` : ''}`, {
    issues: issues.slice(0, 50), total: issues.length,
  });

/**
 * The body is one conversion, {conversions: [...]}, or a text/csv string (checked row by row in
 * the handler): each shape is validated alone, so errors name the field (conversions[3].value)
 * instead of "no branch of the union matched".
 */
const bodyValidator = (route: Parameters<typeof validatorCompiler>[0]) => {
  if (route.httpPart !== 'body') return validatorCompiler(route);
  const batch = validatorCompiler({ ...route, schema: ConversionBatch });
  const single = validatorCompiler({ ...route, schema: ConversionInput });
  return (data: unknown) => {
    if (typeof data === 'string') return { value: data };
    return data && typeof data === 'object' && 'conversions' in data ? batch(data) : single(data);
  };
};

/** CSV rows (a header line naming CSV_COLUMNS) as inputs, or the issues naming line and column. */
function csvInputs(text: string): { inputs: Input[]; issues: Issue[] } {
  if (text.includes('\0')) return { inputs: [], issues: [{ field: 'body', message: 'must not contain the NUL character' }] };
  let records: Record<string, string>[];
  try {
    records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    return { inputs: [], issues: [{ field: line ? `line ${line}` : 'body', message: (err as Error).message }] };
  }
  if (!records.length) return { inputs: [], issues: [{ field: 'body', message: `a header line (${CSV_COLUMNS.join(',')}) and at least one row` }] };
  if (records.length > MAX_CSV_ROWS) return { inputs: [], issues: [{ field: 'body', message: `at most ${MAX_CSV_ROWS} rows per upload` }] };
  const unknown = Object.keys(records[0]).filter((c) => !CSV_COLUMNS.includes(c));
  if (unknown.length) return { inputs: [], issues: unknown.map((c) => ({ field: `header.${c}`, message: `unknown column; use ${CSV_COLUMNS.join(', ')}` })) };
  const inputs: Input[] = [];
  const issues: Issue[] = [];
  records.forEach((r, i) => {
    const row = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== ''));
    const parsed = ConversionInput.safeParse({ ...row, ...(row.contact_id ? { contact_id: Number(row.contact_id) } : {}) });
    // line i + 2: the header is line 1
    if (parsed.success) inputs.push(parsed.data);
    else for (const issue of parsed.error.issues) issues.push({ field: `line ${i + 2}.${fieldName(issue.path) || 'row'}`, message: issue.message });
  });
  return { inputs, issues };
}

const conversionRoutes: FastifyPluginAsyncZod = async (app) => {
  const conversions = createConversionsRepository(app.pg);
  const tags = ['conversions'];
  // a CSV of conversions is small (≤ 10,000 rows): read whole, then checked like JSON rows
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  /** Inputs → rows to store: contacts resolved, values checked against the currency; else 400 naming each field. */
  async function toStored(inputs: Input[], field: (i: number) => string): Promise<StoredInput[]> {
    const issues: Issue[] = [];
    const found = await conversions.resolveContacts(
      inputs.flatMap((c) => (c.contact_id ? [c.contact_id] : [])),
      inputs.flatMap((c) => (c.email ? [c.email.toLowerCase()] : [])),
    );
    const stored = inputs.map((c, i): StoredInput => {
      const contactId = c.contact_id ?? found.byEmail.get(c.email!.toLowerCase());
      if (c.contact_id !== undefined && !found.ids.has(c.contact_id)) issues.push({ field: field(i) + 'contact_id', message: `contact ${c.contact_id} does not exist` });
      if (c.email !== undefined && contactId === undefined) issues.push({ field: field(i) + 'email', message: `no contact has the email ${c.email}` });
      const value = decimalString(c.value);
      const scale = currencyScale(c.currency);
      if (!DECIMAL.test(value)) issues.push({ field: field(i) + 'value', message: 'must be a plain decimal (no exponent)' });
      else if (decimalPlaces(value) > scale) issues.push({ field: field(i) + 'value', message: `${c.currency} has ${scale} decimal places; ${value} has more` });
      return { external_id: c.external_id, contact_id: contactId ?? 0, type: c.type, value, currency: c.currency, currency_scale: scale, occurred_at: c.occurred_at };
    });
    if (issues.length) throw badRequest(issues);
    return stored;
  }

  const recordedRows = async (results: { conversion_id: number; external_id: string; created: boolean }[], order: string[]) => {
    const rows = new Map((await conversions.findByExternalIds(order)).map((r) => [r.external_id as string, r]));
    const created = new Map(results.map((r) => [r.external_id, r.created]));
    const seen = new Set<string>();
    // a repeated external_id within one batch is created once: its second mention is "existing"
    return order.map((id) => {
      const first = !seen.has(id);
      seen.add(id);
      return { ...rows.get(id)!, created: first && (created.get(id) ?? false) };
    });
  };

  app.post('/api/conversions', {
    config: { scope: 'write' },
    validatorCompiler: bodyValidator as never,
    schema: {
      summary: 'Record conversions: one, a batch ({conversions: [...]}, up to 1,000) or a text/csv upload (up to 10,000 rows)',
      description:
        'Each names its contact by `contact_id` or `email`, and carries `external_id` (idempotent: posting it again answers the stored ' +
        'conversion, unchanged, with `created: false`), `type`, `value` and `currency` (exact: at most the currency\'s minor-unit decimals), ' +
        `and \`occurred_at\`. New conversions are attributed in the same transaction. CSV: a header line of ${CSV_COLUMNS.join(', ')}. ` +
        'Any invalid row: 400 naming it, and nothing stored.',
      tags,
      body: ConversionBody,
      response: {
        200: ConversionRecorded.or(BatchRecorded).describe('a single conversion stored before (created: false), or a batch or CSV upload'),
        201: ConversionRecorded.describe('a single conversion, new'),
        400: ErrorResponse,
      },
    },
  }, async (request, reply) => {
    const body = request.body as unknown;
    if (typeof body === 'string' || Array.isArray((body as { conversions?: unknown }).conversions)) {
      let inputs: Input[];
      let field: (i: number) => string;
      let source: 'api' | 'csv';
      if (typeof body === 'string') {
        const csv = csvInputs(body);
        if (csv.issues.length) throw badRequest(csv.issues);
        ({ inputs } = csv);
        field = (i) => `line ${i + 2}.`;
        source = 'csv';
      } else {
        inputs = (body as z.infer<typeof ConversionBatch>).conversions;
        field = (i) => `conversions[${i}].`;
        source = 'api';
      }
      const stored = await toStored(inputs, field);
      const results = await conversions.record(stored, source);
      const rows = await recordedRows(results, stored.map((s) => s.external_id));
      const created = rows.filter((r) => r.created).length;
      return reply.code(200).send({ created, existing: rows.length - created, conversions: rows as never });
    }
    const [stored] = await toStored([body as Input], () => '');
    const [result] = await conversions.record([stored], 'api');
    const [row] = await recordedRows([result], [stored.external_id]);
    return reply.code(result.created ? 201 : 200).send(row as never);
  });

  app.get('/api/conversions/:id', {
    schema: { summary: 'A conversion with its touches and each model\'s credit per touch', tags, params: ConversionParams, response: { 200: ConversionDetail, 404: ErrorResponse } },
  }, async (request) => {
    const conversion = await conversions.find(request.params.id);
    if (!conversion) throw new HttpError(404, `conversion ${request.params.id} does not exist`);
    const touches = await conversions.touches(request.params.id);
    const scale = currencyScale(conversion.currency as string);
    // totals in minor units: each model's credits sum to the value exactly
    const models = ATTRIBUTION_MODELS.map((model) => {
      const units = touches.reduce((s, t) => s + BigInt(String((t.credits as Record<string, string>)[model] ?? '0').replace('.', '')), 0n);
      const text = units.toString().padStart(scale + 1, '0');
      return { model, total: scale ? `${text.slice(0, -scale)}.${text.slice(-scale)}` : text };
    });
    return { conversion: conversion as never, touches: touches as never, models };
  });

  app.get('/api/campaigns/:id/attribution', {
    schema: {
      summary: 'The campaign\'s attributed conversions and value per model (and currency)',
      tags: ['campaigns', ...tags], params: CampaignParams, response: { 200: CampaignAttribution, 404: ErrorResponse },
    },
  }, async (request) => {
    const models = await conversions.campaignTotals(request.params.id);
    if (!models) throw new HttpError(404, `campaign ${request.params.id} does not exist`);
    return { campaign_id: request.params.id, models: models };
  });

  app.get('/api/attribution/settings', {
    schema: { summary: 'Attribution settings: lookback window, time-decay half-life, replies as conversions', tags, response: { 200: AttributionSettings } },
  }, async () => conversions.settings());

  app.patch('/api/attribution/settings', {
    config: { scope: 'write' },
    schema: {
      summary: 'Change attribution settings (new conversions use them; POST /api/attribution/recompute applies them to a date range)',
      tags, body: AttributionSettingsPatch, response: { 200: AttributionSettings, 400: ErrorResponse },
    },
  }, async (request) => {
    const { reply_value, reply_currency, ...rest } = request.body;
    const current = await conversions.settings();
    const currency = reply_currency ?? current.reply_currency;
    const value = reply_value === undefined ? current.reply_value : decimalString(reply_value);
    const scale = currencyScale(currency);
    if (!DECIMAL.test(value) || decimalPlaces(value) > scale) {
      throw badRequest([{ field: 'reply_value', message: `must be a plain decimal with at most ${scale} decimal places (${currency})` }]);
    }
    return conversions.updateSettings({ ...rest, reply_value: value, reply_currency: currency, reply_currency_scale: scale });
  });

  app.post('/api/attribution/recompute', {
    config: { scope: 'write' },
    schema: {
      summary: 'Recompute the attribution of every conversion that occurred in [from, to) (at most 366 days), with the current settings and touches',
      tags, body: RecomputeBody, response: { 200: Recomputed, 400: ErrorResponse },
    },
  }, async (request) => conversions.recompute(request.body.from, request.body.to));
};

export default conversionRoutes;
