import { bind, signature, type Signature } from './args.js';
import { holdsRelation, relationAsText } from './relation-text.js';
import { JinjaError } from './errors.js';
import { strFormat } from './python-format.js';
import { dictKey } from './operators.js';
import { dictKeys, isDict, isStr, keyOfName, lookupName, pyCompare, pyEquals, pyIterate, pyRepr, strOf, tuple, typeName } from './values.js';

/**
 * The methods of Python's str, list and dict that dbt templates call (`name.upper()`,
 * `cols.append(c)`, `d.items()`), with Python's arguments, results and errors.
 */

/** How str.format reads `{0.attr}` and `{0[key]}`: the template's own attribute and item lookup. */
export interface Accessors {
  getattr(obj: unknown, name: string): unknown;
  getitem(obj: unknown, key: unknown): unknown;
}

type Method<T> = (self: T, args: unknown[], access: Accessors) => unknown;

interface MethodTable<T> {
  readonly [name: string]: Method<T>;
}

/** A method from its Python signature: `fn(self, ...values)`. */
function method<T>(name: string, params: string, defaults: Record<string, unknown>, fn: (self: T, ...values: never[]) => unknown): Method<T> {
  const sig: Signature = signature(name, params, defaults);
  return (self, args) => (fn as (self: T, ...values: unknown[]) => unknown)(self, ...bind(sig, args));
}

// ---- str --------------------------------------------------------------------------------

/** What str.isspace() and split()/strip() without arguments take for whitespace. */
const SPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

function text(v: unknown, what: string): string {
  if (!isStr(v)) throw new JinjaError(`${what} must be str, not ${typeName(v)}`);
  return strOf(v);
}

function optionalInt(v: unknown, what: string): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new JinjaError(`${what} must be an integer, not ${typeName(v)}`);
  return v;
}

/** Python's slice bounds start/end of a str method, clamped. */
function span(length: number, start: unknown, end: unknown): [number, number] {
  const clamp = (v: number | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    if (v < 0) return Math.max(0, length + v);
    return Math.min(length, v);
  };
  return [clamp(optionalInt(start, 'slice index'), 0), clamp(optionalInt(end, 'slice index'), length)];
}

function stripChars(chars: unknown): string {
  if (chars === null || chars === undefined) return SPACE;
  return text(chars, 'strip arg');
}

function lstrip(s: string, chars: string): string {
  let i = 0;
  while (i < s.length && chars.includes(s[i])) i++;
  return s.slice(i);
}

function rstrip(s: string, chars: string): string {
  let i = s.length;
  while (i > 0 && chars.includes(s[i - 1])) i--;
  return s.slice(0, i);
}

const isCased = (ch: string) => ch.toLowerCase() !== ch.toUpperCase();

function title(s: string): string {
  let out = '';
  let previousCased = false;
  for (const ch of s) {
    out += previousCased ? ch.toLowerCase() : ch.toUpperCase();
    previousCased = isCased(ch);
  }
  return out;
}

function affixes(v: unknown, what: string): string[] {
  if (Array.isArray(v)) return v.map((x) => text(x, `tuple for ${what} elements`));
  if (!isStr(v)) throw new JinjaError(`${what} first arg must be str or a tuple of str, not ${typeName(v)}`);
  return [strOf(v)];
}

function split(s: string, sep: unknown, maxsplit: unknown, fromRight: boolean): string[] {
  let max = optionalInt(maxsplit, 'maxsplit') ?? -1;
  if (sep === null || sep === undefined) {
    const words = s.split(new RegExp(`[${escapeClass(SPACE)}]+`)).filter((w) => w !== '');
    if (max < 0 || words.length <= max + 1) return words;
    // Split `max` times from one end; the rest keeps its inner whitespace.
    const out: string[] = [];
    let rest = fromRight ? rstrip(s, SPACE) : lstrip(s, SPACE);
    while (max-- > 0) {
      if (fromRight) {
        const m = new RegExp(`[${escapeClass(SPACE)}]+([^${escapeClass(SPACE)}]*)$`).exec(rest);
        if (!m) break;
        out.unshift(m[1]);
        rest = rest.slice(0, m.index);
      } else {
        const m = new RegExp(`^([^${escapeClass(SPACE)}]*)[${escapeClass(SPACE)}]+`).exec(rest);
        if (!m) break;
        out.push(m[1]);
        rest = rest.slice(m[0].length);
      }
    }
    const last = fromRight ? rstrip(rest, SPACE) : lstrip(rest, SPACE);
    return fromRight ? [last, ...out] : [...out, last];
  }
  const separator = text(sep, 'sep');
  if (separator === '') throw new JinjaError('empty separator');
  const parts = s.split(separator);
  if (max < 0 || parts.length <= max + 1) return parts;
  return fromRight
    ? [parts.slice(0, parts.length - max).join(separator), ...parts.slice(parts.length - max)]
    : [...parts.slice(0, max), parts.slice(max).join(separator)];
}

