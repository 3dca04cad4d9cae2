import { closest, distance } from 'fastest-levenshtein';

/** The closest candidate to a misspelt name, if it is close enough to be a plausible typo. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  // A name written in other case (FCT_ORDERS) is the closest there is, however long.
  const lower = name.toLowerCase();
  const sameLetters = candidates.find((c) => c !== name && c.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  const best = closest(name, candidates as string[]);
  const limit = Math.max(1, Math.floor(name.length / 3));
  return distance(name, best) <= limit ? best : undefined;
}

export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  const s = suggest(name, candidates);
  return s === undefined ? undefined : `did you mean '${s}'?`;
}
