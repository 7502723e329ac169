// vault.contacts: the search planner behind GET /api/contacts (and the MCP search), its cursors,
// reads by id, and manual edits with their audit row and golden-record source.
import type { Pool } from './pool';
import { withTransaction } from './pool';
import { canonicalLinkedIn, cleanText, normalizePhone, registrableDomain } from '../common/normalize';
import { InvalidCursorError, isIdValue, isSmallintText, isTimestampText } from './cursor';
import { jsonRow, recordManualEdit } from './master-data';

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

/** A contact as the API shows it (times as ISO strings). */
export interface ContactRecord {
  contact_id: number;
  email: string;
  first_name: string | null;
  last_name: string | null;
  full_name: string | null;
  title: string | null;
  company_name: string | null;
  company_domain: string | null;
  phone: string | null;
  linkedin_url: string | null;
  city: string | null;
  state: string | null;
  country: string | null;
  source: string;
  status: string;
  score: number;
  version: number;
  created_at: string;
  updated_at: string;
}

/** Each sort is a keyset over an index (sql/migrations/0002): order columns, then contact_id. */
const SORTS = {
  '-updated_at': { keys: [{ expr: 'updated_at', cast: 'timestamptz' }], dir: 'desc' },
  '-created_at': { keys: [{ expr: 'created_at', cast: 'timestamptz' }], dir: 'desc' },
  '-score': { keys: [{ expr: 'score', cast: 'smallint' }], dir: 'desc' },
  last_name: { keys: [{ expr: "coalesce(last_name, '')", cast: 'text' }, { expr: "coalesce(first_name, '')", cast: 'text' }], dir: 'asc' },
} satisfies Record<string, { keys: { expr: string; cast: string }[]; dir: 'asc' | 'desc' }>;

export type ContactSort = keyof typeof SORTS;

/** One page's filters, sort and cursor (GET /api/contacts's query, parsed). */
export interface ContactSearch {
  /** Words over names, email, company (see searchTsquery). */
  q?: string;
  status?: string;
  score_min?: number;
  score_max?: number;
  source?: string;
  company_domain?: string;
  /** Substring of the title, case-insensitive. */
  title?: string;
  updated_since?: string;
  sort: ContactSort;
  limit: number;
  /** next_cursor of the previous page. */
  cursor?: string;
  include_total: boolean;
}

const TOTAL_CAP = 10_000;
/** A search's plan (see contactListQuery): rows walked per row of the page, first and at most. */
const PROBE_ROWS = 10;
const WALK_ROWS = 100;

