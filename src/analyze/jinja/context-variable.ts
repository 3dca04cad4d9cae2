import { pyFunction, signature } from './args.js';
import { getattr, getitem } from './members.js';
import { methodOf } from './python-methods.js';
import { PyObject } from './values.js';

/**
 * dbt's `context`: the node's context as a dict (dbt puts the dict into itself). `context.get(name)`
 * and `context[name]` give what a name means where the node renders (a function, a macro,
 * `target`, `this`); `context.update({...})` keeps values under names for the rest of the node's
 * render, read back with `context.get()` from any macro it calls: packages keep a store there
 * (dbt-unit-testing's cache and test context). One per render, as dbt makes a node's context
 * afresh: what one node keeps reaches no other. A name a template reads bare (`{{ x }}`) does not
 * see what update() kept, as in dbt, whose templates read a copy of the dict made as they start.
 */
export class ContextVariable extends PyObject {
  readonly typeName = 'dict';
  /** What update() (and the dict's other methods) kept. */
  private readonly kept: Record<string, unknown> = {};

  constructor(private readonly lookup: (name: string) => unknown) {
    super();
  }

  override repr(): string {
    return '{...}';
  }
  override getattr(name: string): unknown {
    if (name === 'get') {
      return pyFunction(signature('get', 'key default', { default: null }), (key: unknown, fallback: unknown) => {
        const value = this.getitem(key);
        return value === undefined ? fallback : value;
      });
    }
    // update, setdefault, pop, keys, items, ...: the dict's own methods on what it kept.
    return methodOf(this.kept, name, { getattr, getitem });
  }
  override getitem(key: unknown): unknown {
    if (typeof key !== 'string') return undefined;
    return Object.hasOwn(this.kept, key) ? this.kept[key] : this.lookup(key);
  }
  /** What update() kept: the names dbt's dict has besides are the whole context, which no template walks. */
  override iterate(): unknown[] {
    return Object.keys(this.kept);
  }
  /** `'name' in context`: whether the name means something where the node renders, or was kept. */
  override holds(needle: unknown): boolean {
    return this.getitem(needle) !== undefined;
  }
}
