import { describe, expect, it } from 'vitest';
import { standingReason } from '../../src/commands/standing-text.js';

describe('why a node is stale, in words', () => {
  it('names the inputs that changed, and those it cannot tell of now: a source gone or unreadable is no missing record', () => {
    expect(standingReason({ kind: 'stale', inputs: ['stg_orders'], unknown: [] })).toBe('stg_orders changed');
    expect(standingReason({ kind: 'stale', inputs: ['raw.orders'], unknown: ['raw.orders'] })).toBe('cannot tell what raw.orders holds now (gone, or unreadable)');
    expect(standingReason({ kind: 'stale', inputs: ['a', 'raw.x', 'raw.y'], unknown: ['raw.x', 'raw.y'] })).toBe('a changed; cannot tell what raw.x, raw.y hold now (gone, or unreadable)');
  });
});
