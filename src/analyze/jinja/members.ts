import { JinjaError } from './errors.js';
import { methodOf, type Accessors } from './python-methods.js';
import { DbtRelation } from './relation.js';
import { refuseRelationText } from './relation-text.js';
import { callableAttribute, isDict, isStr, isTuple, lookupName, PyObject, pyRepr, strOf, tuple, typeName } from './values.js';

/**
 * Jinja's `obj.name`, `obj[key]` and `obj[a:b:c]`: an attribute first for a dot (so that
 * `d.items` is the method), an item first for brackets, Python's negative indexes and
 * slices, and Undefined (not an error) for what a value does not have, as Jinja does.
 */

/** `obj.name`. */
export function getattr(obj: unknown, name: string): unknown {
  if (obj === null || obj === undefined) return undefined;
  if (obj instanceof PyObject) return obj.getattr(name);
  if (typeof obj === 'function') return callableAttribute(obj as (...args: never[]) => unknown, name);
  // A function of the object's own is what it offers (pipe's objects for templates: a row's
  // values(), a column's is_string()); data has none, and there Python's methods come first.
  if (typeof obj === 'object' && Object.hasOwn(obj, name) && typeof (obj as Record<string, unknown>)[name] === 'function') return (obj as Record<string, unknown>)[name];
  const method = methodOf(obj, name, ACCESS);
  if (method) return method;
  if (isDict(obj)) return Object.hasOwn(obj, name) ? obj[name] : undefined;
  // Not Python: what Nunjucks gives (a string's length, the attributes of a group of |groupby,
  // an object of pipe's own), so that templates written for Nunjucks keep working.
  const value = (obj as Record<string, unknown>)[name];
  return typeof value === 'function' ? (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(obj, args) : value;
}

/** `obj[key]`. */
export function getitem(obj: unknown, key: unknown): unknown {
  if (obj === null || obj === undefined) return undefined;
  // A dict keyed by a relation holds it under what it prints as (see dictKey).
  if (key instanceof DbtRelation && isDict(obj)) return obj[key.str()];
  if (typeof key === 'number' || typeof key === 'boolean') {
    const i = Number(key);
    if (Array.isArray(obj)) return Number.isInteger(i) ? obj[i < 0 ? obj.length + i : i] : undefined;
    if (isStr(obj)) {
      refuseRelationText(obj, 'an index');
      const chars = codePoints(strOf(obj));
      return Number.isInteger(i) ? chars[i < 0 ? chars.length + i : i] : undefined;
    }
  }
  if (obj instanceof PyObject) {
    const item = obj.getitem(key);
    if (item !== undefined) return item;
  }
  if (isStr(key)) {
    const k = strOf(key);
    if (isDict(obj) && Object.hasOwn(obj, k)) return obj[k];
    return getattr(obj, k);
  }
  // None, a bool or a number keys a dict too (see nameOfKey).
  const name = isDict(obj) ? lookupName(obj, key) : undefined;
  return name !== undefined && Object.hasOwn(obj as object, name) ? (obj as Record<string, unknown>)[name] : undefined;
}

const ACCESS: Accessors = { getattr, getitem };

/** A string's characters as Python counts them (code points). */
function codePoints(s: string): string[] {
  return /[\uD800-\uDFFF]/.test(s) ? [...s] : (s.split('') as string[]);
}

function sliceIndex(v: unknown, what: string): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new JinjaError(`slice ${what} must be an integer or None, not ${typeName(v)}`);
  return v;
}

/** The positions `[start:stop:step]` takes of a sequence of `length`, as Python's slice.indices() gives them. */
export function sliceRange(length: number, start: unknown, stop: unknown, step: unknown): number[] {
  const s = sliceIndex(step, 'step') ?? 1;
  if (s === 0) throw new JinjaError('slice step cannot be zero');
  const lower = s < 0 ? -1 : 0;
  const upper = s < 0 ? length - 1 : length;
  const bound = (v: number | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    if (v < 0) return Math.max(v + length, lower);
    return Math.min(v, upper);
  };
  const a = bound(sliceIndex(start, 'start'), s < 0 ? upper : lower);
  const b = bound(sliceIndex(stop, 'stop'), s < 0 ? lower : upper);
  const out: number[] = [];
  for (let i = a; s > 0 ? i < b : i > b; i += s) out.push(i);
  return out;
}

/** `obj[start:stop:step]` of a list, tuple or str. */
export function slice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  if (Array.isArray(obj)) {
    const items = sliceRange(obj.length, start, stop, step).map((i) => obj[i]);
    return isTuple(obj) ? tuple(items) : items;
  }
  if (isStr(obj)) {
    refuseRelationText(obj, 'a slice');
    const chars = codePoints(strOf(obj));
    return sliceRange(chars.length, start, stop, step)
      .map((i) => chars[i])
      .join('');
  }
  if (obj === undefined) return undefined;
  throw new JinjaError(`'${typeName(obj)}' object is not subscriptable`);
}

/** Jinja's namespace(): the one object `{% set ns.attr = value %}` may change, so that a loop can carry a value out. */
export class Namespace extends PyObject {
  readonly typeName = 'Namespace';
  private readonly attrs = new Map<string, unknown>();

  constructor(initial: Readonly<Record<string, unknown>>) {
    super();
    for (const [k, v] of Object.entries(initial)) this.attrs.set(k, v);
  }
  override getattr(name: string): unknown {
    return this.attrs.get(name);
  }
  override getitem(key: unknown): unknown {
    return isStr(key) ? this.attrs.get(strOf(key)) : undefined;
  }
  set(name: string, value: unknown): void {
    this.attrs.set(name, value);
  }
  repr(): string {
    return `<Namespace {${[...this.attrs].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}>`;
  }
}

/** `{% set obj.name = value %}`. */
export function setattr(obj: unknown, name: string, value: unknown): void {
  if (!(obj instanceof Namespace)) {
    throw new JinjaError(`cannot assign attribute on non-namespace object (${typeName(obj)}): {% set x.${name} = ... %} needs x = namespace()`);
  }
  obj.set(name, value);
}
