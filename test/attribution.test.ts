// Multi-touch attribution in SQL (sql/functions/attribution.sql): property tests over random
// weights and random touch paths (fast-check) — credits sum exactly to the value in every model,
// none is negative, a single touch gets everything — and the models' hand-computed splits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { testDatabase, type TestDatabase } from './support/harness';

let db: TestDatabase;
let campaignId: number;
let nextContact = 0;

beforeAll(async () => {
  db = await testDatabase();
  const { rows: [t] } = await db.pool.query(`insert into marketing.templates (name, subject, text_body) values ('t', 's', 'b') returning template_id`);
  const { rows: [k] } = await db.pool.query(`insert into marketing.campaigns (name, from_email, status) values ('attr', 'a@sender.example', 'running') returning campaign_id`);
  campaignId = k.campaign_id;
  await db.pool.query('insert into marketing.campaign_steps (campaign_id, step_no, template_id) select $1, s, $2 from generate_series(1, 20) s', [campaignId, t.template_id]);
});

afterAll(async () => {
  await db?.drop();
});

const MODELS = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based'];
const CONVERTED_AT = Date.parse('2026-06-15T12:00:00Z');
const HOUR = 3_600_000;

type TouchSpec = { kind: 'send' | 'open' | 'click' | 'reply' | 'auto_reply'; verdict: 'human' | 'machine' | 'bot'; hoursBefore: number };

/** A contact whose outreach in the campaign had these touches; returns the contact id. */
async function seedPath(touches: TouchSpec[]): Promise<number> {
  const email = `path-${++nextContact}@example.com`;
  const { rows: [c] } = await db.pool.query(`insert into vault.contacts (email, source) values ($1, 'attr') returning contact_id`, [email]);
  // one outreach row per send (step n); events hang off the latest send before them, or the first
  const sends = touches.filter((t) => t.kind === 'send').sort((a, b) => b.hoursBefore - a.hoursBefore);
  const outreach: { id: number; at: number }[] = [];
  for (const [i, s] of (sends.length ? sends : [{ hoursBefore: 24 * 60 }]).entries()) {
    const at = CONVERTED_AT - s.hoursBefore * HOUR;
    const { rows: [h] } = await db.pool.query(
      `insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status, sent_at)
       values ($1, $2, $3, $4, $5, $6) returning outreach_id`,
      [campaignId, c.contact_id, i + 1, email, sends.length ? 'sent' : 'queued', new Date(at)],
    );
    outreach.push({ id: h.outreach_id, at });
  }
  for (const t of touches.filter((x) => x.kind !== 'send')) {
    const at = CONVERTED_AT - t.hoursBefore * HOUR;
    const row = [...outreach].reverse().find((o) => o.at <= at) ?? outreach[0];
    await db.pool.query(
      `insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, occurred_at)
       select $1, campaign_id, step_no, contact_id, $2, $3, $4 from marketing.outreach_history where outreach_id = $1`,
      [row.id, t.kind, t.verdict, new Date(at)],
    );
  }
  return c.contact_id;
}

async function convert(contactId: number, value: string, currency: string, scale: number) {
  const { rows: [r] } = await db.pool.query(
    `select conversion_id from marketing.f_record_conversions($1, 'api')`,
    [JSON.stringify([{ external_id: `conv-${contactId}`, contact_id: contactId, type: 'closed_won', value, currency, currency_scale: scale,
      occurred_at: new Date(CONVERTED_AT).toISOString() }])],
  );
  return r.conversion_id as number;
}

/** Per model: the credits in touch order, as minor units (exact). */
async function credits(conversionId: number, scale: number): Promise<Record<string, bigint[]>> {
  const { rows } = await db.pool.query(
    `select model, array_agg((credit * (10::numeric ^ $2::int))::bigint::text order by touch_no) as units,
            bool_and(credit = round(credit, $2::int)) as whole
       from marketing.attribution where conversion_id = $1 group by model`,
    [conversionId, scale],
  );
  for (const r of rows) expect(r.whole, `${r.model}: credits in whole minor units`).toBe(true);
  return Object.fromEntries(rows.map((r) => [r.model, r.units.map(BigInt)]));
}

const toUnits = (value: string, scale: number) => BigInt(value.replace('.', '')) * 10n ** BigInt(scale - (value.split('.')[1]?.length ?? 0));

