import { describe, expect, it } from 'vitest';
import { shellPath, shellWord } from '../../src/util/shell-word.js';

describe('shell words', () => {
  it('quote what needs quoting, and a path starting with - is given as ./-name, never an option', () => {
    expect(shellWord('demo')).toBe('demo');
    expect(shellWord("it's here")).toBe(`'it'\\''s here'`);
    expect(shellPath('-dash')).toBe('./-dash');
    expect(shellPath('-a b')).toBe("'./-a b'");
    expect(shellPath('/srv/-x')).toBe('/srv/-x');
  });
});
