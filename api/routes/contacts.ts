import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { withTransaction, type Pool } from '../../db/pool';
import { companyRecord, history, intelligence, jsonRow, personRecord, personSources } from '../../db/master-data';
import { canonicalLinkedIn, cleanText, normalizePhone, registrableDomain } from '../../common/normalize';
import { SURVIVORSHIP_RULES } from '../../common/survivorship';
import { ErrorResponse } from '../schemas/common';
import { Contact, ContactDetail, ContactListQuery, ContactPage, ContactParams, ContactPatch, PatchHeaders, type CONTACT_SORTS } from '../schemas/contacts';
import { HttpError } from '../errors';

const CONTACT_COLUMNS =
  'contact_id, email, first_name, last_name, full_name, title, company_name, company_domain, phone, linkedin_url, city, state, country, source, status, score, version, created_at, updated_at';

/**
 * A page's output columns, the Contact response schema's fields in its order; times as
 * Date.toISOString() writes them (jsonRow: UTC, milliseconds, Z), so Node sends the rows through
 * JSON.stringify as they come instead of making Dates and serializing through zod.
 */
const CONTACT_OUTPUT = CONTACT_COLUMNS.split(', ')
  .map((c) => (c.endsWith('_at') ? `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ${c}` : c))
  .join(', ');
const CONTACT_FIELDS = Object.keys(Contact.shape);

type Sort = (typeof CONTACT_SORTS)[number];

/** Each sort is a keyset over an index (sql/migrations/0002): order columns, then contact_id. */
const SORTS: Record<Sort, { keys: { expr: string; cast: string }[]; dir: 'asc' | 'desc' }> = {
  '-updated_at': { keys: [{ expr: 'updated_at', cast: 'timestamptz' }], dir: 'desc' },
  '-created_at': { keys: [{ expr: 'created_at', cast: 'timestamptz' }], dir: 'desc' },
  '-score': { keys: [{ expr: 'score', cast: 'smallint' }], dir: 'desc' },
  last_name: { keys: [{ expr: "coalesce(last_name, '')", cast: 'text' }, { expr: "coalesce(first_name, '')", cast: 'text' }], dir: 'asc' },
};

const TOTAL_CAP = 10_000;
/** A search's plan (see contactListQuery): rows walked per row of the page, first and at most. */
const PROBE_ROWS = 10;
const WALK_ROWS = 100;

interface Cursor {
  s: Sort;
  v: (string | number)[];
  id: number;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(text: string, sort: Sort): Cursor {
  let c: Cursor;
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid cursor', { issues: [{ field: 'cursor', message: 'not a cursor this API returned' }] });
  }
  if (!c || c.s !== sort || !Array.isArray(c.v) || c.v.length !== SORTS[sort].keys.length || !Number.isInteger(c.id)) {
    throw new HttpError(400, 'invalid cursor', { issues: [{ field: 'cursor', message: `cursor does not belong to sort=${sort}` }] });
  }
  return c;
}

const likePattern = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

/**
 * q → a tsquery over vault.contacts.search_words (sql/migrations/0006), search-as-you-type: every
 * whitespace-separated term is a whole word except the last, which may be the start of one
 * ("ada love" → 'ada' & 'love':*). A leading @ is dropped, so "@acme.io" finds the email domain;
 * "ada@" matches only emails whose local part is exactly "ada". Whole words keep a common first
 * term ("company 19999") from reading its whole posting list, as a prefix does.
 */
export function searchTsquery(q: string): string | null {
  const terms = q.toLowerCase().split(/\s+/).map((t) => t.replace(/^@+/, '')).filter(Boolean);
  if (!terms.length) return null;
  // quoted tsquery lexemes: a quote doubles, a backslash escapes
  return terms.map((t, i) => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "''")}'${i === terms.length - 1 ? ':*' : ''}`).join(' & ');
}

/**
 * The SQL of one page: filters as $n parameters, keyset after the cursor, limit + 1 rows to see
 * if more follow; k0, k1 are the sort keys as text for the next cursor.
 *
 * With q, the plan is chosen here, not from row estimates (the planner cannot know how many
 * contacts a prefix matches). Walking the sort's index and testing each row's words costs per row
 * walked, so it suits a common term; the search index costs per match (each is fetched and
 * sorted), so it suits a rare one. The query probes first: it walks PROBE_ROWS × (limit + 1) rows
 * that pass the other filters. A common term fills the page there. If the probe's share of
 * matches says walking on is cheaper than fetching every match (above √(limit / 2·rows), where
 * both cost about the same), it walks on, up to WALK_ROWS × (limit + 1) rows; otherwise, or if
 * that walk comes up short, the search index finds every match and they are sorted.
 */
