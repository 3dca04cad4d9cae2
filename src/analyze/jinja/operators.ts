import { JinjaError } from './errors.js';
import { percentFormat } from './python-format.js';
import { DbtRelation } from './relation.js';
import { holdsRelation, relationAsText } from './relation-text.js';
import { isDict, isFloat, isNumeric, isStr, isTuple, lookupName, nameOfKey, pyBool, pyCompare, pyEquals, pyFloat, pyIterate, PyObject, pyRepr, pyStr, strOf, tuple, typeName, WholeFloat } from './values.js';

/**
 * Python's operators, as compiled templates call them: `+` adds numbers and joins strings
 * and lists (never `1 + '1'`), `*` repeats, `%` formats a string and keeps the divisor's
 * sign, `/` by zero is an error, `==` compares by value, `in` looks into strings, lists
 * and dict keys, and an undefined value in arithmetic is an error instead of NaN or the
 * text "undefined".
 */

/** `~?` is `~` in a template that prints an undefined value as nothing (a package's, as dbt's Jinja does). */
export type BinaryOp = '+' | '-' | '*' | '/' | '//' | '%' | '**' | '~' | '~?';

function undefinedIn(op: string): JinjaError {
  return new JinjaError(`an undefined value (an unknown variable or attribute) is used with '${op}'`);
}

function unsupported(op: string, a: unknown, b: unknown): JinjaError {
  return new JinjaError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

function repeat(seq: unknown, times: number | boolean | WholeFloat): unknown {
  if (isFloat(times)) throw new JinjaError(`can't multiply sequence by non-int of type 'float'`);
  const n = Math.max(0, Number(times));
  if (isStr(seq)) return strOf(seq).repeat(n);
  const items = seq as unknown[];
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(...items);
  return isTuple(items) ? tuple(out) : out;
}

function divisor(b: number, message: string): number {
  const d = Number(b);
  if (d === 0) throw new JinjaError(message);
  return d;
}

export function binary(op: BinaryOp, a: unknown, b: unknown): unknown {
  if (op === '~' || op === '~?') {
    if (op === '~' && (a === undefined || b === undefined)) throw undefinedIn(op);
    return (a === undefined ? '' : pyStr(a)) + (b === undefined ? '' : pyStr(b));
  }
  if (a === undefined || b === undefined) throw undefinedIn(op);
  if (isNumeric(a) && isNumeric(b)) {
    const n = arithmetic(op, Number(a), Number(b));
    // A float in, or `/`, or an int to a negative power, gives a float, as in Python.
    return isFloat(a) || isFloat(b) || op === '/' || (op === '**' && Number(b) < 0) ? pyFloat(n) : n;
  }
  switch (op) {
    case '+':
      if (isStr(a) && isStr(b)) return strOf(a) + strOf(b);
      if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) return isTuple(a) ? tuple([...a, ...b]) : [...a, ...b];
      break;
    case '*':
      if ((isStr(a) || Array.isArray(a)) && isNumeric(b)) return repeat(a, b);
      if (isNumeric(a) && (isStr(b) || Array.isArray(b))) return repeat(b, a);
      break;
    case '%':
      if (isStr(a)) return percentFormat(strOf(a), b);
      break;
    default:
      break;
  }
  const viaObject = objectOperation(op, a, b);
  if (viaObject !== undefined) return viaObject;
  throw unsupported(op, a, b);
}

function arithmetic(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return x / divisor(y, 'division by zero');
    case '//':
      return Math.floor(x / divisor(y, 'integer division or modulo by zero'));
    case '%': {
      const r = x % divisor(y, 'integer division or modulo by zero');
      return r !== 0 && r < 0 !== y < 0 ? r + y : r;
    }
    case '**':
      if (x === 0 && y < 0) throw new JinjaError('0.0 cannot be raised to a negative power');
      return x ** y;
    default:
      throw new JinjaError(`internal error: ${op} is not arithmetic`);
  }
}

