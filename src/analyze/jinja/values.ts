import nunjucks from 'nunjucks';
import { JinjaError } from './errors.js';
import { floatRepr } from '../../util/float-repr.js';

/**
 * Python's values as templates hold them: str is a string (or Nunjucks' SafeString, what a
 * macro's output is), int and float are numbers (a float with a whole value, `5.0`, a
 * WholeFloat: a number cannot tell it from the int 5), bool a boolean, None null (undefined is
 * Jinja's Undefined), list an array, tuple an array marked as one, dict a plain object.
 * Everything else dbt hands to templates (datetimes, relations, namespaces, regex matches)
 * is a PyObject, which says how Python would print, compare and add it.
 */

export const SafeString = nunjucks.runtime.SafeString as unknown as new (s: string) => { readonly val: string; toString(): string };
export type SafeStringValue = InstanceType<typeof SafeString>;

export function isStr(v: unknown): v is string | SafeStringValue {
  return typeof v === 'string' || v instanceof SafeString;
}

/** The text of a str (a SafeString's too). */
export function strOf(v: string | SafeStringValue): string {
  return typeof v === 'string' ? v : v.val;
}

/** Keyword arguments of a call, as Nunjucks passes them: the last argument, marked. */
export function isKeywords(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.hasOwn(v, '__keywords');
}

/**
 * A dict: a plain object holding data. One that prints itself (an own `toString`, as pipe's
 * objects for templates have) is an object, not a dict.
 */
export function isDict(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && !isKeywords(v) && !Object.hasOwn(v, 'toString');
}

/**
 * A dict's keys are its object's property names: a str is itself, and None, a bool and a number
 * (Python's other keys that templates write: `{none: ...}`, `{true: ...}`, `{1: ...}`) are
 * names that start with a noncharacter no text has, read back by keyOfName.
 */
const KEY_MARK = '\uFDD0';

/**
 * What makes an object of dbt's context a dict key and equal to another, as Python's `__hash__`
 * and `__eq__` do (dbt's relations): two objects with the same identity text are one key and
 * equal. Implemented by the objects that are keys in dbt's packages.
 */
export const IDENTITY = Symbol('identity');

export interface Identified {
  /** Its Python type's name, for messages. */
  readonly typeName: string;
  [IDENTITY](): string;
}

export function isIdentified(v: unknown): v is Identified {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Identified>)[IDENTITY] === 'function';
}

/** Objects keying dicts, by their property name: a dict's keys() gives the object back. */
const objectKeys = new Map<string, Identified>();
const OBJECT_KEY = `${KEY_MARK}object:`;

/** The property name a dict holds the key under; undefined for a key of another type. */
export function nameOfKey(k: unknown): string | undefined {
  if (isStr(k)) return strOf(k);
  if (isIdentified(k)) {
    const name = `${OBJECT_KEY}${k[IDENTITY]()}`;
    if (!objectKeys.has(name)) objectKeys.set(name, k);
    return name;
  }
  if (k === null) return `${KEY_MARK}None`;
  if (typeof k === 'boolean') return `${KEY_MARK}${k ? 'True' : 'False'}`;
  // 5.0 and 5 are one key, as in Python.
  const n = typeof k === 'number' || k instanceof WholeFloat ? Number(k) : undefined;
  if (n !== undefined && Number.isFinite(n)) return `${KEY_MARK}${Object.is(n, -0) ? 0 : n}`;
  return undefined;
}

/**
 * The property name `k` is found under in `d`. Python's True is 1 and False is 0 as keys, pipe's
 * are apart: a lookup that would find the other is refused rather than answered differently.
 */
export function lookupName(d: Readonly<Record<string, unknown>>, k: unknown): string | undefined {
  const name = nameOfKey(k);
  if (name === undefined || Object.hasOwn(d, name)) return name;
  const num = isNumeric(k) ? Number(k) : undefined;
  const twin = num === 1 ? [1, true] : num === 0 ? [0, false] : undefined;
  const other = twin?.map(nameOfKey).find((n) => n !== name && Object.hasOwn(d, n!));
  if (other !== undefined) throw new JinjaError(`the dict has the key ${pyRepr(keyOfName(other))}, which Python finds for ${pyRepr(k)} and pipe keeps apart: key it with one of them`);
  return name;
}

