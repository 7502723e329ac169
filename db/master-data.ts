// Golden records (people.master, company.master): the one home of their writes — resolution of
// promoted loads, merges, a manual edit as a source — and the reads behind the contacts, people
// and companies routes.
import type pg from 'pg';
import type { Pool } from './pool';
import { withAudit, type AuditContext } from './audit';
import { SURVIVORSHIP_RULES } from '../common/survivorship';
import { InvalidCursorError } from './cursor';

type Queryable = Pick<pg.Pool, 'query'>;
type Row = Record<string, unknown>;

/** Dates as ISO strings, as the API schemas describe them. */
export function jsonRow<T extends Row>(row: T): T {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out as T;
}

async function personRecord(db: Queryable, personId: number): Promise<Row | null> {
  const { rows } = await db.query('select * from people.master where person_id = $1', [personId]);
  return rows[0] ? jsonRow(rows[0]) : null;
}

async function companyRecord(db: Queryable, companyId: number | null): Promise<Row | null> {
  if (companyId == null) return null;
  const { rows } = await db.query('select * from company.master where company_id = $1', [companyId]);
  return rows[0] ? jsonRow(rows[0]) : null;
}

const LINEAGE = 'slot_id, source, source_id, source_key, load_id, seen_at, last_seen_at';

async function personSources(db: Queryable, personId: number): Promise<Row[]> {
  const { rows } = await db.query(`select ${LINEAGE}, contact_id from people.slot where person_id = $1 order by slot_id`, [personId]);
  return rows.map(jsonRow);
}

async function companySources(db: Queryable, companyId: number): Promise<Row[]> {
  const { rows } = await db.query(`select ${LINEAGE} from company.slot where company_id = $1 order by slot_id`, [companyId]);
  return rows.map(jsonRow);
}

/** Newest first, one row per field change (a master's creation record reads as one row per field). */
async function history(db: Queryable, kind: 'people' | 'company', id: number, limit = 200): Promise<Row[]> {
  const key = kind === 'people' ? 'person_id' : 'company_id';
  const { rows } = await db.query(
    `select history_id, action, field, old_value, new_value, source, workflow_id, details, at
     from ${kind}.history where ${key} = $1 order by history_id desc, field desc limit $2`,
    [id, limit],
  );
  return rows.map((r) => jsonRow(r.details == null ? { ...r, details: undefined } : r));
}

/**
 * people.intelligence belongs to enrichment (a later migration); read it when it exists, by
 * whichever key it carries (person_id or contact_id).
 */
async function intelligence(db: Queryable, ids: { personId?: number | null; contactIds: number[] }): Promise<Row[]> {
  const { rows: cols } = await db.query(
    `select column_name from information_schema.columns
     where table_schema = 'people' and table_name = 'intelligence' and column_name in ('person_id', 'contact_id')`,
  );
  const names = new Set(cols.map((c) => c.column_name));
  const where: string[] = [];
  const params: unknown[] = [];
  if (names.has('person_id') && ids.personId != null) where.push(`i.person_id = $${params.push(ids.personId)}`);
  if (names.has('contact_id') && ids.contactIds.length) where.push(`i.contact_id = any($${params.push(ids.contactIds)})`);
  if (!where.length) return [];
  const { rows } = await db.query(`select to_jsonb(i) as item from people.intelligence i where ${where.join(' or ')} limit 100`, params);
  return rows.map((r) => r.item);
}

export type MasterKind = 'person' | 'company';

const MASTER_TABLES = {
  person: { merge: 'people.f_merge', noun: 'person' },
  company: { merge: 'company.f_merge', noun: 'company' },
} as const;

export interface MergeOutcome {
  survivor_id: number;
  merged_id: number;
  /** The merge had already happened (a repeated request): nothing changed. */
  already_merged: boolean;
}

/** Why a merge was not done; `message` and `details` name the record or the `into` field. */
export interface MergeRefusal {
  refused: 'invalid' | 'not_found' | 'conflict';
  message: string;
  details?: { issues: { field: string; message: string }[] };
}

export interface CompanyListFilter {
  q?: string;
  domain?: string;
  limit: number;
  /** next_cursor of the previous page. */
  cursor?: string;
}

