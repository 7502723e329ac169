// Field normalization for contact data, done with the field's libraries: names (parse-full-name),
// phones (libphonenumber-js → E.164), domains (tldts, public-suffix aware), LinkedIn URLs.
// Pure functions: used by the source mappings at staging time and unit-tested on messy values.
import { parseFullName } from 'parse-full-name';
import { getDomain } from 'tldts';
import { getCountries, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** Trimmed text with inner runs of whitespace collapsed; blank → null. */
export function cleanText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value).normalize('NFC').replace(/[\s\u00a0]+/g, ' ').trim();
  return s === '' || /^(n\/a|null|none|-)$/i.test(s) ? null : s;
}

/** An email as stored and compared: trimmed, lower case, without "mailto:" or angle brackets. */
export function normalizeEmail(value: unknown): string | null {
  const s = cleanText(value);
  if (!s) return null;
  return s.replace(/^mailto:/i, '').replace(/^<|>$/g, '').trim().toLowerCase() || null;
}

/**
 * The key two emails of one mailbox share: plus-tags dropped ("ada+news@x.com" → "ada@x.com").
 * Used for matching people, never as the address mail is sent to.
 */
export function emailMatchKey(email: string | null): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  if (at < 1) return email;
  return email.slice(0, at).replace(/\+.*$/, '') + email.slice(at);
}

const NAME_PARTICLES = new Set(['van', 'von', 'der', 'den', 'de', 'del', 'della', 'da', 'di', 'du', 'la', 'le', 'bin', 'al']);

/**
 * Case for a name that arrived all upper or all lower case ("JOHN" → "John", "o'brien" → "O'Brien",
 * "garcía-lópez" → "García-López"); names with deliberate mixed case ("McDonald") are kept.
 */
