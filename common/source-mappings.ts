// Source mappings: a record as a source sends it (Apollo CSV export row, Apollo API person,
// Apify LinkedIn profile item, a manual CSV/JSON row with the caller's column mapping) → the
// canonical contact fields, normalized. The staged payload is the source record itself plus the
// canonical fields, so no column is ever dropped: columns no mapping knows stay as they came.
import {
  canonicalLinkedIn,
  cleanText,
  companyDomainFromEmail,
  listText,
  normalizeEmail,
  normalizeName,
  normalizePhone,
  normalizeWebsite,
  registrableDomain,
  toInteger,
} from './normalize';

export const SOURCE_FORMATS = ['manual', 'apollo_csv', 'apollo_api', 'apify_linkedin'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/** The fields golden records are built from. Consent/suppression status is deliberately not one. */
export const CANONICAL_FIELDS = [
  'email', 'first_name', 'last_name', 'full_name', 'title', 'headline', 'seniority', 'departments',
  'email_status', 'phone', 'linkedin_url', 'city', 'state', 'country', 'source_person_id',
  'company_name', 'company_domain', 'company_website', 'company_linkedin_url', 'company_industry',
  'company_employees', 'company_phone', 'company_city', 'company_state', 'company_country', 'source_company_id',
] as const;
export type CanonicalField = (typeof CANONICAL_FIELDS)[number];
export type CanonicalContact = { [K in CanonicalField]?: string | number | null };

type SourceRecord = Record<string, unknown>;

/**
 * Apollo's people CSV export, header → canonical field (headers compared case-insensitively).
 * Phone columns are read in this order for `phone`; every other export column (Stage, Lists,
 * Keywords, Technologies, Annual Revenue, Email Sent/Open/Bounced, Replied, …) stays raw only.
 */
export const APOLLO_CSV_COLUMNS: Record<string, CanonicalField> = {
  'first name': 'first_name',
  'last name': 'last_name',
  title: 'title',
  company: 'company_name',
  'company name': 'company_name',
  email: 'email',
  'email status': 'email_status',
  seniority: 'seniority',
  departments: 'departments',
  'person linkedin url': 'linkedin_url',
  website: 'company_website',
  'company linkedin url': 'company_linkedin_url',
  industry: 'company_industry',
  '# employees': 'company_employees',
  city: 'city',
  state: 'state',
  country: 'country',
  'company city': 'company_city',
  'company state': 'company_state',
  'company country': 'company_country',
  'company phone': 'company_phone',
  'apollo contact id': 'source_person_id',
  'apollo account id': 'source_company_id',
};
const APOLLO_CSV_PHONES = ['work direct phone', 'mobile phone', 'corporate phone', 'first phone', 'home phone', 'other phone'];
const APOLLO_CSV_COMPANY_FALLBACK = 'company name for emails';

/** Names a manual row may use for a canonical field, besides the field's own name. */
const MANUAL_ALIASES: Record<string, CanonicalField> = {
  name: 'full_name',
  organization_name: 'company_name',
  company: 'company_name',
  organization: 'company_name',
  website: 'company_website',
  domain: 'company_domain',
  linkedin: 'linkedin_url',
  job_title: 'title',
  mobile_phone: 'phone',
  company_linkedin: 'company_linkedin_url',
};

/** Turns one source record into its canonical fields. `mapping` (manual only): source column → canonical field. */
export function mapRecord(format: SourceFormat, record: SourceRecord, mapping?: Record<string, string>): CanonicalContact {
  switch (format) {
    case 'apollo_csv':
      return finish(fromApolloCsv(record));
    case 'apollo_api':
      return finish(fromApolloPerson(record));
    case 'apify_linkedin':
      return finish(fromApifyProfile(record));
    case 'manual':
      return finish(fromManual(record, mapping));
  }
}

/** The payload staged for a mapped record: the record as it came, with the canonical fields over it. */
export function payloadOf(record: SourceRecord, canonical: CanonicalContact): SourceRecord {
  const payload: SourceRecord = { ...record };
  for (const [k, v] of Object.entries(canonical)) if (v !== null && v !== undefined) payload[k] = v;
  return payload;
}

/** A staged row must identify someone: an email, a LinkedIn URL or a name. */
export function identifies(c: CanonicalContact): boolean {
  return Boolean(c.email || c.linkedin_url || c.full_name || c.first_name || c.last_name);
}

function lowerKeys(record: SourceRecord): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(record)) m.set(k.replace(/^\uFEFF/, '').trim().toLowerCase(), v);
  return m;
}

function fromApolloCsv(record: SourceRecord): Raw {
  const cols = lowerKeys(record);
  const out: Raw = {};
  for (const [header, field] of Object.entries(APOLLO_CSV_COLUMNS)) {
    if (out[field] == null && cols.has(header)) out[field] = cols.get(header);
  }
  out.company_name ??= cleanText(cols.get(APOLLO_CSV_COMPANY_FALLBACK));
  for (const header of APOLLO_CSV_PHONES) {
    if (!cleanText(out.phone)) out.phone = cols.get(header);
  }
  return out;
}

