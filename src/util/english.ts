/** A word with its indefinite article, as messages name a kind: `a table`, `an incremental`. */
export function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
}
