import type { Diagnostic } from './diagnostics.js';

/**
 * Diagnostics that say the same thing (one code, one message) in several places become one,
 * at the first place, with the others as related locations: a project that uses one package
 * test in twenty places reads one error, not twenty.
 */
export function bySameCause(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const groups = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    const key = `${d.severity}\u0000${d.code}\u0000${d.message}`;
    const group = groups.get(key);
    if (group) group.push(d);
    else groups.set(key, [d]);
  }
  return [...groups.values()].map(([first, ...rest]) => {
    if (rest.length === 0 || !first.location) return first;
    const files = new Set([first, ...rest].map((d) => d.location?.file)).size;
    return {
      ...first,
      message: `${first.message} (${rest.length + 1} uses in ${files} file${files === 1 ? '' : 's'})`,
      related: [...(first.related ?? []), ...rest.flatMap((d) => (d.location ? [{ message: 'also used here', location: d.location }] : []))],
    };
  });
}