describe('marketing.f_split_units', () => {
  it('parts sum exactly to the units, are never negative and stay within one unit of the exact share (random weights)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.array(fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 1000, noNaN: true }), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 40 })
          .filter((w) => w.some((x) => x > 0)),
        async (units, weights) => {
          const { rows: [r] } = await db.pool.query('select marketing.f_split_units($1, $2::numeric[])::text[] as parts', [units.toString(), weights]);
          const parts = (r.parts as string[]).map(BigInt);
          expect(parts).toHaveLength(weights.length);
          expect(parts.reduce((a, b) => a + b, 0n)).toBe(units);
          const total = weights.reduce((a, b) => a + b, 0);
          parts.forEach((p, i) => {
            expect(p >= 0n).toBe(true);
            if (weights[i] === 0) expect(p).toBe(0n);
            // doubles lose digits above 2^53: compare shares relative to the value there
            const exact = (Number(units) * weights[i]) / total;
            expect(Math.abs(Number(p) - exact)).toBeLessThanOrEqual(1 + Number(units) * 1e-12);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('attribution over random touch paths', () => {
  const touch = fc.record({
    kind: fc.constantFrom('send', 'open', 'click', 'reply', 'auto_reply'),
    verdict: fc.constantFrom('human', 'human', 'machine', 'bot'),
    // the default lookback is 30 days: some fall outside it
    hoursBefore: fc.integer({ min: 0, max: 40 * 24 }),
  }) as fc.Arbitrary<TouchSpec>;
  const money = fc.oneof(
    fc.record({ currency: fc.constant('USD'), scale: fc.constant(2), value: fc.bigInt({ min: 0n, max: 10n ** 12n }).map((c) => (Number(c) / 100).toFixed(2)) }),
    fc.record({ currency: fc.constant('JPY'), scale: fc.constant(0), value: fc.bigInt({ min: 0n, max: 10n ** 12n }).map(String) }),
    fc.record({ currency: fc.constant('KWD'), scale: fc.constant(3), value: fc.integer({ min: 0, max: 10 ** 9 }).map((c) => (c / 1000).toFixed(3)) }),
  );

  it('every model\'s credits sum exactly to the value, none negative; only sends, human opens/clicks and replies in the window count', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(touch, { minLength: 0, maxLength: 12 }), money, async (path, m) => {
        const contactId = await seedPath(path);
        const conversionId = await convert(contactId, m.value, m.currency, m.scale);
        const counted = path.filter((t) => t.hoursBefore <= 30 * 24 && (t.kind === 'send' || (t.verdict === 'human' && ['open', 'click', 'reply'].includes(t.kind))));
        // events of a path without sends hang off a queued row: still touches (the event happened)
        const byModel = await credits(conversionId, m.scale);
        if (!counted.length) {
          expect(byModel).toEqual({});
          return;
        }
        expect(Object.keys(byModel).sort()).toEqual([...MODELS].sort());
        for (const model of MODELS) {
          const parts = byModel[model];
          expect(parts).toHaveLength(counted.length);
          expect(parts.every((p) => p >= 0n), model).toBe(true);
          expect(parts.reduce((a, b) => a + b, 0n), model).toBe(toUnits(m.value, m.scale));
        }
        if (counted.length === 1) for (const model of MODELS) expect(byModel[model], model).toEqual([toUnits(m.value, m.scale)]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('the models on hand-computed paths', () => {
  const creditsOf = async (touches: TouchSpec[], value: string) => {
    const id = await convert(await seedPath(touches), value, 'USD', 2);
    const { rows } = await db.pool.query(
      `select model, array_agg(credit::text order by touch_no) as credits from marketing.attribution where conversion_id = $1 group by model`,
      [id],
    );
    return Object.fromEntries(rows.map((r) => [r.model, r.credits]));
  };

  it('first, last, linear (the rounding remainder placed deterministically), position-based 40/20/40 and time decay', async () => {
    const threeTouches = await creditsOf([
      { kind: 'send', verdict: 'human', hoursBefore: 72 },
      { kind: 'open', verdict: 'human', hoursBefore: 48 },
      { kind: 'click', verdict: 'human', hoursBefore: 24 },
    ], '100.00');
    expect(threeTouches).toEqual({
      first_touch: ['100.00', '0.00', '0.00'],
      last_touch: ['0.00', '0.00', '100.00'],
      linear: ['33.33', '33.34', '33.33'],
      position_based: ['40.00', '20.00', '40.00'],
      // weights 2^(-3/7), 2^(-2/7), 2^(-1/7) (half-life 7 days): exact shares 30.0924, 33.2247, 36.6830
      time_decay: ['30.09', '33.23', '36.68'],
    });
    const four = await creditsOf([
      { kind: 'send', verdict: 'human', hoursBefore: 96 },
      { kind: 'open', verdict: 'human', hoursBefore: 72 },
      { kind: 'open', verdict: 'machine', hoursBefore: 71 }, // a mail proxy: not a touch
      { kind: 'click', verdict: 'bot', hoursBefore: 70 }, // a link scanner: not a touch
      { kind: 'click', verdict: 'human', hoursBefore: 48 },
      { kind: 'reply', verdict: 'human', hoursBefore: 24 },
    ], '1000.00');
    expect(four.position_based).toEqual(['400.00', '100.00', '100.00', '400.00']);
    // half-life 7 days: a touch 7 days out weighs half of one at the conversion
    const decay = await creditsOf([
      { kind: 'send', verdict: 'human', hoursBefore: 7 * 24 },
      { kind: 'reply', verdict: 'human', hoursBefore: 0 },
    ], '90.00');
    expect(decay.time_decay).toEqual(['30.00', '60.00']);
  });

  it('a date range is recomputed with new settings (a 2-day lookback drops the older touches)', async () => {
    const contactId = await seedPath([
      { kind: 'send', verdict: 'human', hoursBefore: 5 * 24 },
      { kind: 'click', verdict: 'human', hoursBefore: 24 },
    ]);
    const id = await convert(contactId, '50.00', 'USD', 2);
    const touches = async () => (await db.pool.query('select count(*)::int as n from marketing.attribution where conversion_id = $1 and model = $2', [id, 'linear'])).rows[0].n;
    expect(await touches()).toBe(2);
    await db.pool.query('update marketing.attribution_settings set lookback_days = 2');
    try {
      const { rows: [r] } = await db.pool.query('select * from marketing.f_recompute_attribution($1, $2)', ['2026-06-15T00:00:00Z', '2026-06-16T00:00:00Z']);
      expect(r.conversions).toBeGreaterThanOrEqual(1);
      expect(await touches()).toBe(1);
      const { rows: [sum] } = await db.pool.query(`select sum(credit)::text as s from marketing.attribution where conversion_id = $1 and model = 'first_touch'`, [id]);
      expect(sum.s).toBe('50.00');
    } finally {
      await db.pool.query('update marketing.attribution_settings set lookback_days = 30');
    }
  });
});
