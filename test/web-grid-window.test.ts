// The contacts grid's windowing (web/src/grid-window.ts): a million rows fit a scroll area far
// below browsers' element-height caps, the end is reachable, and the DOM window stays small.
import { describe, expect, it } from 'vitest';
import { elementScroll, observeElementOffset, Virtualizer } from '@tanstack/virtual-core';
import { layoutOffsetOf, MAX_SCROLL_H, OVERSCAN, ROW_H, scaledScroller, scrollTopFor, windowOf } from '../web/src/grid-window';

const viewport = 720; // 20 rows

describe('grid window', () => {
  it('maps scroll positions one to one while the rows fit', () => {
    const w = windowOf(10 * ROW_H, viewport, 1000);
    expect(w.scrollH).toBe(1000 * ROW_H);
    expect(w.exact).toBeCloseTo(10);
    expect(w.first).toBe(2); // 10 minus the overscan
  });

  it('caps the scroll area for 1,000,000 rows and still reaches the last row', () => {
    const n = 1_000_000;
    const top = windowOf(0, viewport, n);
    expect(top.scrollH).toBe(MAX_SCROLL_H);
    expect(MAX_SCROLL_H).toBeLessThan(17_000_000); // under Firefox's cap, and Chrome's
    expect(top.first).toBe(0);
    const end = windowOf(top.maxTop, viewport, n);
    expect(end.last).toBe(n - 1);
    expect(end.last - end.first + 1).toBeLessThanOrEqual(150);
    const middle = windowOf(top.maxTop / 2, viewport, n);
    expect(middle.first).toBeGreaterThan(n / 2 - 100);
    expect(middle.last).toBeLessThan(n / 2 + 100);
  });
});

describe('TanStack Virtual over the capped scroller', () => {
  /** A scroll element as the browser has it: scrollTop clamped to what the capped spacer allows. */
  function fakeElement(viewport: number, count: () => number) {
    const listeners = new Map<string, Set<(e: unknown) => void>>();
    const win = {
      requestAnimationFrame: (fn: () => void) => setTimeout(fn, 0),
      cancelAnimationFrame: (id: ReturnType<typeof setTimeout>) => clearTimeout(id),
      setTimeout, clearTimeout,
      ResizeObserver: class { observe() {} unobserve() {} disconnect() {} },
    };
    const el = {
      top: 0,
      get scrollTop() { return this.top; },
      set scrollTop(v: number) { this.top = Math.max(0, Math.min(v, windowOf(0, viewport, count()).maxTop)); },
      scrollLeft: 0, clientHeight: viewport, clientWidth: 1000, scrollWidth: 1000,
      get scrollHeight() { return windowOf(0, viewport, count()).scrollH; },
      ownerDocument: { defaultView: win },
      style: {},
      scrollTo(o: { top?: number }) { if (o.top !== undefined) this.scrollTop = o.top; this.fire(); },
      addEventListener(type: string, fn: (e: unknown) => void) { if (!listeners.has(type)) listeners.set(type, new Set()); listeners.get(type)!.add(fn); },
      removeEventListener(type: string, fn: (e: unknown) => void) { listeners.get(type)?.delete(fn); },
      fire() { for (const fn of listeners.get('scroll') ?? []) fn({}); },
    };
    return el;
  }

  it('shows the rows at the real scroll position, down to the last of 1,000,000 rows', () => {
    const n = 1_000_000;
    const real = fakeElement(viewport, () => n);
    const view = scaledScroller(real, () => n);
    const v = new Virtualizer({
      count: n,
      getScrollElement: () => view as never,
      estimateSize: () => ROW_H,
      overscan: OVERSCAN,
      scrollToFn: elementScroll,
      observeElementOffset,
      observeElementRect: (_, cb) => { cb({ width: 1000, height: viewport }); },
    });
    const cleanup = v._didMount();
    v._willUpdate();
    const shown = () => v.getVirtualItems().map((i) => i.index);
    expect(shown()[0]).toBe(0);
    expect(real.scrollHeight).toBe(MAX_SCROLL_H);

    // the middle of the real scroll range is the middle of the rows
    real.scrollTop = windowOf(0, viewport, n).maxTop / 2;
    real.fire();
    const middle = shown();
    expect(middle.length).toBeLessThanOrEqual(150);
    expect(Math.abs(middle[OVERSCAN] - n / 2)).toBeLessThan(50);
    expect(middle).toEqual(Array.from({ length: middle.length }, (_, i) => middle[0] + i));

    // the end of the real scroll range shows the last row, drawn inside the capped spacer
    real.scrollTop = real.scrollHeight;
    real.fire();
    const end = v.getVirtualItems();
    expect(end[end.length - 1].index).toBe(n - 1);
    const offset = v.scrollOffset ?? 0;
    const drawnAt = (i: (typeof end)[number]) => scrollTopFor(offset, viewport, n) + i.start - offset;
    expect(drawnAt(end[end.length - 1]) + ROW_H).toBeCloseTo(MAX_SCROLL_H, 0);

    // scrolling to a row through the virtualizer lands on it
    v.scrollToIndex(123_456, { align: 'start' });
    expect(v.getVirtualItems().some((i) => i.index === 123_456)).toBe(true);
    expect(real.scrollTop).toBeCloseTo(scrollTopFor(123_456 * ROW_H, viewport, n), 0);
    cleanup();
  });

  it('is the identity while the rows fit under the cap', () => {
    expect(layoutOffsetOf(5000, viewport, 1000)).toBeCloseTo(5000);
    expect(scrollTopFor(5000, viewport, 1000)).toBeCloseTo(5000);
    for (const top of [0, 1234.5, 500_000, MAX_SCROLL_H - viewport]) {
      expect(scrollTopFor(layoutOffsetOf(top, viewport, 1_000_000), viewport, 1_000_000)).toBeCloseTo(top, 6);
    }
  });
});
