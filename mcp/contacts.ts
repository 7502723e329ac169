// Read queries behind the MCP contact tools. Search is GET /api/contacts's own (same words
// semantics, same indexes and cursors).
import type { Pool } from '../db/pool';
import { contactPage } from '../api/routes/contacts';
import { ContactListQuery } from '../api/schemas/contacts';

export interface ContactSearch {
  query?: string;
  status?: string;
  company_domain?: string;
  min_score?: number;
  limit: number;
  cursor?: string;
}

const COLUMNS = `contact_id, email, first_name, last_name, full_name, title, company_name, company_domain, linkedin_url,
  city, state, country, status, score, source, updated_at`;

/** Newest first; throws a zod error naming the argument for a query the API would refuse. */
export async function searchContacts(pool: Pool, s: ContactSearch) {
  const query = ContactListQuery.parse({
    q: s.query, status: s.status, company_domain: s.company_domain, score_min: s.min_score, limit: s.limit, cursor: s.cursor,
  });
  const page = await contactPage(pool, query);
  return { contacts: page.rows.map(({ k0: _k0, k1: _k1, ...contact }) => contact), next_cursor: page.next_cursor };
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
