/**
 * Adds `values` to the list `map` holds at `key`, made when there is none: in place, so that
 * filling a map of n values costs n, where copying the list on every add cost n² (a backfill's
 * tasks by date, a status's intervals by node).
 */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, ...values: V[]): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, values);
  else list.push(...values);
}
