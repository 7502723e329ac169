// Where a trial's kills land, from the seed alone: the same seed gives the same parts, in the
// same order, at the same points of the work, down for the same time.
import { PART_NAMES, type PartName } from './stack';

/** mulberry32: a small seeded generator; uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Kill {
  part: PartName;
  /**
   * A point of the trial's work: 0–1 is the ingest (rows staged plus rows promoted, over twice
   * the rows), 1–2 the campaign (sends over recipients). The kill lands when the work gets there.
   */
  at: number;
  /** How long the part stays down before it is started again. */
  downMs: number;
}

/** Every part once per trial, in a random order, at random points of the work, sorted. */
export function killPlan(random: () => number, opts: { downMinMs: number; downMaxMs: number }): Kill[] {
  const parts = [...PART_NAMES];
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [parts[i], parts[j]] = [parts[j], parts[i]];
  }
  // away from the very start and end of the work, so each kill lands while something is in flight
  const points = parts.map(() => 0.05 + random() * 1.85).sort((a, b) => a - b);
  return parts.map((part, i) => ({ part, at: points[i], downMs: Math.round(opts.downMinMs + random() * (opts.downMaxMs - opts.downMinMs)) }));
}

/** "ingest 42%" / "campaign 7%" for a point of the work. */
export function describePoint(at: number): string {
  return at < 1 ? `ingest ${Math.floor(at * 100)}%` : `campaign ${Math.floor((at - 1) * 100)}%`;
}
