// Reads of golden records shared by the contacts, people and companies routes.
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;
type Row = Record<string, unknown>;

/** Dates as ISO strings, as the API schemas describe them. */
export function jsonRow<T extends Row>(row: T): T {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out as T;
}

export async function personRecord(db: Queryable, personId: number): Promise<Row | null> {
  const { rows } = await db.query('select * from people.master where person_id = $1', [personId]);
  return rows[0] ? jsonRow(rows[0]) : null;
}

export async function companyRecord(db: Queryable, companyId: number | null): Promise<Row | null> {
  if (companyId == null) return null;
  const { rows } = await db.query('select * from company.master where company_id = $1', [companyId]);
  return rows[0] ? jsonRow(rows[0]) : null;
}

const LINEAGE = 'slot_id, source, source_id, source_key, load_id, seen_at, last_seen_at';

export async function personSources(db: Queryable, personId: number): Promise<Row[]> {
  const { rows } = await db.query(`select ${LINEAGE}, contact_id from people.slot where person_id = $1 order by slot_id`, [personId]);
  return rows.map(jsonRow);
}

export async function companySources(db: Queryable, companyId: number): Promise<Row[]> {
  const { rows } = await db.query(`select ${LINEAGE} from company.slot where company_id = $1 order by slot_id`, [companyId]);
  return rows.map(jsonRow);
}

export async function history(db: Queryable, kind: 'people' | 'company', id: number, limit = 200): Promise<Row[]> {
  const key = kind === 'people' ? 'person_id' : 'company_id';
  const { rows } = await db.query(
    `select history_id, action, field, old_value, new_value, source, workflow_id, details, at
     from ${kind}.history where ${key} = $1 order by history_id desc limit $2`,
    [id, limit],
  );
  return rows.map((r) => jsonRow(r.details == null ? { ...r, details: undefined } : r));
}

/**
 * people.intelligence belongs to enrichment (a later migration); read it when it exists, by
 * whichever key it carries (person_id or contact_id).
 */
export async function intelligence(db: Queryable, ids: { personId?: number | null; contactIds: number[] }): Promise<Row[]> {
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
