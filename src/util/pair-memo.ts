/**
 * A value made once per pair of objects (an analysis and one of its nodes, a plan's context and
 * a node), forgotten with either: what planning would otherwise make again for every date of a
 * backfill, or every model that reads the same view.
 */
export class PairMemo<A extends object, B extends object, V> {
  private readonly byFirst = new WeakMap<A, WeakMap<B, V>>();

  /** The value of (a, b), made by `make` the first time; `make` may itself ask this memo of other pairs. */
  of(a: A, b: B, make: () => V): V {
    let known = this.byFirst.get(a);
    if (!known) this.byFirst.set(a, (known = new WeakMap()));
    let value = known.get(b);
    if (value === undefined) {
      value = make();
      known.set(b, value);
    }
    return value;
  }
}