export function createMasterDataRepository(pool: Pool) {
  return {
    /**
     * The golden record a contact resolved to, with its company, sources, history and
     * intelligence; master is null before promotion resolved the contact.
     */
    async goldenRecordOfContact(contactId: number) {
      const { rows: [slot] } = await pool.query(
        `select m.person_id from people.slot s join people.master m on m.person_id = s.person_id
         where s.contact_id = $1 order by m.merged_into nulls first limit 1`,
        [contactId],
      );
      // a merged person forwards to its survivor
      const { rows: [live] } = slot
        ? await pool.query('select coalesce(merged_into, person_id) as person_id from people.master where person_id = $1', [slot.person_id])
        : { rows: [] };
      const master = live ? await personRecord(pool, live.person_id) : null;
      return {
        master,
        company: await companyRecord(pool, (master?.company_id as number | null) ?? null),
        sources: master ? await personSources(pool, master.person_id as number) : [],
        history: master ? await history(pool, 'people', master.person_id as number) : [],
        intelligence: await intelligence(pool, { personId: (master?.person_id as number) ?? null, contactIds: [contactId] }),
      };
    },

    /** A person (merged-away ones too) with company, contacts, sources, history, intelligence; null if none. */
    async personDetail(personId: number) {
      const person = await personRecord(pool, personId);
      if (!person) return null;
      const { rows: contacts } = await pool.query(
        `select distinct c.contact_id, c.email, c.status from people.slot s join vault.contacts c on c.contact_id = s.contact_id
         where s.person_id = $1 order by c.contact_id`,
        [personId],
      );
      return {
        ...person,
        company: await companyRecord(pool, person.company_id as number | null),
        contacts,
        sources: await personSources(pool, personId),
        history: await history(pool, 'people', personId),
        intelligence: await intelligence(pool, { personId, contactIds: contacts.map((c) => c.contact_id) }),
      };
    },

    /** Live companies by company_id; name substring and domain filters. Throws InvalidCursorError. */
    async companyPage({ q, domain, limit, cursor }: CompanyListFilter) {
      const params: unknown[] = [];
      const where = ['merged_into is null'];
      if (q) where.push(`name ilike $${params.push(`%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`)}`);
      if (domain) where.push(`domain = $${params.push(domain)}`);
      if (cursor) {
        const after = Number(cursor);
        if (!Number.isInteger(after) || after < 0) throw new InvalidCursorError('not a cursor this API returned');
        where.push(`company_id > $${params.push(after)}`);
      }
      const { rows } = await pool.query(
        `select * from company.master where ${where.join(' and ')} order by company_id limit ${limit + 1}`,
        params,
      );
      const page = rows.slice(0, limit);
      return {
        data: page.map(jsonRow),
        next_cursor: rows.length > limit ? String(page[page.length - 1].company_id) : null,
      };
    },

    /** A company with its live people, sources and history; null if none. */
    async companyDetail(companyId: number) {
      const company = await companyRecord(pool, companyId);
      if (!company) return null;
      const { rows: people } = await pool.query(
        `select * from people.master where company_id = $1 and merged_into is null order by person_id limit 1000`,
        [companyId],
      );
      return {
        ...company,
        people: people.map(jsonRow),
        sources: await companySources(pool, companyId),
        history: await history(pool, 'company', companyId),
      };
    },

    /**
     * Merges one golden record into another by hand: the same SQL merge resolution runs when data
     * shows two masters are one (slots, keys and links move; the loser stays as a tombstone;
     * history keeps enough to reverse it by hand), audited. Repeating a done merge changes nothing.
     */
    async merge(kind: MasterKind, loserId: number, survivorId: number, ctx: AuditContext): Promise<MergeOutcome | MergeRefusal> {
      const t = MASTER_TABLES[kind];
      const outcome = { survivor_id: survivorId, merged_id: loserId, already_merged: false };
      if (loserId === survivorId) {
        return { refused: 'invalid', message: `a ${t.noun} cannot be merged into itself`, details: { issues: [{ field: 'into', message: 'must name another record' }] } };
      }
      return withAudit(pool, ctx, async (db): Promise<MergeOutcome | MergeRefusal> => {
        // the lock resolution chunks take: a merge never interleaves with one
        await db.query(`select pg_advisory_xact_lock(hashtext('master-resolution'))`);
        const { rows } = await db.query('select id, merged_into from people.f_lock_masters($1, $2)', [t.noun, [loserId, survivorId]]);
        const loser = rows.find((r) => Number(r.id) === loserId);
        const survivor = rows.find((r) => Number(r.id) === survivorId);
        // refusals come before any write: the transaction commits nothing
        if (!loser) return { refused: 'not_found', message: `no ${t.noun} ${loserId}` };
        if (!survivor) return { refused: 'invalid', message: `no ${t.noun} ${survivorId}`, details: { issues: [{ field: 'into', message: `names no ${t.noun}` }] } };
        if (loser.merged_into !== null && Number(loser.merged_into) === survivorId) return { ...outcome, already_merged: true };
        if (loser.merged_into !== null) return { refused: 'conflict', message: `${t.noun} ${loserId} was already merged into ${loser.merged_into}` };
        if (survivor.merged_into !== null) {
          return {
            refused: 'conflict',
            message: `${t.noun} ${survivorId} was merged into ${survivor.merged_into}; merge into that one`,
            details: { issues: [{ field: 'into', message: `merged into ${survivor.merged_into}` }] },
          };
        }
        // f_merge writes the audit row (person_merged / company_merged), naming ctx
        await db.query(`select ${t.merge}($1, $2, $3, null, $4)`, [survivorId, loserId, JSON.stringify(SURVIVORSHIP_RULES), { by: 'api', actor: ctx.actor }]);
        return outcome;
      });
    },
  };
}