/** The key a dict's property name stands for (see nameOfKey). */
export function keyOfName(name: string): unknown {
  if (!name.startsWith(KEY_MARK)) return name;
  if (name.startsWith(OBJECT_KEY)) return objectKeys.get(name);
  const rest = name.slice(1);
  return rest === 'None' ? null : rest === 'True' ? true : rest === 'False' ? false : Number(rest);
}

/** A dict's keys as the template sees them. */
export function dictKeys(d: Readonly<Record<string, unknown>>): unknown[] {
  return Object.keys(d).map(keyOfName);
}

const TUPLE = Symbol('tuple');

/** A tuple: an array that prints as `(a, b)` and is the arguments of `%`. */
export function tuple<T>(items: T[]): T[] {
  Object.defineProperty(items, TUPLE, { value: true });
  return items;
}

export function isTuple(v: unknown): v is unknown[] {
  return Array.isArray(v) && (v as unknown as Record<symbol, unknown>)[TUPLE] === true;
}

/** A Python object of dbt's context. Methods are what Python's dunder methods would do. */
export abstract class PyObject {
  abstract readonly typeName: string;
  abstract repr(): string;
  str(): string {
    return this.repr();
  }
  /** `obj.name`: a value, or undefined (Jinja's Undefined) for an attribute it does not have. */
  getattr(_name: string): unknown {
    return undefined;
  }
  /** `obj[key]`: undefined where it has no such item. */
  getitem(_key: unknown): unknown {
    return undefined;
  }
  equals(other: unknown): boolean {
    return this === other;
  }
  /** Order against another value: negative, 0 or positive; undefined where Python raises TypeError. */
  compare(_other: unknown): number | undefined {
    return undefined;
  }
  /** `this + other` (or `other + this` when `reflected`); undefined where Python raises TypeError. */
  add(_other: unknown, _reflected: boolean): unknown {
    return undefined;
  }
  sub(_other: unknown, _reflected: boolean): unknown {
    return undefined;
  }
  mul(_other: unknown): unknown {
    return undefined;
  }
  neg(): unknown {
    return undefined;
  }
  truthy(): boolean {
    return true;
  }
  /** format(obj, spec) (`'{:%Y}'.format(date)`); undefined for a spec it does not take. */
  format(spec: string): string | undefined {
    return spec === '' ? this.str() : undefined;
  }
  /** What `for x in obj` walks; undefined where Python says it is not iterable. */
  iterate(): unknown[] | undefined {
    return undefined;
  }
  /** `needle in obj` where that is not whether walking it finds the needle; undefined to walk it. */
  holds(_needle: unknown): boolean | undefined {
    return undefined;
  }
  /** JavaScript's own string conversions (Nunjucks' fast paths, `{{ this }}` rendered without Nunjucks) print as Python does. */
  toString(): string {
    return this.str();
  }
}

/**
 * A float whose value is whole (`5.0`, `10 / 2`, `2.5 * 2`): JavaScript's number 5 is Python's
 * int 5, so a whole float is kept apart to print, compare and compute as Python's float does
 * (`5.0`, not `5`: in SQL the one is a DECIMAL and the other an INTEGER). A float that is not
 * whole is a plain number, as nothing else could be one.
 */
export class WholeFloat extends PyObject {
  readonly typeName = 'float';
  constructor(readonly value: number) {
    super();
  }
  override repr(): string {
    return floatRepr(this.value);
  }
  override equals(other: unknown): boolean {
    return numberOf(other) === this.value;
  }
  override compare(other: unknown): number | undefined {
    const n = numberOf(other);
    return n === undefined ? undefined : this.value - n;
  }
  override truthy(): boolean {
    return this.value !== 0;
  }
  /** Where JavaScript converts it (`Number(x)`), it is its value. */
  override valueOf(): number {
    return this.value;
  }
  /** As data (JSON of configs and keys), it is its value. */
  toJSON(): number {
    return this.value;
  }
}

/**
 * JSON of a value for a key that must change when it does: a whole float apart from the int
 * of its value (toJSON writes both as the number), NaN, the infinities and -0 apart from null
 * and 0, `also` applied to every other value.
 */
