/**
 * A map that is another map with some of its values replaced, made without copying it: a save
 * of one model in a project of 100,000 gives the next analysis its nodes at the cost of the
 * models saved. It never adds or removes a key, so it iterates in the order of the map below.
 * Overlays of overlays are flattened onto the first map below that is no overlay, and once the
 * replacements are many, into a plain map, so a lookup stays two lookups at most.
 */
export class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  private readonly base: ReadonlyMap<K, V>;
  private readonly replaced: ReadonlyMap<K, V>;

  private constructor(base: ReadonlyMap<K, V>, replaced: ReadonlyMap<K, V>) {
    this.base = base;
    this.replaced = replaced;
  }

  /** `base` with the values of `replaced`, whose keys must all be keys of `base`. */
  static of<K, V>(base: ReadonlyMap<K, V>, replaced: ReadonlyMap<K, V>): ReadonlyMap<K, V> {
    for (const k of replaced.keys()) if (!base.has(k)) throw new Error('internal error: an overlay adds no key');
    if (replaced.size === 0) return base;
    const under = base instanceof OverlayMap ? (base as OverlayMap<K, V>) : undefined;
    const bottom = under ? under.base : base;
    const all = under ? new Map([...under.replaced, ...replaced]) : replaced;
    // Past this many, a lookup in a plain map is as cheap and iterating it cheaper.
    if (all.size > Math.max(256, bottom.size / 8)) return new Map([...bottom].map(([k, v]) => [k, all.has(k) ? all.get(k)! : v]));
    return new OverlayMap(bottom, all);
  }

  get size(): number {
    return this.base.size;
  }

  get(key: K): V | undefined {
    return this.replaced.has(key) ? this.replaced.get(key) : this.base.get(key);
  }

  has(key: K): boolean {
    return this.base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) yield [k, this.replaced.has(k) ? this.replaced.get(k)! : v];
  }

  keys(): MapIterator<K> {
    return this.base.keys();
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}