const escapeClass = (chars: string) => chars.replace(/[\\\]^-]/g, '\\$&');

function replace(s: string, old: string, replacement: string, count: number): string {
  if (count < 0) count = Infinity;
  if (old === '') {
    const chars = [...s];
    let out = '';
    let n = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < count) {
        out += replacement;
        n++;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  let out = '';
  let at = 0;
  for (let n = 0; n < count; n++) {
    const i = s.indexOf(old, at);
    if (i < 0) break;
    out += s.slice(at, i) + replacement;
    at = i + old.length;
  }
  return out + s.slice(at);
}

function justify(s: string, width: unknown, fill: unknown, where: 'left' | 'right' | 'center'): string {
  const w = optionalInt(width, 'width') ?? 0;
  const f = fill === undefined ? ' ' : text(fill, 'fill character');
  if ([...f].length !== 1) throw new JinjaError('The fill character must be exactly one character long');
  const length = [...s].length;
  const margin = w - length;
  if (margin <= 0) return s;
  if (where === 'left') return s + f.repeat(margin);
  if (where === 'right') return f.repeat(margin) + s;
  const left = Math.floor(margin / 2) + (margin & w & 1);
  return f.repeat(left) + s + f.repeat(margin - left);
}

function find(s: string, sub: unknown, start: unknown, end: unknown, last: boolean): number {
  const needle = text(sub, 'substring');
  const [a, b] = span(s.length, start, end);
  if (b - a < needle.length) return -1;
  const i = last ? s.lastIndexOf(needle, b - needle.length) : s.indexOf(needle, a);
  return i >= a && i + needle.length <= b ? i : -1;
}

const STR: MethodTable<string> = {
  capitalize: method('capitalize', '', {}, (s: string) => {
    const [first = '', ...rest] = [...s];
    return first.toUpperCase() + rest.join('').toLowerCase();
  }),
  casefold: method('casefold', '', {}, (s: string) => s.toLowerCase().replace(/ß/g, 'ss')),
  center: method('center', 'width fillchar', { fillchar: undefined }, (s: string, w: unknown, f: unknown) => justify(s, w, f, 'center')),
  count: method('count', 'sub start end', { start: null, end: null }, (s: string, sub: unknown, start: unknown, end: unknown) => {
    const needle = text(sub, 'substring');
    const [a, b] = span(s.length, start, end);
    const part = s.slice(a, b);
    if (needle === '') return [...part].length + 1;
    return part.split(needle).length - 1;
  }),
  endswith: method('endswith', 'suffix start end', { start: null, end: null }, (s: string, suffix: unknown, start: unknown, end: unknown) => {
    const [a, b] = span(s.length, start, end);
    return affixes(suffix, 'endswith').some((x) => b - a >= x.length && s.slice(a, b).endsWith(x));
  }),
  expandtabs: method('expandtabs', 'tabsize', { tabsize: 8 }, (s: string, size: unknown) => {
    const n = optionalInt(size, 'tabsize') ?? 8;
    let col = 0;
    let out = '';
    for (const ch of s) {
      if (ch === '\t') {
        const spaces = n > 0 ? n - (col % n) : 0;
        out += ' '.repeat(spaces);
        col += spaces;
      } else {
        out += ch;
        col = ch === '\n' || ch === '\r' ? 0 : col + 1;
      }
    }
    return out;
  }),
  find: method('find', 'sub start end', { start: null, end: null }, (s: string, sub: unknown, start: unknown, end: unknown) => find(s, sub, start, end, false)),
  format: (s, args, access) => {
    const [positional, keywords] = bind(signature('format', '*args **kwargs'), args) as [unknown[], Record<string, unknown>];
    return strFormat(s, positional, keywords, access.getattr, access.getitem);
  },
  format_map: method('format_map', 'mapping', {}, (s: string, mapping: unknown) => {
    if (!isDict(mapping)) throw new JinjaError(`format_map() argument must be a mapping, not ${typeName(mapping)}`);
    return strFormat(s, [], mapping, (o) => o, (o) => o);
  }),
  index: method('index', 'sub start end', { start: null, end: null }, (s: string, sub: unknown, start: unknown, end: unknown) => {
    const i = find(s, sub, start, end, false);
    if (i < 0) throw new JinjaError('substring not found');
    return i;
  }),
  isalnum: method('isalnum', '', {}, (s: string) => /^[\p{L}\p{N}]+$/u.test(s)),
  isalpha: method('isalpha', '', {}, (s: string) => /^\p{L}+$/u.test(s)),
  isascii: method('isascii', '', {}, (s: string) => /^[\x00-\x7f]*$/.test(s)),
  isdecimal: method('isdecimal', '', {}, (s: string) => /^\p{Nd}+$/u.test(s)),
  isdigit: method('isdigit', '', {}, (s: string) => /^[\p{Nd}\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089]+$/u.test(s)),
  isidentifier: method('isidentifier', '', {}, (s: string) => /^[\p{XID_Start}_]\p{XID_Continue}*$/u.test(s)),
  islower: method('islower', '', {}, (s: string) => /[\p{Ll}]/u.test(s) && !/[\p{Lu}\p{Lt}]/u.test(s)),
  isnumeric: method('isnumeric', '', {}, (s: string) => /^\p{N}+$/u.test(s)),
  isspace: method('isspace', '', {}, (s: string) => s.length > 0 && [...s].every((c) => SPACE.includes(c))),
  istitle: method('istitle', '', {}, (s: string) => /[\p{Lu}\p{Lt}\p{Ll}]/u.test(s) && title(s) === s),
  isupper: method('isupper', '', {}, (s: string) => /[\p{Lu}]/u.test(s) && !/[\p{Ll}\p{Lt}]/u.test(s)),
  join: method('join', 'iterable', {}, (s: string, items: unknown) =>
    pyIterate(items)
      .map((x, i) => {
        if (!isStr(x)) throw new JinjaError(`sequence item ${i}: expected str instance, ${typeName(x)} found`);
        return strOf(x);
      })
      .join(s),
  ),
  ljust: method('ljust', 'width fillchar', { fillchar: undefined }, (s: string, w: unknown, f: unknown) => justify(s, w, f, 'left')),
  lower: method('lower', '', {}, (s: string) => s.toLowerCase()),
  lstrip: method('lstrip', 'chars', { chars: null }, (s: string, chars: unknown) => lstrip(s, stripChars(chars))),
  partition: method('partition', 'sep', {}, (s: string, sep: unknown) => {
    const separator = text(sep, 'sep');
    if (separator === '') throw new JinjaError('empty separator');
    const i = s.indexOf(separator);
    return i < 0 ? tuple([s, '', '']) : tuple([s.slice(0, i), separator, s.slice(i + separator.length)]);
  }),
  removeprefix: method('removeprefix', 'prefix', {}, (s: string, p: unknown) => {
    const prefix = text(p, 'prefix');
    return prefix && s.startsWith(prefix) ? s.slice(prefix.length) : s;
  }),
  removesuffix: method('removesuffix', 'suffix', {}, (s: string, p: unknown) => {
    const suffix = text(p, 'suffix');
    return suffix && s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
  }),
  replace: method('replace', 'old new count', { count: -1 }, (s: string, old: unknown, replacement: unknown, count: unknown) =>
    replace(s, text(old, 'replace() argument 1'), text(replacement, 'replace() argument 2'), optionalInt(count, 'count') ?? -1),
  ),
  rfind: method('rfind', 'sub start end', { start: null, end: null }, (s: string, sub: unknown, start: unknown, end: unknown) => find(s, sub, start, end, true)),
  rindex: method('rindex', 'sub start end', { start: null, end: null }, (s: string, sub: unknown, start: unknown, end: unknown) => {
    const i = find(s, sub, start, end, true);
    if (i < 0) throw new JinjaError('substring not found');
    return i;
  }),
  rjust: method('rjust', 'width fillchar', { fillchar: undefined }, (s: string, w: unknown, f: unknown) => justify(s, w, f, 'right')),
  rpartition: method('rpartition', 'sep', {}, (s: string, sep: unknown) => {
    const separator = text(sep, 'sep');
    if (separator === '') throw new JinjaError('empty separator');
    const i = s.lastIndexOf(separator);
    return i < 0 ? tuple(['', '', s]) : tuple([s.slice(0, i), separator, s.slice(i + separator.length)]);
  }),
  rsplit: method('rsplit', 'sep maxsplit', { sep: null, maxsplit: -1 }, (s: string, sep: unknown, max: unknown) => split(s, sep, max, true)),
  rstrip: method('rstrip', 'chars', { chars: null }, (s: string, chars: unknown) => rstrip(s, stripChars(chars))),
  split: method('split', 'sep maxsplit', { sep: null, maxsplit: -1 }, (s: string, sep: unknown, max: unknown) => split(s, sep, max, false)),
  splitlines: method('splitlines', 'keepends', { keepends: false }, (s: string, keep: unknown) => {
    const out: string[] = [];
    let rest = s;
    while (rest !== '') {
      const m = LINE_BREAKS.exec(rest);
      if (!m) {
        out.push(rest);
        break;
      }
      out.push(rest.slice(0, keep ? m.index + m[0].length : m.index));
      rest = rest.slice(m.index + m[0].length);
    }
    return out;
  }),
  startswith: method('startswith', 'prefix start end', { start: null, end: null }, (s: string, prefix: unknown, start: unknown, end: unknown) => {
    const [a, b] = span(s.length, start, end);
    return affixes(prefix, 'startswith').some((x) => b - a >= x.length && s.slice(a, b).startsWith(x));
  }),
  strip: method('strip', 'chars', { chars: null }, (s: string, chars: unknown) => rstrip(lstrip(s, stripChars(chars)), stripChars(chars))),
  swapcase: method('swapcase', '', {}, (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('')),
  title: method('title', '', {}, (s: string) => title(s)),
  upper: method('upper', '', {}, (s: string) => s.toUpperCase()),
  zfill: method('zfill', 'width', {}, (s: string, width: unknown) => {
    const w = optionalInt(width, 'width') ?? 0;
    const sign = s[0] === '+' || s[0] === '-' ? s[0] : '';
    const body = s.slice(sign.length);
    return sign + body.padStart(w - sign.length, '0');
  }),
};

// ---- list -------------------------------------------------------------------------------

function listIndex(list: unknown[], i: unknown, what: string): number {
  const n = optionalInt(i, 'list index');
  if (n === undefined) throw new JinjaError(`${what} index must be an integer`);
  return n < 0 ? list.length + n : n;
}

function sortList(list: unknown[], reverse: boolean): void {
  list.sort((a, b) => pyCompare(a, b, '<'));
  if (reverse) list.reverse();
}

const LIST: MethodTable<unknown[]> = {
  append: method('append', 'object', {}, (list: unknown[], x: unknown) => {
    list.push(x);
    return null;
  }),
  clear: method('clear', '', {}, (list: unknown[]) => {
    list.length = 0;
    return null;
  }),
  copy: method('copy', '', {}, (list: unknown[]) => [...list]),
  count: method('count', 'value', {}, (list: unknown[], x: unknown) => list.filter((y) => pyEquals(x, y)).length),
  extend: method('extend', 'iterable', {}, (list: unknown[], items: unknown) => {
    list.push(...pyIterate(items));
    return null;
  }),
  index: method('index', 'value start stop', { start: null, stop: null }, (list: unknown[], x: unknown, start: unknown, stop: unknown) => {
    const [a, b] = span(list.length, start, stop);
    for (let i = a; i < b; i++) if (pyEquals(list[i], x)) return i;
    throw new JinjaError(`${pyRepr(x)} is not in list`);
  }),
  insert: method('insert', 'index object', {}, (list: unknown[], i: unknown, x: unknown) => {
    const at = listIndex(list, i, 'insert');
    list.splice(Math.max(0, Math.min(list.length, at)), 0, x);
    return null;
  }),
  pop: method('pop', 'index', { index: -1 }, (list: unknown[], i: unknown) => {
    if (list.length === 0) throw new JinjaError('pop from empty list');
    const at = listIndex(list, i, 'pop');
    if (at < 0 || at >= list.length) throw new JinjaError('pop index out of range');
    return list.splice(at, 1)[0];
  }),
  remove: method('remove', 'value', {}, (list: unknown[], x: unknown) => {
    const i = list.findIndex((y) => pyEquals(x, y));
    if (i < 0) throw new JinjaError('list.remove(x): x not in list');
    list.splice(i, 1);
    return null;
  }),
  reverse: method('reverse', '', {}, (list: unknown[]) => {
    list.reverse();
    return null;
  }),
  sort: method('sort', 'reverse', { reverse: false }, (list: unknown[], reverse: unknown) => {
    sortList(list, reverse === true);
    return null;
  }),
};

// ---- dict -------------------------------------------------------------------------------

type Dict = Record<string, unknown>;

function keyError(k: unknown): JinjaError {
  return new JinjaError(`KeyError: ${pyRepr(k)}`);
}

function updateDict(d: Dict, other: unknown, keywords: Dict): void {
  if (other !== undefined && other !== null) {
    if (isDict(other)) Object.assign(d, other);
    else {
      for (const pair of pyIterate(other)) {
        const items = pyIterate(pair);
        if (items.length !== 2) throw new JinjaError(`dictionary update sequence element has length ${items.length}; 2 is required`);
        d[dictKey(items[0])] = items[1];
      }
    }
  }
  Object.assign(d, keywords);
}

const DICT: MethodTable<Dict> = {
  clear: method('clear', '', {}, (d: Dict) => {
    for (const k of Object.keys(d)) delete d[k];
    return null;
  }),
  copy: method('copy', '', {}, (d: Dict) => ({ ...d })),
  get: method('get', 'key default', { default: null }, (d: Dict, k: unknown, fallback: unknown) => {
    const key = lookupName(d, k) ?? dictKey(k);
    return Object.hasOwn(d, key) ? d[key] : fallback;
  }),
  items: method('items', '', {}, (d: Dict) => Object.entries(d).map(([k, v]) => tuple([keyOfName(k), v]))),
  keys: method('keys', '', {}, (d: Dict) => dictKeys(d)),
  pop: (d, args) => {
    const [k, rest] = bind(signature('pop', 'key *args'), args) as [unknown, unknown[]];
    if (rest.length > 1) throw new JinjaError(`pop expected at most 2 arguments, got ${rest.length + 1}`);
    const key = lookupName(d, k) ?? dictKey(k);
    if (!Object.hasOwn(d, key)) {
      if (rest.length === 1) return rest[0];
      throw keyError(k);
    }
    const v = d[key];
    delete d[key];
    return v;
  },
  popitem: method('popitem', '', {}, (d: Dict) => {
    const keys = Object.keys(d);
    if (keys.length === 0) throw new JinjaError("KeyError: 'popitem(): dictionary is empty'");
    const k = keys[keys.length - 1];
    const v = d[k];
    delete d[k];
    return tuple([keyOfName(k), v]);
  }),
  setdefault: method('setdefault', 'key default', { default: null }, (d: Dict, k: unknown, fallback: unknown) => {
    const key = lookupName(d, k) ?? dictKey(k);
    if (!Object.hasOwn(d, key)) d[key] = fallback;
    return d[key];
  }),
  update: (d, args) => {
    const [rest, keywords] = bind(signature('update', '*args **kwargs'), args) as [unknown[], Dict];
    if (rest.length > 1) throw new JinjaError(`update expected at most 1 argument, got ${rest.length}`);
    updateDict(d, rest[0], keywords);
    return null;
  },
  values: method('values', '', {}, (d: Dict) => Object.values(d)),
};

/** `obj.name` when `name` is a method of obj's Python type: the bound method; else undefined. */
/** The methods of str that hold a relation's placeholder as it is: a format string or a separator, whose arguments are what they place. */
const PLACEHOLDER_SAFE: ReadonlySet<string> = new Set(['format', 'join']);

export function methodOf(obj: unknown, name: string, access: Accessors): ((...args: unknown[]) => unknown) | undefined {
  let table: MethodTable<never> | undefined;
  let self: unknown = obj;
  if (isStr(obj)) {
    table = STR as MethodTable<never>;
    self = strOf(obj);
    if (Object.hasOwn(table, name) && !PLACEHOLDER_SAFE.has(name) && holdsRelation(obj)) {
      return (...args: unknown[]) => {
        // Stripped of whitespace, a placeholder stays itself; stripped of other characters, it would not.
        if (/strip$/.test(name) && args.every((a) => a === undefined || a === null)) return self;
        throw relationAsText(`.${name}()`);
      };
    }
  } else if (Array.isArray(obj)) table = LIST as MethodTable<never>;
  else if (isDict(obj)) table = DICT as MethodTable<never>;
  if (!table || !Object.hasOwn(table, name)) return undefined;
  const m = table[name] as Method<unknown>;
  const bound = (...args: unknown[]) => m(self, args, access);
  Object.defineProperty(bound, 'pyName', { value: `${typeName(obj)}.${name}` });
  return bound;
}
