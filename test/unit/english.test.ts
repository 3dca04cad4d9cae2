import { describe, expect, it } from 'vitest';
import { withArticle } from '../../src/util/english.js';

describe('withArticle', () => {
  it("puts 'a' before a consonant and 'an' before a vowel, as messages name a kind", () => {
    expect(withArticle('table')).toBe('a table');
    expect(withArticle('view model')).toBe('a view model');
    expect(withArticle('incremental (append)')).toBe('an incremental (append)');
    expect(withArticle('ephemeral')).toBe('an ephemeral');
  });
});
