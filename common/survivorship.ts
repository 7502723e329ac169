// Survivorship rules for golden records, in one place. Pure data + a helper; passed as JSON to the
// set-based SQL (people.f_resolve_loads, *.f_apply_survivorship in sql/functions/master.sql),
// which applies them per field, per master:
//
//   1. source priority — higher wins. A source name is looked up as given ("apollo_csv"), then by
//      its prefix before the first "-", "_", ":" or "." ("apollo"), then "*". Per-field overrides
//      (`fields`) beat the general table for that field.
//   2. recency — among equal priority, the value first seen most recently wins (a slot's seen_at
//      moves only when that source's values change, so re-importing the same data changes nothing).
//   3. completeness — then the slot that carries more non-empty fields.
//   (last resort, for determinism: the newer slot id.)
//
// Blank values never win and never erase: a blank cell means "unknown", not "delete".
// Consent, suppression and bounce status are not master fields at all, so no source can set them.
export interface SurvivorshipRules {
  priorities: Record<string, number>;
  fields: Record<string, Record<string, number>>;
}

export const SURVIVORSHIP_RULES: SurvivorshipRules = {
  priorities: {
    manual_edit: 100, // a person's edit through PATCH /api/contacts/:id
    manual: 80, // curated uploads
    apollo: 60,
    apify: 50,
    linkedin: 50,
    '*': 40,
  },
  fields: {
    // a scraped LinkedIn profile is the freshest word on someone's role
    title: { apify: 70, linkedin: 70 },
    headline: { apify: 70, linkedin: 70 },
    linkedin_url: { apify: 70, linkedin: 70 },
  },
};

/** The priority a source's value of a field gets (mirrors people.f_source_priority in SQL). */
export function sourcePriority(source: string, field: string, rules: SurvivorshipRules = SURVIVORSHIP_RULES): number {
  const prefix = source.split(/[-_:.]/)[0];
  const f = rules.fields[field] ?? {};
  return f[source] ?? f[prefix] ?? rules.priorities[source] ?? rules.priorities[prefix] ?? rules.priorities['*'] ?? 0;
}