export type MasterDataRepository = ReturnType<typeof createMasterDataRepository>;

// Writes that join the caller's transaction (a promotion chunk with its ledger row, a contact
// edit with its audit row), so they take that transaction's client.

export interface ResolutionCounts {
  peopleCreated: number;
  peopleChanged: number;
  companiesCreated: number;
  companiesChanged: number;
  merges: number;
}

/**
 * Promoted loads → people/company slots → golden records, with field history and merges: one
 * set-based SQL call per chunk (people.f_resolve_loads), inside the caller's transaction so the
 * promotion chunk ledger makes it exactly-once under activity retries.
 */
export async function resolveGoldenRecords(db: Pick<pg.PoolClient, 'query'>, loadIds: number[], workflowId?: string): Promise<ResolutionCounts> {
  if (!loadIds.length) return { peopleCreated: 0, peopleChanged: 0, companiesCreated: 0, companiesChanged: 0, merges: 0 };
  const { rows } = await db.query('select * from people.f_resolve_loads($1, $2, $3)', [
    loadIds,
    JSON.stringify(SURVIVORSHIP_RULES),
    workflowId ?? null,
  ]);
  const r = rows[0];
  return {
    peopleCreated: r.people_created,
    peopleChanged: r.people_changed,
    companiesCreated: r.companies_created,
    companiesChanged: r.companies_changed,
    merges: r.merges,
  };
}

const SLOT_FIELDS = ['first_name', 'last_name', 'full_name', 'title', 'phone', 'linkedin_url', 'city', 'state', 'country', 'company_domain'];

/**
 * A person's edit is a source too ('manual_edit', the highest priority): its slot joins the
 * contact's golden record and survivorship writes the changed fields to history.
 */
export async function recordManualEdit(db: Pick<pg.PoolClient, 'query'>, contactId: number, values: Record<string, unknown>) {
  const fields = SLOT_FIELDS.filter((f) => values[f] != null);
  if (!fields.length) return;
  const { rows: [link] } = await db.query(
    `select coalesce(m.merged_into, m.person_id) as person_id from people.slot s join people.master m on m.person_id = s.person_id
     where s.contact_id = $1 limit 1`,
    [contactId],
  );
  if (!link) return;
  await db.query('select people.f_record_manual_edit($1, $2, $3, $4)',
    [contactId, link.person_id, Object.fromEntries(fields.map((f) => [f, values[f]])), JSON.stringify(SURVIVORSHIP_RULES)]);
}