interface Cursor {
  s: ContactSort;
  v: (string | number)[];
  id: number;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

/** Sort-key texts the query casts back (`$n::timestamptz`): what Postgres reads as that type. */
const KEY_TEXT_CHECKS: Record<(typeof SORTS)[ContactSort]['keys'][number]['cast'], (text: string) => boolean> = {
  timestamptz: isTimestampText,
  smallint: isSmallintText,
  text: (text) => !text.includes('\0'),
};

/** A cursor contactPage wrote for this sort; anything else (forged, tampered) throws InvalidCursorError. */
function decodeCursor(text: string, sort: ContactSort): Cursor {
  let c: Cursor;
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('not a cursor this API returned');
  }
  if (!c || typeof c !== 'object' || c.s !== sort || !Array.isArray(c.v) || c.v.length !== SORTS[sort].keys.length) {
    throw new InvalidCursorError(`cursor does not belong to sort=${sort}`);
  }
  const keys = SORTS[sort].keys;
  if (!isIdValue(c.id) || !c.v.every((v, i) => typeof v === 'string' && KEY_TEXT_CHECKS[keys[i].cast](v))) {
    throw new InvalidCursorError('not a cursor this API returned');
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

/** A selection of contacts by GET /api/contacts's filters (no sort, no cursor): "select all matching". */
export type ContactFilter = Pick<ContactSearch, 'q' | 'status' | 'score_min' | 'score_max' | 'source' | 'company_domain' | 'title' | 'updated_since'>;

/**
 * The filter's conditions over vault.contacts' columns (unqualified), values pushed onto params:
 * the same selection GET /api/contacts pages through. No condition: every contact.
 */
export function contactFilterConditions(filter: ContactFilter, params: unknown[]): string[] {
  const p = (v: unknown) => `$${params.push(v)}`;
  const conditions: string[] = [];
  if (filter.q) {
    const tsquery = searchTsquery(filter.q);
    conditions.push(tsquery ? `search_words @@ ${p(tsquery)}::tsquery` : 'false');
  }
  if (filter.status) conditions.push(`status = ${p(filter.status)}`);
  if (filter.score_min !== undefined) conditions.push(`score >= ${p(filter.score_min)}`);
  if (filter.score_max !== undefined) conditions.push(`score <= ${p(filter.score_max)}`);
  if (filter.source) conditions.push(`source = ${p(filter.source)}`);
  if (filter.company_domain) conditions.push(`company_domain = ${p(filter.company_domain)}`);
  if (filter.title) conditions.push(`lower(title) like ${p(likePattern(filter.title))}`);
  if (filter.updated_since) conditions.push(`updated_at >= ${p(filter.updated_since)}`);
  return conditions;
}

/**
 * The SQL of one page: filters as $n parameters, keyset after the cursor, limit + 1 rows to see
 * if more follow; k0, k1 are the sort keys as text for the next cursor. Throws InvalidCursorError.
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
export function contactListQuery(query: Omit<ContactSearch, 'include_total'>) {
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

/**
 * One page of GET /api/contacts (also the MCP search_contacts tool): rows (times already as ISO
 * text, with their sort keys k0, k1), the next cursor, the total if asked. Throws InvalidCursorError.
 */
export async function contactPage(pg: Pick<Pool, 'query'>, query: ContactSearch) {
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

/** What a manual edit may change, as the API accepts it (before normalization). */
export type ContactChanges = Partial<Record<Exclude<keyof ContactRecord, 'contact_id' | 'email' | 'source' | 'score' | 'version' | 'created_at' | 'updated_at'>, string | null>>;

export type ContactEditResult =
  | { contact: ContactRecord }
  | { refused: 'invalid'; issues: { field: string; message: string }[] }
  | { refused: 'not_found' }
  /** ifMatchVersion or version is not the contact's version (now `version`). */
  | { refused: 'stale_if_match' | 'stale_version'; version: number }
  /** The edit would change the status of a contact that is not active (see edit). */
  | { refused: 'status_locked'; status: string };

export function createContactsRepository(pool: Pool) {
  return {
    /** One page of a search (see contactPage). Throws InvalidCursorError. */
    searchPage: (search: ContactSearch) => contactPage(pool, search),

    async findById(contactId: number): Promise<ContactRecord | null> {
      const { rows: [contact] } = await pool.query(`select ${CONTACT_COLUMNS} from vault.contacts where contact_id = $1`, [contactId]);
      return contact ? jsonRow(contact) : null;
    },

    /**
     * A manual edit under optimistic concurrency: checks the version(s) the editor read (an
     * If-Match version first, then a body version), stores the values in their normalized forms,
     * bumps the version, audits before/after and records the edit as the golden record's
     * highest-priority source, in one transaction. The status of a contact that is not active
     * (bounced, unsubscribed, do_not_contact) is not edited: consent and suppression change only
     * by their own paths (the recipient's unsubscribe, bounce and complaint handling).
     */
    async edit(
      contactId: number,
      { changes, ifMatchVersion, version, actor }: { changes: ContactChanges; ifMatchVersion?: number; version?: number; actor: string | null },
    ): Promise<ContactEditResult> {
      const normalized = normalizeEdit(changes);
      if ('issues' in normalized) return { refused: 'invalid', issues: normalized.issues };
      const values = normalized.values;
      return withTransaction(pool, async (db): Promise<ContactEditResult> => {
        const { rows: [before] } = await db.query(`select ${CONTACT_COLUMNS} from vault.f_lock_contact($1)`, [contactId]);
        // refusals come before any write: the transaction commits nothing
        if (!before) return { refused: 'not_found' };
        if (ifMatchVersion !== undefined && ifMatchVersion !== before.version) return { refused: 'stale_if_match', version: before.version };
        if (version !== undefined && version !== before.version) return { refused: 'stale_version', version: before.version };
        if ('status' in values && values.status !== before.status && before.status !== 'active') return { refused: 'status_locked', status: before.status };
        // the new values and the contact_updated audit row (changed fields and versions, before and after)
        const { rows: [after] } = await db.query(`select ${CONTACT_COLUMNS} from vault.f_edit_contact($1, $2, $3)`, [contactId, values, actor]);
        await recordManualEdit(db, contactId, values);
        return { contact: jsonRow(after) };
      });
    },
  };
}

export type ContactsRepository = ReturnType<typeof createContactsRepository>;

/** Edits in the stored forms (E.164, canonical LinkedIn, registrable domain); values that have none are named. */
function normalizeEdit(changes: Record<string, unknown>): { values: Record<string, unknown> } | { issues: { field: string; message: string }[] } {
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
  return bad.length ? { issues: bad } : { values: out };
}