function objectOperation(op: BinaryOp, a: unknown, b: unknown): unknown {
  const left = a instanceof PyObject ? a : undefined;
  const right = b instanceof PyObject ? b : undefined;
  switch (op) {
    case '+':
      return left?.add(b, false) ?? right?.add(a, true);
    case '-':
      return left?.sub(b, false) ?? right?.sub(a, true);
    case '*':
      return left?.mul(b) ?? right?.mul(a);
    default:
      return undefined;
  }
}

export function unary(op: '-' | '+', v: unknown): unknown {
  if (v === undefined) throw undefinedIn(op);
  if (isNumeric(v)) {
    const n = op === '-' ? -Number(v) : Number(v);
    return isFloat(v) ? pyFloat(n) : n;
  }
  if (op === '-' && v instanceof PyObject) {
    const r = v.neg();
    if (r !== undefined) return r;
  }
  throw new JinjaError(`bad operand type for unary ${op}: '${typeName(v)}'`);
}

export type CompareOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | '===' | '!==';

function compareOnce(op: CompareOp, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
    case '===':
      return pyEquals(a, b);
    case '!=':
    case '!==':
      return !pyEquals(a, b);
    default: {
      if (a === undefined || b === undefined) throw undefinedIn(op);
      const c = pyCompare(a, b, op);
      return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0;
    }
  }
}

/** `a < b <= c`: Python's chained comparison. `rest` alternates operators and operands. */
export function compareChain(first: unknown, rest: readonly unknown[]): boolean {
  let left = first;
  for (let i = 0; i < rest.length; i += 2) {
    const right = rest[i + 1];
    if (!compareOnce(rest[i] as CompareOp, left, right)) return false;
    left = right;
  }
  return true;
}

/** `needle in haystack`. */
export function contains(needle: unknown, haystack: unknown): boolean {
  if (haystack === undefined) throw undefinedIn('in');
  if (isStr(haystack)) {
    if (!isStr(needle)) throw new JinjaError(`'in <string>' requires string as left operand, not ${typeName(needle)}`);
    // A relation looked for in a query is found as dbt finds it; what is looked for in a relation's text is not.
    if (holdsRelation(haystack)) throw relationAsText("'in'");
    return strOf(haystack).includes(strOf(needle));
  }
  if (Array.isArray(haystack)) return haystack.some((x) => pyEquals(x, needle));
  if (isDict(haystack)) {
    const name = lookupName(haystack, needle);
    return name !== undefined && Object.hasOwn(haystack, name);
  }
  if (haystack instanceof PyObject && haystack.holds(needle) !== undefined) return haystack.holds(needle)!;
  if (haystack instanceof PyObject && haystack.iterate()) return pyIterate(haystack).some((x) => pyEquals(x, needle));
  throw new JinjaError(`argument of type '${typeName(haystack)}' is not iterable`);
}

/** A dict literal's key from an expression (`{name: 1}` uses the variable `name`, as Jinja does). */
export function dictKey(k: unknown): string {
  const name = nameOfKey(k);
  if (name !== undefined) return name;
  // A relation keys a dict by what it prints as.
  if (k instanceof DbtRelation) return k.str();
  if (k === undefined) throw new JinjaError('a dict key is undefined (an unknown variable)');
  throw new JinjaError(`pipe's dicts have keys of str, None, bool and numbers only; got the key ${pyRepr(k)} (${typeName(k)})`);
}

/** `{% set a, b = value %}`: the values to assign, one per name. */
export function unpack(value: unknown, n: number): unknown[] {
  if (value === undefined) throw new JinjaError(`cannot unpack an undefined value into ${n} names`);
  const items = pyIterate(value);
  if (items.length > n) throw new JinjaError(`too many values to unpack (expected ${n})`);
  if (items.length < n) throw new JinjaError(`not enough values to unpack (expected ${n}, got ${items.length})`);
  return items;
}

/** What `{% for %}` walks: with one loop variable a dict gives its keys, as Python does; with two, its keys and values, as Nunjucks does. */
export function loopSource(v: unknown, names: number): unknown {
  if (v === null || v === undefined || (names > 1 && isDict(v))) return v;
  return pyIterate(v);
}

export const and = (a: unknown, b: () => unknown): unknown => (pyBool(a) ? b() : a);
export const or = (a: unknown, b: () => unknown): unknown => (pyBool(a) ? a : b());
