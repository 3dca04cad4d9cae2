import { describe, expect, it } from 'vitest';
import { downstreamOf, edgesAmong, neighbourhood, search } from '../../src/ui/web/lineage/neighbourhood.js';

/** What the lineage page draws: a capped neighbourhood, never the whole graph. */

// a -> b -> c -> d, b -> e
const NODES = [
  { name: 'a', upstream: [] },
  { name: 'b', upstream: ['a'] },
  { name: 'c', upstream: ['b'] },
  { name: 'd', upstream: ['c'] },
  { name: 'e', upstream: ['b'] },
];
const DOWN = downstreamOf(NODES);

describe('lineage neighbourhood', () => {
  it('takes the focus and the nodes within the hops up and down', () => {
    expect(new Set(neighbourhood(NODES, DOWN, 'c', 1, 1, 100).names)).toEqual(new Set(['c', 'b', 'd']));
    expect(new Set(neighbourhood(NODES, DOWN, 'c', 2, 0, 100).names)).toEqual(new Set(['c', 'b', 'a']));
    expect(new Set(neighbourhood(NODES, DOWN, 'b', 0, 5, 100).names)).toEqual(new Set(['b', 'c', 'd', 'e']));
    expect(neighbourhood(NODES, DOWN, 'b', 0, 5, 100).more).toBe(0);
  });

  it('draws at most the cap, nearest first, and counts the rest', () => {
    const hood = neighbourhood(NODES, DOWN, 'b', 0, 5, 3);
    expect(hood.names[0]).toBe('b');
    expect(hood.names).toHaveLength(3);
    expect(hood.more).toBe(1);
  });

  it('without a focus (or an unknown one), draws the first nodes up to the cap', () => {
    expect(neighbourhood(NODES, DOWN, undefined, 2, 2, 2)).toEqual({ names: ['a', 'b'], more: 3 });
    expect(neighbourhood(NODES, DOWN, 'zz', 2, 2, 10)).toEqual({ names: ['a', 'b', 'c', 'd', 'e'], more: 0 });
  });

  it('on 10,000 nodes stays within the cap', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ name: `m${i}`, upstream: i === 0 ? [] : [`m${Math.floor(i / 2)}`] }));
    const hood = neighbourhood(many, downstreamOf(many), 'm1', 3, 20, 150);
    expect(hood.names).toHaveLength(150);
    // m0 upstream, every other node downstream (each reads the one of half its number).
    expect(hood.more).toBe(10_000 - 150);
  });

  it('keeps only the edges between drawn nodes', () => {
    expect(edgesAmong(NODES, ['b', 'c', 'e'])).toEqual([
      ['b', 'c'],
      ['b', 'e'],
    ]);
  });

  it('searches names whatever the case, those starting with the text first', () => {
    const nodes = [{ name: 'stg_orders', upstream: [] }, { name: 'orders', upstream: [] }, { name: 'Order_items', upstream: [] }, { name: 'customers', upstream: [] }];
    expect(search(nodes, 'ORDER', 10)).toEqual(['orders', 'Order_items', 'stg_orders']);
    expect(search(nodes, '  ', 10)).toEqual([]);
    expect(search(nodes, 'order', 1)).toEqual(['orders']);
  });
});
