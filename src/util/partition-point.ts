/**
 * The first place of a list ordered so that `before` holds for a run of its first items and
 * for none after them: found by halves. `length` when it holds for every item.
 */
export function partitionPoint(length: number, before: (at: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