export function contactListQuery(query: z.infer<typeof ContactListQuery>) {
  const params: unknown[] = [];
  const filters: string[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  let search: string | undefined;
  if (query.q) {
    const tsquery = searchTsquery(query.q);
    search = tsquery ? `search_words @@ ${p(tsquery)}::tsquery` : 'false';
  }
  if (query.status) filters.push(`status = ${p(query.status)}`);
  if (query.score_min !== undefined) filters.push(`score >= ${p(query.score_min)}`);
  if (query.score_max !== undefined) filters.push(`score <= ${p(query.score_max)}`);
  if (query.source) filters.push(`source = ${p(query.source)}`);
  if (query.company_domain) filters.push(`company_domain = ${p(query.company_domain)}`);
  if (query.title) filters.push(`lower(title) like ${p(likePattern(query.title))}`);
  if (query.updated_since) filters.push(`updated_at >= ${p(query.updated_since)}`);
  const allFilters = search ? [search, ...filters] : filters;
  const filterParams = params.length;

  const sort = SORTS[query.sort];
  const keyset = [...filters];
  if (query.cursor) {
    const c = decodeCursor(query.cursor, query.sort);
    const left = [...sort.keys.map((k) => k.expr), 'contact_id'].join(', ');
    const right = [...sort.keys.map((k, i) => `${p(c.v[i])}::${k.cast}`), `${p(c.id)}::bigint`].join(', ');
    keyset.push(`(${left}) ${sort.dir === 'desc' ? '<' : '>'} (${right})`);
  }
  const order = [...sort.keys.map((k) => k.expr), 'contact_id'].map((e) => `${e} ${sort.dir}`).join(', ');
  const columns = `${CONTACT_COLUMNS}, ${sort.keys.map((k, i) => `${k.expr}::text as k${i}`).join(', ')}`;
  const where = (conditions: string[]) => (conditions.length ? `where ${conditions.join(' and ')}` : '');
  const L = query.limit;

  let page = `select ${columns} from vault.contacts ${where(keyset)} order by ${order} limit ${L + 1}`;
  let ctes = '';
  if (search) {
    // the matches branch orders by the sort's own expressions (s0, s1), not their text (k0, k1)
    const sortColumns = sort.keys.map((k, i) => `${k.expr} as s${i}`).join(', ');
    const keptColumns = `${CONTACT_COLUMNS}, ${sort.keys.map((_, i) => `k${i}`).join(', ')}`;
    const sortOrder = [...sort.keys.map((_, i) => `s${i}`), 'contact_id'].map((e) => `${e} ${sort.dir}`).join(', ');
    // ids only: on -updated_at with no other filter the walk reads the index alone (its search_words
    // are included, sql/migrations/0006), and only the page's rows are fetched
    const walk = (rows: number) =>
      `select contact_id from (select contact_id, search_words from vault.contacts ${where(keyset)}
                               order by ${order} limit ${rows}) walked
       where ${search} limit ${L + 1}`;
    const walkPage = (cte: string, when: string) =>
      `(select ${columns} from vault.contacts where contact_id in (select contact_id from ${cte}) and ${when} order by ${order})`;
    const probed = '(select count(*) from probe)';
    const walked = '(select count(*) from walk)';
    const walkOn = `${probed} >= ${PROBE_ROWS * (L + 1)} * sqrt(${(L + 1) / 2} / (select greatest(reltuples, 1) from pg_class where oid = 'vault.contacts'::regclass))`;
    // each branch runs only if its one-time condition holds; a CTE is computed when first read
    ctes = `with probe as materialized (${walk(PROBE_ROWS * (L + 1))}),
              walk as materialized (${walk(WALK_ROWS * (L + 1))}),
              matches as materialized (select ${columns}, ${sortColumns} from vault.contacts ${where([search, ...keyset])})`;
    page = `${walkPage('probe', `${probed} > ${L}`)}
            union all
            ${walkPage('walk', `${probed} <= ${L} and ${walkOn} and ${walked} > ${L}`)}
            union all
            (select ${keptColumns} from matches where not (${probed} > ${L} or (${walkOn} and ${walked} > ${L}))
             order by ${sortOrder} limit ${L + 1})`;
  }
  return {
    sql: `${ctes} select ${CONTACT_OUTPUT}, ${sort.keys.map((_, i) => `k${i}`).join(', ')} from (${page}) page`,
    params,
    countSql: `select count(*)::int as n from (select 1 from vault.contacts ${where(allFilters)} limit ${TOTAL_CAP + 1}) t`,
    countParams: params.slice(0, filterParams),
  };
}

/** One page of GET /api/contacts (also the MCP search_contacts tool): rows, the next cursor, the total if asked. */
export async function contactPage(pg: Pick<Pool, 'query'>, query: z.infer<typeof ContactListQuery>) {
  const { sql, params, countSql, countParams } = contactListQuery(query);
  const [page, count] = await Promise.all([
    pg.query(sql, params),
    query.include_total ? pg.query(countSql, countParams) : undefined,
  ]);
  const last = page.rows.length > query.limit ? page.rows[query.limit - 1] : undefined;
  return {
    rows: page.rows.slice(0, query.limit),
    next_cursor: last ? encodeCursor({ s: query.sort, v: SORTS[query.sort].keys.map((_, i) => last[`k${i}`]), id: last.contact_id }) : null,
    ...(count ? { total: Math.min(count.rows[0].n, TOTAL_CAP), total_capped: count.rows[0].n > TOTAL_CAP } : {}),
  };
}

/** "W/\"3\"" or "3" → 3. */
const etagVersion = (tag: string) => Number(/^(?:W\/)?"?(\d+)"?$/.exec(tag.trim())?.[1] ?? NaN);
const etag = (version: number) => `W/"${version}"`;

const contactRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/api/contacts', {
    schema: {
      summary: 'Search and filter contacts, with cursor pagination',
      description: 'Sorted keyset pages (default 100, max 1000). Pass next_cursor back as cursor with the same filters and sort.',
      tags: ['contacts'],
      querystring: ContactListQuery,
      response: { 200: ContactPage, 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const page = await contactPage(app.pg, request.query);
    const total = page.total === undefined ? '' : `,"total":${page.total},"total_capped":${page.total_capped}`;
    // the ContactPage shape, written here: the key list keeps the schema's fields, in its order
    const body = `{"data":${JSON.stringify(page.rows, CONTACT_FIELDS)},"next_cursor":${JSON.stringify(page.next_cursor)}${total}}`;
    // a string with a JSON content type is sent as is
    return reply.type('application/json; charset=utf-8').send(body as never);
  });

  app.get('/api/contacts/:id', {
    schema: {
      summary: 'A contact with its golden record, sources, history and intelligence',
      tags: ['contacts'],
      params: ContactParams,
      response: { 200: ContactDetail, 404: ErrorResponse },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    const { rows: [contact] } = await app.pg.query(`select ${CONTACT_COLUMNS} from vault.contacts where contact_id = $1`, [id]);
    if (!contact) throw new HttpError(404, `no contact ${id}`);
    const { rows: [slot] } = await app.pg.query(
      `select m.person_id from people.slot s join people.master m on m.person_id = s.person_id
       where s.contact_id = $1 order by m.merged_into nulls first limit 1`,
      [id],
    );
    // a merged person forwards to its survivor
    const { rows: [live] } = slot
      ? await app.pg.query('select coalesce(merged_into, person_id) as person_id from people.master where person_id = $1', [slot.person_id])
      : { rows: [] };
    const master = live ? await personRecord(app.pg, live.person_id) : null;
    reply.header('etag', etag(contact.version));
    return {
      ...(jsonRow(contact) as z.infer<typeof Contact>),
      master: master as never,
      company: (await companyRecord(app.pg, (master?.company_id as number | null) ?? null)) as never,
      sources: master ? ((await personSources(app.pg, master.person_id as number)) as never) : [],
      history: master ? ((await history(app.pg, 'people', master.person_id as number)) as never) : [],
      intelligence: (await intelligence(app.pg, { personId: (master?.person_id as number) ?? null, contactIds: [id] })) as never,
    };
  });

  app.patch('/api/contacts/:id', {
    config: { scope: 'write' },
    schema: {
      summary: 'Edit a contact (optimistic concurrency: If-Match or version)',
      description:
        'Send If-Match with the ETag of GET /api/contacts/:id (stale → 412) or the `version` you read (stale → 409). ' +
        'The edit is audited (before/after) and becomes the highest-priority source (manual_edit) of the golden record.',
      tags: ['contacts'],
      params: ContactParams,
      headers: PatchHeaders,
      body: ContactPatch,
      response: { 200: Contact, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 412: ErrorResponse, 428: ErrorResponse },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    const { version, ...changes } = request.body;
    const ifMatch = request.headers['if-match'];
    if (ifMatch === undefined && version === undefined) {
      throw new HttpError(428, 'send If-Match with the contact\'s ETag, or the version you are editing');
    }
    const values = normalizeEdit(changes);
    const updated = await withTransaction(app.pg, async (db) => {
      const { rows: [before] } = await db.query(`select ${CONTACT_COLUMNS} from vault.contacts where contact_id = $1 for update`, [id]);
      if (!before) throw new HttpError(404, `no contact ${id}`);
      if (ifMatch !== undefined && etagVersion(ifMatch) !== before.version) {
        throw new HttpError(412, `the contact changed since that ETag (now ${etag(before.version)})`, { version: before.version }, { etag: etag(before.version) });
      }
      if (version !== undefined && version !== before.version) {
        throw new HttpError(409, `stale version ${version}: the contact is at version ${before.version}`, { version: before.version });
      }
      const columns = Object.keys(values);
      const { rows: [after] } = await db.query(
        `update vault.contacts set ${columns.map((c, i) => `${c} = $${i + 2}`).join(', ')}, version = version + 1, updated_at = now()
         where contact_id = $1 returning ${CONTACT_COLUMNS}`,
        [id, ...columns.map((c) => values[c])],
      );
      await db.query(
        `insert into intake.audit_log (actor, action, entity, entity_id, before, after) values ($1, 'contact_updated', 'contact', $2, $3, $4)`,
        [request.apiKey?.name ?? null, String(id), jsonRow(pick(before, columns.concat('version'))), jsonRow(pick(after, columns.concat('version')))],
      );
      await recordManualEdit(db, id, values);
      return after;
    });
    reply.header('etag', etag(updated.version));
    return jsonRow(updated) as z.infer<typeof Contact>;
  });
};

const pick = (row: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, row[k]]));

