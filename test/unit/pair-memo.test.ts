import { describe, expect, it } from 'vitest';
import { PairMemo } from '../../src/util/pair-memo.js';

describe('PairMemo', () => {
  it('makes a value once per pair, each pair its own, and may be asked of other pairs while it makes one', () => {
    const memo = new PairMemo<object, { name: string }, string>();
    const [one, two] = [{}, {}];
    const a = { name: 'a' };
    const b = { name: 'b' };
    let made = 0;
    const of = (ctx: object, node: { name: string }): string =>
      memo.of(ctx, node, () => {
        made++;
        // What b is made of is a's value: asked while b's is made.
        return node === b ? `${of(ctx, a)}+b` : node.name;
      });
    expect([of(one, b), of(one, b), of(one, a)]).toEqual(['a+b', 'a+b', 'a']);
    expect(made).toBe(2);
    expect(of(two, a)).toBe('a');
    expect(made).toBe(3);
  });
});
