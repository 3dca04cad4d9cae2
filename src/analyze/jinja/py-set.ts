import { pyFunction, signature } from './args.js';
import { JinjaError } from './errors.js';
import { isDict, isStr, pyEquals, pyIterate, PyObject, pyRepr, type SafeStringValue, strOf } from './values.js';

/**
 * Python's set, as dbt's `set()` and `set_strict()` make one: distinct items in the order
 * first added, equal to another set with the same items, and its methods that return values
 * (`add`, `union`, `difference`, ...).
 */
export class PySet extends PyObject {
  readonly typeName = 'set';
  private readonly items: unknown[] = [];

  constructor(items: Iterable<unknown> = []) {
    super();
    for (const item of items) this.insert(item);
  }

  insert(item: unknown): void {
    if (Array.isArray(item) || isDict(item) || item instanceof PySet) throw new JinjaError(`unhashable type: '${Array.isArray(item) ? 'list' : isDict(item) ? 'dict' : 'set'}'`);
    const value = isStr(item) ? strOf(item as string | SafeStringValue) : item;
    if (!this.has(value)) this.items.push(value);
  }

  has(item: unknown): boolean {
    return this.items.some((x) => pyEquals(x, item));
  }

  repr(): string {
    return this.items.length === 0 ? 'set()' : `{${this.items.map(pyRepr).join(', ')}}`;
  }
  override iterate(): unknown[] {
    return [...this.items];
  }
  override truthy(): boolean {
    return this.items.length > 0;
  }
  override equals(other: unknown): boolean {
    return other instanceof PySet && other.items.length === this.items.length && other.items.every((x) => this.has(x));
  }
  override sub(other: unknown, reflected: boolean): unknown {
    if (!(other instanceof PySet)) return undefined;
    const [a, b] = reflected ? [other, this] : [this, other];
    return new PySet(a.items.filter((x) => !b.has(x)));
  }
  override getattr(name: string): unknown {
    const others = (args: unknown[]) => args.map((a) => new PySet(pyIterate(a)));
    switch (name) {
      case 'add':
        return pyFunction(signature('add', 'item'), (item: unknown) => {
          this.insert(item);
          return null;
        });
      case 'update':
        return pyFunction(signature('update', '*args'), (args: unknown[]) => {
          for (const s of others(args)) for (const x of s.items) this.insert(x);
          return null;
        });
      case 'union':
        return pyFunction(signature('union', '*args'), (args: unknown[]) => new PySet([...this.items, ...others(args).flatMap((s) => s.items)]));
      case 'intersection':
        return pyFunction(signature('intersection', '*args'), (args: unknown[]) => new PySet(this.items.filter((x) => others(args).every((s) => s.has(x)))));
      case 'difference':
        return pyFunction(signature('difference', '*args'), (args: unknown[]) => new PySet(this.items.filter((x) => !others(args).some((s) => s.has(x)))));
      case 'issubset':
        return pyFunction(signature('issubset', 'other'), (other: unknown) => this.items.every((x) => new PySet(pyIterate(other)).has(x)));
      case 'issuperset':
        return pyFunction(signature('issuperset', 'other'), (other: unknown) => pyIterate(other).every((x) => this.has(x)));
      default:
        return undefined;
    }
  }
}

/** dbt's `set(value, default=None)`: a set of the items, or `default` when the value is not iterable. */
export const setFunction = pyFunction(signature('set', 'value default', { default: null }), (value: unknown, fallback: unknown) => {
  try {
    return new PySet(pyIterate(value));
  } catch (e) {
    if (e instanceof JinjaError) return fallback;
    throw e;
  }
});

/** dbt's `set_strict(value)`: a set of the items; a value that is not iterable is an error. */
export const setStrictFunction = pyFunction(signature('set_strict', 'value'), (value: unknown) => new PySet(pyIterate(value)));