export function keyJson(value: unknown, also: (v: unknown) => unknown = (v) => v): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const own = this[key];
    if (own instanceof WholeFloat) return `\u0000float ${floatRepr(own.value)}`;
    // JSON has no NaN, infinities or -0: they would be keyed as null and 0.
    if (typeof own === 'number' && (!Number.isFinite(own) || Object.is(own, -0))) return `\u0000float ${floatRepr(own)}`;
    return also(v);
  });
}

/** A float result of Python's arithmetic: a whole one kept apart from an int (see WholeFloat). */
export function pyFloat(x: number): number | WholeFloat {
  return Number.isInteger(x) ? new WholeFloat(x) : x;
}

/** The number of an int, a float or a bool (True is 1); undefined for anything else. */
export function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean' || v instanceof WholeFloat) return Number(v);
  return undefined;
}

/** Whether a value is a number as Python's arithmetic takes one: an int, a float or a bool. */
export function isNumeric(v: unknown): v is number | boolean | WholeFloat {
  return typeof v === 'number' || typeof v === 'boolean' || v instanceof WholeFloat;
}

/** Whether a number is Python's float: a whole one kept apart, or one that is not whole. */
export function isFloat(v: unknown): boolean {
  return v instanceof WholeFloat || (typeof v === 'number' && !Number.isInteger(v));
}

/**
 * A value as pipe's own settings take it: a whole float is its number (config(retries=2.0)), and
 * a macro's output its text (config(materialized=mat()), a str in dbt's Jinja), in lists and dicts too.
 */
export function plainValues(v: unknown): unknown {
  if (v instanceof WholeFloat) return v.value;
  if (v instanceof SafeString) return v.val;
  if (Array.isArray(v)) return v.some(holdsWrapped) ? (isTuple(v) ? tuple(v.map(plainValues)) : v.map(plainValues)) : v;
  if (isDict(v)) return Object.values(v).some(holdsWrapped) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValues(x)])) : v;
  return v;
}

function holdsWrapped(v: unknown): boolean {
  return v instanceof WholeFloat || v instanceof SafeString || (Array.isArray(v) && v.some(holdsWrapped)) || (isDict(v) && Object.values(v).some(holdsWrapped));
}

const ATTRS = Symbol('attributes');

/** A callable with attributes: a Python class (`modules.datetime.date(...)`, `date.today()`) or module function. */
export function pyCallable<F extends (...args: never[]) => unknown>(fn: F, attributes: Readonly<Record<string, unknown>>, name?: string): F {
  Object.defineProperty(fn, ATTRS, { value: attributes });
  if (name) Object.defineProperty(fn, 'pyName', { value: name });
  return fn;
}

export function callableAttribute(fn: (...args: never[]) => unknown, name: string): unknown {
  const attrs = (fn as unknown as Record<symbol, Readonly<Record<string, unknown>>>)[ATTRS];
  return attrs && Object.hasOwn(attrs, name) ? attrs[name] : undefined;
}

export function typeName(v: unknown): string {
  if (v === undefined) return 'Undefined';
  if (v === null) return 'NoneType';
  if (isStr(v)) return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (isTuple(v)) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyObject || isIdentified(v)) return v.typeName;
  if (typeof v === 'function') return 'function';
  if (isDict(v)) return 'dict';
  return 'object';
}

/** Python's str(): what `{{ value }}` and `~` print. An undefined value prints nothing: it is an error. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) throw new JinjaError('an undefined value (an unknown variable or attribute) is printed');
  if (v instanceof SafeString) return v.val;
  if (typeof v === 'number') return numberRepr(v);
  if (v instanceof PyObject) return v.str();
  return pyRepr(v);
}

/** Python's repr(): how a value prints inside a list or a dict. */
export function pyRepr(v: unknown): string {
  if (v === undefined) return 'Undefined';
  if (v === null) return 'None';
  if (isStr(v)) return strRepr(strOf(v));
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return numberRepr(v);
  if (Array.isArray(v)) {
    const items = v.map(pyRepr);
    if (isTuple(v)) return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
    return `[${items.join(', ')}]`;
  }
  if (v instanceof PyObject) return v.repr();
  if (typeof v === 'function') return `<function ${(v as { pyName?: string }).pyName ?? v.name}>`;
  if (isDict(v)) return `{${Object.entries(v).map(([k, x]) => `${pyRepr(keyOfName(k))}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

/** repr() of a str: single quotes unless the text has one and no double quote; unprintable characters escaped. */
export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && UNPRINTABLE.test(ch)) out += escapeCodePoint(ch.codePointAt(0)!);
    else out += ch;
  }
  return out + quote;
}

