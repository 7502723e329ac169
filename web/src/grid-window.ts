// The contacts grid's windowing: which rows a scroll position shows, with the scroll area capped.
export const ROW_H = 36;
/** The scroll area never gets taller than this (browsers cap element heights near 17.9M–33.5M px): past it, positions scale. */
export const MAX_SCROLL_H = 1_000_000;
export const OVERSCAN = 8;

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

/** The unscaled offset (row index × ROW_H) a real scroll position shows at the viewport's top. */
export const layoutOffsetOf = (scrollTop: number, viewportH: number, count: number) => windowOf(scrollTop, viewportH, count).exact * ROW_H;

/** The real scroll position that shows the unscaled offset at the viewport's top (layoutOffsetOf's inverse). */
export function scrollTopFor(offset: number, viewportH: number, count: number) {
  const w = windowOf(0, viewportH, count);
  const span = Math.max(0, count - w.rowsInView) * ROW_H;
  return span === 0 ? 0 : (Math.max(0, Math.min(offset, span)) / span) * w.maxTop;
}

type Behavior = 'auto' | 'smooth' | 'instant';
// a method type, so a DOM listener of any event type fits (method parameters are bivariant)
type Listener = { listen(event: unknown): void }['listen'];

/** What TanStack Virtual reads and writes on its scroll element. */
export interface ScrollerLike {
  scrollTop: number;
  scrollLeft: number;
  clientHeight: number;
  clientWidth: number;
  scrollWidth: number;
  ownerDocument?: unknown;
  style?: unknown;
  scrollTo(options: { top?: number; behavior?: Behavior }): void;
  addEventListener(type: string, fn: Listener, options?: { passive?: boolean }): void;
  removeEventListener(type: string, fn: Listener): void;
}

/**
 * The capped scroller as TanStack Virtual should see it: an element as tall as every row
 * (count × ROW_H, however many), whose scrollTop is the unscaled offset. The virtualizer then
 * computes its range and item starts in row coordinates, as for any list, while the real element
 * stays at most MAX_SCROLL_H tall; rows are drawn at the real scrollTop + (start − offset).
 * Events, styles and the document are the real element's.
 */
export function scaledScroller(real: ScrollerLike, count: () => number) {
  return {
    get scrollTop() { return layoutOffsetOf(real.scrollTop, real.clientHeight, count()); },
    get scrollHeight() { return Math.max(count() * ROW_H, real.clientHeight); },
    get clientHeight() { return real.clientHeight; },
    get clientWidth() { return real.clientWidth; },
    get scrollWidth() { return real.scrollWidth; },
    get scrollLeft() { return real.scrollLeft; },
    get ownerDocument() { return real.ownerDocument; },
    get style() { return real.style; },
    scrollTo(options: { top?: number; behavior?: Behavior }) {
      real.scrollTo(options.top === undefined ? options : { ...options, top: scrollTopFor(options.top, real.clientHeight, count()) });
    },
    addEventListener: (type: string, fn: Listener, options?: { passive?: boolean }) => real.addEventListener(type, fn, options),
    removeEventListener: (type: string, fn: Listener) => real.removeEventListener(type, fn),
  };
}
