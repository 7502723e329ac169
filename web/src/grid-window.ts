// The contacts grid's windowing: which rows a scroll position shows, with the scroll area capped.
export const ROW_H = 36;
/** The scroll area never gets taller than this (browsers cap element heights near 17.9M–33.5M px): past it, positions scale. */
export const MAX_SCROLL_H = 1_000_000;
const OVERSCAN = 8;

/**
 * Which rows a scroll position shows. `exact` is the (fractional) index at the top of the viewport;
 * with fewer rows than MAX_SCROLL_H allows it is scrollTop / ROW_H, past that the scroll range maps
 * linearly onto the row range so the end stays reachable.
 */
export function windowOf(scrollTop: number, viewportH: number, count: number) {
  const fullH = count * ROW_H;
  const scrollH = Math.min(fullH, MAX_SCROLL_H);
  const maxTop = Math.max(0, scrollH - viewportH);
  const rowsInView = viewportH / ROW_H;
  const exact = maxTop === 0 ? 0 : (Math.min(scrollTop, maxTop) / maxTop) * Math.max(0, count - rowsInView);
  const first = Math.max(0, Math.floor(exact) - OVERSCAN);
  const last = Math.min(count - 1, Math.ceil(exact + rowsInView) + OVERSCAN);
  return { scrollH, exact, first, last, maxTop, rowsInView };
}