/** What str.isprintable() says no to: control, format, private and unassigned characters, separators but the space. */
const UNPRINTABLE = /^[\p{C}\p{Z}]$/u;

function escapeCodePoint(cp: number): string {
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/**
 * Why `x` cannot be printed as Python would: Python's ints are exact at any size, pipe's numbers
 * are 64-bit floats, whose whole values from 2^53 on skip integers (the literal
 * 123456789012345678 is 123456789012345680 there). Refused, never printed wrong.
 */
export function inexactWhole(x: unknown): string | undefined {
  if (typeof x !== 'number' || !Number.isInteger(x) || Number.isSafeInteger(x)) return undefined;
  return `${INEXACT_WHOLE} (about ${x.toPrecision(3)}) is not exact in pipe, which computes with 64-bit floats; write a large id or literal as a string ('...')`;
}

/** How inexactWhole's message starts. */
export const INEXACT_WHOLE = 'a whole number of 2^53 or more';

/**
 * A number as Python prints it. A whole number prints as an int (a whole float is a
 * WholeFloat, which prints as `5.0`). Other numbers print as Python's float repr:
 * the shortest digits that read back, in exponent form below 1e-4 or from 1e16.
 */
export function numberRepr(x: number): string {
  const inexact = inexactWhole(x);
  if (inexact) throw new JinjaError(inexact);
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return Object.is(x, -0) ? '0' : String(x);
  return floatRepr(x);
}

/** Python's truth: empty strings, lists and dicts are false, as are 0 and None. */
export function pyBool(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'string':
      return v.length > 0;
    case 'function':
      return true;
    default:
      if (v instanceof SafeString) return v.val.length > 0;
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof PyObject) return v.truthy();
      if (isDict(v)) return Object.keys(v).length > 0;
      return true;
  }
}

/** Python's `==`: by value for strings, numbers (True == 1), lists and dicts. */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isStr(a) || isStr(b)) return isStr(a) && isStr(b) && strOf(a) === strOf(b);
  const numA = isNumeric(a);
  const numB = isNumeric(b);
  if (numA || numB) return numA && numB && Number(a) === Number(b);
  if (a === null || a === undefined || b === null || b === undefined) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b) && a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  }
  if (a instanceof PyObject) return a.equals(b);
  if (b instanceof PyObject) return b.equals(a);
  if (isIdentified(a) || isIdentified(b)) return isIdentified(a) && isIdentified(b) && a[IDENTITY]() === b[IDENTITY]();
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && pyEquals(a[k], b[k]));
  }
  return false;
}

/** Python's ordering of two values (`<` and friends), or a TypeError for values Python does not order. */
export function pyCompare(a: unknown, b: unknown, op: string): number {
  if (isNumeric(a) && isNumeric(b)) return Number(a) - Number(b);
  if (isStr(a) && isStr(b)) {
    const x = strOf(a);
    const y = strOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  const c = a instanceof PyObject ? a.compare(b) : b instanceof PyObject ? negate(b.compare(a)) : undefined;
  if (c !== undefined) return c;
  throw new JinjaError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

const negate = (c: number | undefined) => (c === undefined ? undefined : -c);

/** What `for x in value` walks, as Python does: a dict's keys, a string's characters; undefined walks nothing. */
export function pyIterate(v: unknown): unknown[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  if (isStr(v)) return [...strOf(v)];
  if (isDict(v)) return dictKeys(v);
  if (v instanceof PyObject) {
    const items = v.iterate();
    if (items) return items;
  }
  if (v instanceof Map || v instanceof Set) return [...v.keys()];
  throw new JinjaError(`'${typeName(v)}' object is not iterable`);
}
