import { describe, expect, it } from 'vitest';
import { didYouMean, suggest } from '../../src/diagnostics/suggest.js';

describe('the name a misspelt one probably meant', () => {
  it('is the closest by letters, within a third of its length', () => {
    expect(suggest('ordrs', ['orders', 'customers'])).toBe('orders');
    expect(suggest('xyz', ['orders', 'customers'])).toBeUndefined();
  });

  it('is the one name it begins, before another as near by letters, and when every other is too far', () => {
    // ergast.status is as near to ergast.races by letters as to ergast.status_old, which it begins.
    expect(suggest('ergast.status', ['ergast.races', 'ergast.status_old'])).toBe('ergast.status_old');
    expect(suggest('uniq', ['unique', 'not_null'])).toBe('unique');
    // Two names it begins, both far: neither is guessed.
    expect(suggest('ord', ['orders', 'order_items'])).toBeUndefined();
  });

  it('is the name with two neighbouring letters the other way round, one slip though two edits apart', () => {
    expect(suggest('tabel', ['table', 'view', 'incremental'])).toBe('table');
    expect(suggest('veiw', ['table', 'view'])).toBe('view');
    // Two letters swapped are another word, not a slip.
    expect(suggest('ba', ['ab'])).toBeUndefined();
  });

  it('is said with what differs where the two look alike', () => {
    expect(didYouMean('Orders', ['orders'])).toBe("did you mean 'orders'?");
    expect(didYouMean('cafe\u0301', ['caf\u00e9'])).toMatch(/^did you mean 'café'\? It looks the same but is written with other Unicode characters/);
  });
});
