import { describe, expect, it } from 'vitest';
import { OverlayMap } from '../../src/util/overlay-map.js';

describe('OverlayMap', () => {
  const base = new Map([['a', 1], ['b', 2], ['c', 3]]);

  it('is the map below with values replaced, in its order', () => {
    const m = OverlayMap.of(base, new Map([['b', 20]]));
    expect([...m]).toEqual([['a', 1], ['b', 20], ['c', 3]]);
    expect([...m.values()]).toEqual([1, 20, 3]);
    expect([m.get('b'), m.get('a'), m.get('z'), m.has('c'), m.has('z'), m.size]).toEqual([20, 1, undefined, true, false, 3]);
    // The map below is left as it was.
    expect(base.get('b')).toBe(2);
  });

  it('flattens overlays of overlays, and refuses a key the map below lacks', () => {
    const twice = OverlayMap.of(OverlayMap.of(base, new Map([['b', 20]])), new Map([['c', 30], ['b', 21]]));
    expect([...twice]).toEqual([['a', 1], ['b', 21], ['c', 30]]);
    expect(OverlayMap.of(base, new Map())).toBe(base);
    expect(() => OverlayMap.of(base, new Map([['z', 0]]))).toThrow(/internal error/);
  });

  it('becomes a plain map once most values are replaced', () => {
    const big = new Map(Array.from({ length: 300 }, (_, i) => [i, i] as const));
    const m = OverlayMap.of(big, new Map(Array.from({ length: 280 }, (_, i) => [i, -i] as const)));
    expect(m).toBeInstanceOf(Map);
    expect(m.get(5)).toBe(-5);
    expect(m.get(290)).toBe(290);
  });
});