export function nameCase(value: unknown): string | null {
  const s = cleanText(value);
  if (!s) return null;
  if (s !== s.toUpperCase() && s !== s.toLowerCase()) return s;
  return s
    .toLowerCase()
    .split(' ')
    .map((word, i) =>
      i > 0 && NAME_PARTICLES.has(word) ? word : word.replace(/(^|[-'’])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase()),
    )
    .join(' ');
}

export interface PersonName {
  first_name: string | null;
  last_name: string | null;
  full_name: string | null;
}

/** First/last/full name from whatever a source gave: split fields, a full name, or "DOE, JOHN". */
export function normalizeName(input: { first?: unknown; last?: unknown; full?: unknown }): PersonName {
  let first = nameCase(input.first);
  let last = nameCase(input.last);
  const full = cleanText(input.full);
  if ((!first || !last) && full) {
    const parsed = parseFullName(full, 'all', 1, 0, 0);
    first ??= nameCase(parsed.first ? [parsed.first, parsed.middle].filter(Boolean).join(' ') : null);
    last ??= nameCase(parsed.last);
  }
  // "Doe, John" in the first-name column of a sloppy export
  if (first && !last && first.includes(',')) {
    const [l, f] = first.split(',', 2).map((p) => p.trim());
    first = nameCase(f);
    last = nameCase(l);
  }
  const joined = [first, last].filter(Boolean).join(' ');
  return { first_name: first, last_name: last, full_name: joined || nameCase(full) };
}

/** Country name or ISO code → ISO 3166 alpha-2 (the region libphonenumber needs). */
const countryCodes: Map<string, CountryCode> = (() => {
  const names = new Intl.DisplayNames(['en'], { type: 'region' });
  const map = new Map<string, CountryCode>();
  for (const code of getCountries()) {
    map.set(code.toLowerCase(), code);
    const name = names.of(code);
    if (name) map.set(name.toLowerCase(), code);
  }
  for (const [alias, code] of [['usa', 'US'], ['united states of america', 'US'], ['uk', 'GB'], ['england', 'GB'], ['great britain', 'GB']] as const) {
    map.set(alias, code);
  }
  return map;
})();

export function countryCode(country: unknown): CountryCode | undefined {
  const s = cleanText(country);
  return s ? countryCodes.get(s.toLowerCase()) : undefined;
}

/** A phone number in E.164 ("+14155552671"); the row's country is the default region. Unparseable → null. */
export function normalizePhone(value: unknown, country?: unknown): string | null {
  const s = cleanText(value);
  if (!s) return null;
  const text = s.replace(/^'/, ''); // spreadsheet text-prefix
  const phone = parsePhoneNumberFromString(text, countryCode(country) ?? 'US');
  return phone && phone.isPossible() ? phone.number : null;
}

/** Mail providers whose domain says nothing about the person's company. */
const FREE_MAIL = new Set([
  'gmail.com', 'googlemail.com', 'yahoo.com', 'ymail.com', 'hotmail.com', 'outlook.com', 'live.com', 'msn.com',
  'icloud.com', 'me.com', 'mac.com', 'aol.com', 'proton.me', 'protonmail.com', 'gmx.com', 'gmx.de', 'gmx.net',
  'web.de', 'yandex.ru', 'yandex.com', 'mail.ru', 'qq.com', '163.com', '126.com', 'zoho.com', 'fastmail.com',
]);

/** Registrable domain of a URL, host or email ("https://www.Acme.co.uk/x" → "acme.co.uk"); null when none. */
export function registrableDomain(value: unknown): string | null {
  const s = cleanText(value);
  if (!s) return null;
  const host = s.includes('@') && !s.includes('/') ? s.slice(s.lastIndexOf('@') + 1) : s;
  const domain = getDomain(host.toLowerCase(), { allowPrivateDomains: true });
  return domain || null;
}

/** Company domain from an email, unless it is a free-mail provider's. */
export function companyDomainFromEmail(email: string | null): string | null {
  const domain = registrableDomain(email);
  return domain && !FREE_MAIL.has(domain) ? domain : null;
}

/**
 * Canonical LinkedIn URL: https://www.linkedin.com/in/<slug> or /company/<slug>, lower case,
 * without tracking parameters, locale suffixes or trailing slashes. Not a LinkedIn URL → null.
 */
export function canonicalLinkedIn(value: unknown): string | null {
  const s = cleanText(value);
  if (!s) return null;
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(s) ? s : `https://${s.replace(/^\/+/, '')}`);
  } catch {
    return null;
  }
  if (!/(^|\.)linkedin\.com$/i.test(url.hostname)) return null;
  const parts = url.pathname.split('/').filter(Boolean).map((p) => safeDecode(p).toLowerCase());
  const kinds = ['in', 'company', 'school', 'showcase', 'pub'];
  const at = parts.findIndex((p) => kinds.includes(p));
  if (at < 0 || !parts[at + 1]) return null;
  const kind = parts[at];
  // /pub/name/1/23/456 is the old public form: keep its whole path
  const slug = kind === 'pub' ? parts.slice(at + 1, at + 5).join('/') : parts[at + 1];
  return `https://www.linkedin.com/${kind}/${slug}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Website as a URL origin without "www." ("https://www.acme.com/" and "acme.com" → "https://acme.com"). */
export function normalizeWebsite(value: unknown): string | null {
  const s = cleanText(value);
  if (!s) return null;
  try {
    const url = new URL(/^https?:\/\//i.test(s) ? s : `https://${s}`);
    return registrableDomain(url.hostname) ? `${url.protocol}//${url.hostname.toLowerCase().replace(/^www\./, '')}` : null;
  } catch {
    return null;
  }
}

/** A whole number from "1,200", "1200.0", " 45 " ; otherwise null. */
export function toInteger(value: unknown): number | null {
  const s = cleanText(value);
  if (!s) return null;
  const n = Number(s.replace(/[,_\s]/g, ''));
  return Number.isFinite(n) ? Math.round(n) : null;
}

/** Lists ("Sales, Marketing" or ["sales","marketing"]) as one comma-separated text. */
export function listText(value: unknown): string | null {
  if (Array.isArray(value)) return cleanText(value.map((v) => cleanText(v)).filter(Boolean).join(', '));
  return cleanText(value);
}
