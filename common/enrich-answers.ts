// Provider answers as enrichment records them. The field rules are the source mappings' (one per
// provider shape, shared with staging); enrichment only trims the values, it does not normalize
// them, because the write-back stores them as the provider sent them.
import { ENRICH_FIELDS } from '../contracts/enrich';
import { fromApifyProfile, fromApolloPerson } from './source-mappings';

/** The waterfall's fields a provider answered for one contact. `profile` marks a LinkedIn profile found. */
export type AnswerFields = Record<string, string | boolean>;

/** The contact fields an answer can fill: the waterfall's fields but `profile`. */
const CONTACT_FIELDS: readonly string[] = ENRICH_FIELDS.filter((f) => f !== 'profile');

/** An Apollo person (people/match, bulk_match). */
export function apolloAnswerFields(person: Record<string, unknown>): AnswerFields {
  return trimmed(fromApolloPerson(person), CONTACT_FIELDS);
}

/** An Apify LinkedIn profile. Its LinkedIn URL is the one Apify was asked by, so it is not an answer. */
export function apifyAnswerFields(item: Record<string, unknown>): AnswerFields {
  return { ...trimmed(fromApifyProfile(item), CONTACT_FIELDS.filter((f) => f !== 'linkedin_url')), profile: true };
}

/** linkedin.com/in/x, https://www.linkedin.com/in/X/ … → one key. */
export function linkedinKey(url: unknown): string | undefined {
  if (typeof url !== 'string' || !url) return undefined;
  const m = /linkedin\.com\/in\/([^/?#]+)/i.exec(url);
  return m ? decodeURIComponent(m[1]).toLowerCase() : undefined;
}

/** The key an Apify profile item is matched back to its contact by. */
export function apifyProfileKey(item: Record<string, unknown>): string | undefined {
  return linkedinKey(fromApifyProfile(item).linkedin_url);
}

/** The listed fields that are non-empty strings, trimmed. */
function trimmed(raw: Record<string, unknown>, fields: readonly string[]): AnswerFields {
  const out: AnswerFields = {};
  for (const f of fields) {
    const v = raw[f];
    if (typeof v === 'string' && v.trim()) out[f] = v.trim();
  }
  return out;
}