/** Edits in the stored forms (E.164, canonical LinkedIn, registrable domain); a value that has none → 400 naming it. */
function normalizeEdit(changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const bad: { field: string; message: string }[] = [];
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (value === null || field === 'status') {
      out[field] = value;
      continue;
    }
    const normalized =
      field === 'phone' ? normalizePhone(value, changes.country) :
      field === 'linkedin_url' ? canonicalLinkedIn(value) :
      field === 'company_domain' ? registrableDomain(value) :
      cleanText(value);
    if (normalized === null) bad.push({ field, message: `not a valid ${field.replace('_', ' ')}` });
    out[field] = normalized;
  }
  if (bad.length) throw new HttpError(400, `invalid ${bad.map((b) => b.field).join(', ')}`, { issues: bad, total: bad.length });
  return out;
}

const SLOT_FIELDS = ['first_name', 'last_name', 'full_name', 'title', 'phone', 'linkedin_url', 'city', 'state', 'country', 'company_domain'];

/**
 * A person's edit is a source too ('manual_edit', the highest priority): its slot joins the
 * contact's golden record and survivorship writes the changed fields to history.
 */
async function recordManualEdit(db: Pick<import('pg').PoolClient, 'query'>, contactId: number, values: Record<string, unknown>) {
  const fields = SLOT_FIELDS.filter((f) => values[f] != null);
  if (!fields.length) return;
  const { rows: [link] } = await db.query(
    `select coalesce(m.merged_into, m.person_id) as person_id from people.slot s join people.master m on m.person_id = s.person_id
     where s.contact_id = $1 limit 1`,
    [contactId],
  );
  if (!link) return;
  await db.query(
    `insert into people.slot as s (source, source_key, contact_id, person_id, seen_at, last_seen_at, ${fields.join(', ')})
     values ('manual_edit', $1, $2, $3, now(), now(), ${fields.map((_, i) => `$${i + 4}`).join(', ')})
     on conflict (source, source_key) do update set ${fields.map((f) => `${f} = excluded.${f}`).join(', ')},
       person_id = excluded.person_id, seen_at = now(), last_seen_at = now()`,
    [`contact:${contactId}`, contactId, link.person_id, ...fields.map((f) => values[f])],
  );
  await db.query('select people.f_apply_survivorship($1, $2, null)', [[link.person_id], JSON.stringify(SURVIVORSHIP_RULES)]);
}

export default contactRoutes;
