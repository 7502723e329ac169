// vault.f_contact_search_words (a contact's stored search words) was rewritten for speed: it must
// give the words the original query gave (migration 0006) for every input, or stored words and
// new ones would disagree.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from './support/harness';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(async () => {
  await db?.drop();
});

// the body of the 0006 function, as a query over the same six fields
const REFERENCE = `
  select array_to_tsvector(coalesce(array_agg(distinct w), '{}'))
  from regexp_split_to_table(lower(concat_ws(' ', $2::text, $3::text, $4::text, $1::text, split_part($1::text, '@', 2),
                                              $5::text, $6::text)), '\\s+') tok,
       unnest(tok || regexp_split_to_array(tok, '[^[:alnum:]]+')) w
  where w <> '' and octet_length(w) <= 200`;

const inputs: (string | null)[][] = [
  ['ada@acme.io', "O'Brien-Smith", null, null, 'Acme, Inc.', 'acme.io'],
  ['  x@y.z ', '  Zoë   Ångström ', 'Zoë', null, 'Bücher & Co', null],
  ['a+b@c.d', 'x'.repeat(250), 'José', 'Núñez', '---', '...'],
  ['weird@e.com', 'tab\there\nnew', '', ' ', '', ''],
  ['ü@ü.de', 'é'.repeat(120), null, null, null, null],
  ['ü@ü.de', 'é'.repeat(90), 'a', 'b', null, null],
  ['short@s.io', 'Mary-Jane  Watson-Parker', 'Mary-Jane', 'Watson-Parker', 'Daily Bugle (NYC)', 'bugle.com'],
  ['first1.last1@company1.com', 'First1 Last1', 'First1', 'Last1', 'Company 1', 'company1.com'],
  ['only@mail.example', null, null, null, null, null],
  ['dup@dup.dup', 'dup dup', 'dup', 'dup', 'dup', 'dup.dup'],
];

it('gives the words the original query gave, short texts and long ones', async () => {
  for (const args of inputs) {
    const { rows: [ref] } = await db.pool.query(`select (${REFERENCE})::text as words`, args);
    const { rows: [now] } = await db.pool.query(`select vault.f_contact_search_words($1, $2, $3, $4, $5, $6)::text as words`, args);
    expect(now.words, JSON.stringify(args)).toBe(ref.words);
  }
});