/** Apollo API person (people/match, bulk_match): flat person fields plus its organization object. */
export function fromApolloPerson(p: SourceRecord): Raw {
  const org = (p.organization && typeof p.organization === 'object' ? p.organization : {}) as SourceRecord;
  const phones = Array.isArray(p.phone_numbers) ? (p.phone_numbers as SourceRecord[]) : [];
  return {
    email: p.email,
    first_name: p.first_name,
    last_name: p.last_name,
    full_name: p.name,
    title: p.title,
    headline: p.headline,
    seniority: p.seniority,
    departments: p.departments,
    email_status: p.email_status,
    phone: phones[0]?.sanitized_number ?? phones[0]?.raw_number ?? p.phone,
    linkedin_url: p.linkedin_url,
    city: p.city,
    state: p.state,
    country: p.country,
    source_person_id: p.id,
    source_company_id: p.organization_id ?? org.id,
    ...fromApolloOrganization(org),
    company_name: org.name ?? p.organization_name,
  };
}

/** Apollo API organization (organizations/enrich) → the company_* fields. */
export function fromApolloOrganization(o: SourceRecord): Raw {
  return {
    company_name: o.name,
    company_domain: o.primary_domain,
    company_website: o.website_url,
    company_linkedin_url: o.linkedin_url,
    company_industry: o.industry,
    company_employees: o.estimated_num_employees,
    company_phone: (o.primary_phone as SourceRecord | undefined)?.sanitized_number ?? o.phone,
    company_city: o.city,
    company_state: o.state,
    company_country: o.country,
    source_company_id: o.id,
  };
}

/**
 * An Apify LinkedIn profile scraper dataset item (camelCase fields). Actors differ in naming; the
 * fallbacks cover the common spellings (jobTitle/occupation/headline, city/addressLocality/…).
 */
export function fromApifyProfile(i: SourceRecord): Raw {
  return {
    email: i.email,
    first_name: i.firstName,
    last_name: i.lastName,
    full_name: i.fullName,
    title: i.jobTitle ?? i.occupation ?? i.headline,
    headline: i.headline,
    phone: i.mobileNumber,
    linkedin_url: i.linkedinUrl ?? i.profileUrl ?? i.url ?? (i.publicIdentifier ? `https://www.linkedin.com/in/${String(i.publicIdentifier)}` : null),
    country: i.country ?? i.addressCountry ?? i.addressCountryOnly,
    city: i.city ?? i.addressLocality ?? (typeof i.addressWithoutCountry === 'string' ? i.addressWithoutCountry.split(',')[0] : null),
    source_person_id: i.publicIdentifier ?? i.urn,
    company_name: i.companyName,
    company_website: i.companyWebsite,
    company_linkedin_url: i.companyLinkedin,
    company_industry: i.companyIndustry,
    company_employees: i.companySize,
  };
}

function fromManual(record: SourceRecord, mapping?: Record<string, string>): Raw {
  const out: Raw = {};
  const canonical = new Set<string>(CANONICAL_FIELDS);
  for (const [key, value] of Object.entries(record)) {
    const lower = key.trim().toLowerCase();
    const field = mapping?.[key] ?? (canonical.has(lower) ? lower : MANUAL_ALIASES[lower]);
    if (field && canonical.has(field) && out[field as CanonicalField] == null) out[field as CanonicalField] = value;
  }
  return out;
}

type Raw = { [K in CanonicalField]?: unknown };

/** Normalizes the mapped values; derives what can be derived (company domain from website or email). */
function finish(raw: Raw): CanonicalContact {
  const email = normalizeEmail(raw.email);
  const name = normalizeName({ first: raw.first_name, last: raw.last_name, full: raw.full_name });
  const country = cleanText(raw.country);
  const companyCountry = cleanText(raw.company_country);
  const website = normalizeWebsite(raw.company_website);
  const out: CanonicalContact = {
    email,
    ...name,
    title: cleanText(raw.title),
    headline: cleanText(raw.headline),
    seniority: cleanText(raw.seniority)?.toLowerCase() ?? null,
    departments: listText(raw.departments),
    email_status: cleanText(raw.email_status)?.toLowerCase() ?? null,
    phone: normalizePhone(raw.phone, country ?? companyCountry),
    linkedin_url: canonicalLinkedIn(raw.linkedin_url),
    city: cleanText(raw.city),
    state: cleanText(raw.state),
    country,
    source_person_id: cleanText(raw.source_person_id),
    company_name: cleanText(raw.company_name),
    company_domain: registrableDomain(raw.company_domain) ?? registrableDomain(website) ?? companyDomainFromEmail(email),
    company_website: website,
    company_linkedin_url: canonicalLinkedIn(raw.company_linkedin_url),
    company_industry: cleanText(raw.company_industry),
    company_employees: toInteger(raw.company_employees),
    company_phone: normalizePhone(raw.company_phone, companyCountry ?? country),
    company_city: cleanText(raw.company_city),
    company_state: cleanText(raw.company_state),
    company_country: companyCountry,
    source_company_id: cleanText(raw.source_company_id),
  };
  for (const k of Object.keys(out) as CanonicalField[]) if (out[k] === null) delete out[k];
  return out;
}
