// Read queries behind the MCP contact tools (simple vault.contacts queries until search lands in the API).
import type { Pool } from '../db/pool';

export interface ContactSearch {
  query?: string;
  status?: string;
  company_domain?: string;
  min_score?: number;
  limit: number;
  after_id?: number;
}

const COLUMNS = `contact_id, email, first_name, last_name, full_name, title, company_name, company_domain, linkedin_url,
  city, state, country, status, score, source, updated_at`;

export async function searchContacts(pool: Pool, s: ContactSearch) {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (s.query) {
    add(`(email ilike ? or full_name ilike ? or first_name ilike ? or last_name ilike ? or company_name ilike ?
          or company_domain ilike ?)`, `%${s.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (s.status) add('status = ?', s.status);
  if (s.company_domain) add('company_domain = lower(?)', s.company_domain);
  if (s.min_score !== undefined) add('score >= ?', s.min_score);
  if (s.after_id) add('contact_id < ?', s.after_id);
  params.push(s.limit);
  const { rows } = await pool.query(
    `select ${COLUMNS} from vault.contacts ${where.length ? `where ${where.join(' and ')}` : ''}
     order by contact_id desc limit $${params.length}`,
    params,
  );
  return { contacts: rows, next_after_id: rows.length === s.limit ? rows[rows.length - 1].contact_id : null };
}

export async function getContact(pool: Pool, by: { contactId?: number; email?: string }) {
  const { rows: [contact] } = by.contactId
    ? await pool.query(`select ${COLUMNS} from vault.contacts where contact_id = $1`, [by.contactId])
    : await pool.query(`select ${COLUMNS} from vault.contacts where email = lower(btrim($1))`, [by.email]);
  if (!contact) return null;
  const { rows: intelligence } = await pool.query(
    `select provider, matched, fetched_at, expires_at, payload from people.intelligence where contact_id = $1 order by provider`,
    [contact.contact_id],
  );
  return { ...contact, intelligence };
}
