// The contacts grid's windowing (web/src/grid-window.ts): a million rows fit a scroll area far
// below browsers' element-height caps, the end is reachable, and the DOM window stays small.
import { describe, expect, it } from 'vitest';
import { MAX_SCROLL_H, ROW_H, windowOf } from '../web/src/grid-window';

describe('grid window', () => {
  const viewport = 720; // 20 rows
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
