import picomatch from 'picomatch';

/**
 * The two kinds of wildcard dbt's selectors use. Names, tags, packages and file names are
 * matched as Python's fnmatch does: `*` is any text (dots and slashes included), `?` one
 * character, `[abc]` and `[!abc]` one of or none of; there are no braces, no extglobs and no
 * `!pattern` negation. Paths are matched as pathlib's glob does: `*` and `?` stay within a
 * folder, `**` crosses folders, and hidden files are not special.
 *
 * picomatch reads a backslash as an escape and `[[:alpha:]]` as a class where fnmatch reads
 * both literally; neither occurs in a name pipe accepts.
 */
const LITERAL_SYNTAX = { nobrace: true, noextglob: true, nonegate: true, posix: true, dot: true } as const;

export type Matcher = (text: string) => boolean;

/** fnmatch: `fct_*`, `*_orders`, `stg_?rders`. */
export function nameGlob(pattern: string): Matcher {
  // picomatch refuses an empty pattern, and its `*` wants at least one character; fnmatch's does not.
  if (pattern === '') return (text) => text === '';
  const match = picomatch(pattern, { ...LITERAL_SYNTAX, bash: true });
  const any = /^\*+$/.test(pattern);
  return (text) => (text === '' ? any : match(text));
}

/** pathlib's glob, relative to the project root: `models/*`, `models/**\/stg_*.sql`. */
export function pathGlob(pattern: string): Matcher {
  const match = picomatch(pattern, LITERAL_SYNTAX);
  // One argument only: picomatch's second asks for a result object, and Array#some passes an index.
  return (text) => match(text);
}

/** Whether a selector value holds a wildcard at all (dbt's test for switching to a glob). */
export function hasWildcard(text: string): boolean {
  return /[*?[\]]/.test(text);
}
