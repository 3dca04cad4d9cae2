import { closest, distance } from 'fastest-levenshtein';

/** The closest candidate to a misspelt name, if it is close enough to be a plausible typo. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  // A name written in other case (FCT_ORDERS), or with its accents composed otherwise (an é as
  // one character, or as e and a combining accent, which look alike), is the closest there is.
  const lower = name.normalize('NFC').toLowerCase();
  const sameLetters = candidates.find((c) => c !== name && c.normalize('NFC').toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  // Two letters typed the other way round (`tabel`): one slip, though two edits apart.
  const swapped = name.length >= 4 ? candidates.find((c) => c.length === name.length && c !== name && oneSwapApart(c, name)) : undefined;
  if (swapped !== undefined) return swapped;
  const best = closest(name, candidates as string[]);
  const limit = Math.max(1, Math.floor(name.length / 3));
  // A name cut short (`uniq`, `raw.status` of `raw.status_old`): the one candidate it begins,
  // before another as near by letters (`raw.races`), and when every other is too far.
  const begun = name.length >= 3 ? candidates.filter((c) => c.startsWith(name)) : [];
  if (begun.length === 1 && (distance(name, begun[0]) <= distance(name, best) || distance(name, best) > limit)) return begun[0];
  return distance(name, best) <= limit ? best : undefined;
}

/** Whether `a` is `b` with two neighbouring letters swapped. */
function oneSwapApart(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  const s = suggest(name, candidates);
  if (s === undefined) return undefined;
  // Alike to the eye: say how they differ.
  if (s.normalize('NFC') === name.normalize('NFC')) return `did you mean '${s}'? It looks the same but is written with other Unicode characters (an accent as a letter of its own, or combined with the letter before it); write both alike`;
  return `did you mean '${s}'?`;
}
