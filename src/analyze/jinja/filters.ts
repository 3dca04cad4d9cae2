import nunjucks from 'nunjucks';
import { bind, pyFunction, signature, type Signature } from './args.js';
import { JinjaError } from './errors.js';
import { htmlSafeJson } from './json-yaml.js';
import { getattr, getitem } from './members.js';
import { binary, compareChain, contains } from './operators.js';
import { percentFormat, pyRound } from './python-format.js';
import { DbtRelation, Relation } from './relation.js';
import { refuseRelationText } from './relation-text.js';
import { methodOf } from './python-methods.js';
import { isDict, isFloat, isNumeric, isStr, keyOfName, numberOf, pyBool, pyCompare, pyEquals, pyFloat, pyIterate, PyObject, pyRepr, pyStr, SafeString, strOf, tuple, typeName, WholeFloat } from './values.js';

/**
 * Jinja's filters and tests with Jinja's arguments and results: keyword arguments
 * (`|sort(attribute='name')`, `|map(attribute='x')`, `|join(', ', attribute='y')`) where
 * Nunjucks' own filters would take them for a positional value, `|select` and
 * `|selectattr` with a test, `|unique`, `|tojson`, case-insensitive sorting by default. The
 * filters Jinja has and pipe does not are refused at their use.
 */

interface Env {
  addFilter(name: string, fn: (...args: unknown[]) => unknown): void;
  addTest(name: string, fn: (...args: unknown[]) => unknown): void;
  getFilter(name: string): (...args: unknown[]) => unknown;
  getTest(name: string): (...args: unknown[]) => unknown;
  filters: Record<string, unknown>;
  tests: Record<string, unknown>;
}

/** The parts of a Jinja attribute path: `'address.city'`, `'0'` (an index). */
function attributeParts(attribute: unknown): unknown[] {
  if (attribute === null || attribute === undefined) return [];
  if (typeof attribute === 'number') return [attribute];
  return pyStr(attribute)
    .split('.')
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** Jinja's make_attrgetter: item first, then attribute, along a dotted path. */
function attrGetter(attribute: unknown, postprocess?: (v: unknown) => unknown, fallback?: unknown): (item: unknown) => unknown {
  const parts = attributeParts(attribute);
  return (item) => {
    let v = item;
    for (const p of parts) {
      v = getitem(v, p);
      if (fallback !== null && fallback !== undefined && v === undefined) v = fallback;
    }
    return postprocess ? postprocess(v) : v;
  };
}

const ignoreCase = (v: unknown) => (isStr(v) ? strOf(v).toLowerCase() : v);

function sorted(items: unknown[], key: (v: unknown) => unknown, reverse: boolean): unknown[] {
  const keyed = items.map((item) => ({ item, key: key(item) }));
  // Python's sort is stable, and reverse=True keeps equal items in their order.
  keyed.sort((a, b) => (reverse ? pyCompare(b.key, a.key, '<') : pyCompare(a.key, b.key, '<')));
  return keyed.map((k) => k.item);
}

function length(v: unknown): number {
  if (isStr(v)) return [...strOf(v)].length;
  if (Array.isArray(v)) return v.length;
  if (isDict(v)) return Object.keys(v).length;
  if (v instanceof PyObject && v.iterate()) return v.iterate()!.length;
  throw new JinjaError(`object of type '${typeName(v)}' has no len()`);
}

function text(v: unknown): string {
  return pyStr(v);
}

/** A count a filter takes (`|batch(3)`, `|slice(2)`): a whole number from 1. */
function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new JinjaError(`${what} must be a whole number from 1, not ${pyRepr(v)}`);
  return v;
}

/** Python's int() of a string, in a base, with underscores between digits; undefined when it is not one. */
function parseIntText(s: string, base: number): number | undefined {
  const t = s.trim().replace(/(?<=[0-9a-zA-Z])_(?=[0-9a-zA-Z])/g, '');
  const m = /^([+-]?)(0[xob])?([0-9a-zA-Z]+)$/i.exec(t);
  if (!m) return undefined;
  const prefix = m[2]?.toLowerCase();
  const b = base === 0 ? (prefix === '0x' ? 16 : prefix === '0o' ? 8 : prefix === '0b' ? 2 : 10) : base;
  if (prefix && ((prefix === '0x' && b !== 16) || (prefix === '0o' && b !== 8) || (prefix === '0b' && b !== 2))) return undefined;
  const digits = m[3].toLowerCase();
  const valid = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, b);
  if (![...digits].every((d) => valid.includes(d))) return undefined;
  const n = parseInt(digits, b);
  return m[1] === '-' ? -n : n;
}

/** Python's float() of a string; undefined when it is not one. */
export function parseFloatText(s: string): number | undefined {
  const t = s.trim().replace(/(?<=\d)_(?=\d)/g, '').toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function toInt(value: unknown, fallback: unknown, base: unknown): unknown {
  const n = numberOf(value);
  if (n !== undefined) return Number.isFinite(n) ? Math.trunc(n) : fallback;
  if (isStr(value)) {
    const n = parseIntText(strOf(value), typeof base === 'number' ? base : 10);
    if (n !== undefined) return n;
    const f = parseFloatText(strOf(value));
    return f !== undefined && Number.isFinite(f) ? Math.trunc(f) : fallback;
  }
  return fallback;
}

/** Jinja's float filter: a float always (`5 | float` is 5.0), or the fallback for what is not a number. */
function toFloat(value: unknown, fallback: unknown): unknown {
  const n = isNumeric(value) ? Number(value) : isStr(value) ? parseFloatText(strOf(value)) : undefined;
  return n === undefined ? fallback : pyFloat(n);
}

function escapeHtml(v: unknown): InstanceType<typeof SafeString> {
  const s = text(v).replace(/&/g, '&amp;').replace(/>/g, '&gt;').replace(/</g, '&lt;').replace(/'/g, '&#39;').replace(/"/g, '&#34;');
  return new SafeString(s);
}

/** Jinja's title filter: words start after whitespace, `-`, or an opening bracket (not after an apostrophe, as str.title() has it). */
function titleFilter(s: string): string {
  return s
    .split(/([-\s({[<]+)/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
    .join('');
}

function indent(s: string, width: unknown, first: boolean, blank: boolean): string {
  const pad = isStr(width) ? strOf(width) : ' '.repeat(Number(width));
  const lines = splitLines(`${s}\n`);
  let out: string;
  if (blank) out = lines.join(`\n${pad}`);
  else {
    out = lines.shift() ?? '';
    if (lines.length > 0) out += `\n${lines.map((l) => (l ? pad + l : l)).join('\n')}`;
  }
  return first ? pad + out : out;
}

function splitLines(s: string): string[] {
  const method = methodOf(s, 'splitlines', { getattr, getitem })!;
  return method() as string[];
}

function truncate(s: string, len: number, killwords: boolean, end: string, leeway: number): string {
  if (len < end.length) throw new JinjaError(`expected length >= ${end.length}, got ${len}`);
  if ([...s].length <= len + leeway) return s;
  if (killwords) return s.slice(0, len - end.length) + end;
  const head = s.slice(0, len - end.length);
  const i = head.lastIndexOf(' ');
  return (i < 0 ? head : head.slice(0, i)) + end;
}

function urlQuote(v: unknown, forQuery: boolean): string {
  const s = text(v);
  // Python's quote(): letters, digits, '_.-~' stay, '/' too outside query strings; a query's spaces are '+'.
  const encoded = [...new TextEncoder().encode(s)]
    .map((b) => {
      const ch = String.fromCharCode(b);
      if (/[A-Za-z0-9_.\-~]/.test(ch) || (!forQuery && ch === '/')) return ch;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return forQuery ? encoded.replace(/%20/g, '+') : encoded;
}

function callFilter(env: Env, name: unknown, item: unknown, args: unknown[], keywords: Record<string, unknown>): unknown {
  const fn = env.getFilter(pyStr(name));
  return Object.keys(keywords).length > 0 ? fn(item, ...args, { ...keywords, __keywords: true }) : fn(item, ...args);
}

function callTest(env: Env, name: unknown, item: unknown, args: unknown[], keywords: Record<string, unknown>): boolean {
  const fn = env.getTest(pyStr(name));
  const r = Object.keys(keywords).length > 0 ? fn(item, ...args, { ...keywords, __keywords: true }) : fn(item, ...args);
  return r === true;
}

/** |select, |reject, |selectattr, |rejectattr. */
function selector(env: Env, name: string, byAttribute: boolean, keep: boolean): (...args: unknown[]) => unknown {
  const sig: Signature = signature(name, 'value *args **kwargs');
  return (...raw) => {
    const [value, args, keywords] = bind(sig, raw) as [unknown, unknown[], Record<string, unknown>];
    if (!pyBool(value)) return [];
    let rest = args;
    let get = (v: unknown) => v;
    if (byAttribute) {
      if (rest.length === 0) throw new JinjaError('Missing parameter for attribute name');
      get = attrGetter(rest[0]);
      rest = rest.slice(1);
    }
    const test = rest.length > 0 ? (v: unknown) => callTest(env, rest[0], v, rest.slice(1), keywords) : pyBool;
    return pyIterate(value).filter((item) => test(get(item)) === keep);
  };
}

function groupby(value: unknown, attribute: unknown, fallback: unknown, caseSensitive: boolean): unknown[] {
  const key = attrGetter(attribute, caseSensitive ? undefined : ignoreCase, fallback);
  const real = attrGetter(attribute, undefined, fallback);
  const groups: { key: unknown; items: unknown[] }[] = [];
  for (const item of sorted(pyIterate(value), key, false)) {
    const k = key(item);
    const last = groups[groups.length - 1];
    if (last && pyEquals(last.key, k)) last.items.push(item);
    else groups.push({ key: k, items: [item] });
  }
  return groups.map((g) => {
    const pair = tuple([caseSensitive ? g.key : real(g.items[0]), g.items]);
    // A named tuple: `group.grouper`, `group.list`.
    Object.defineProperties(pair, { grouper: { value: pair[0] }, list: { value: pair[1] } });
    return pair;
  });
}

function minOrMax(value: unknown, caseSensitive: boolean, attribute: unknown, sign: 1 | -1): unknown {
  const items = pyIterate(value);
  if (items.length === 0) return undefined;
  const key = attrGetter(attribute, caseSensitive ? undefined : ignoreCase);
  let best = items[0];
  for (const item of items.slice(1)) if (sign * pyCompare(key(item), key(best), '<') < 0) best = item;
  return best;
}

function refuse(name: string, why: string): (...args: unknown[]) => unknown {
  return () => {
    throw new JinjaError(`the filter ${name} is not supported by pipe: ${why}`);
  };
}

/** The filters, by name. `env` gives |map and |select the other filters and tests. */
function filters(env: Env): Record<string, (...args: unknown[]) => unknown> {
  const f = (name: string, params: string, defaults: Record<string, unknown>, fn: (...values: never[]) => unknown) => pyFunction(signature(name, params, defaults), fn);
  const defaultFilter = f('default', 'value default_value boolean', { default_value: '', boolean: false }, (v: unknown, d: unknown, boolean: unknown) =>
    v === undefined || (pyBool(boolean) && !pyBool(v)) ? d : v,
  );
  const escape = f('escape', 'value', {}, (v: unknown) => escapeHtml(v));
  return {
    abs: f('abs', 'value', {}, (v: unknown) => {
      if (!isNumeric(v)) throw new JinjaError(`bad operand type for abs(): '${typeName(v)}'`);
      return isFloat(v) ? pyFloat(Math.abs(Number(v))) : Math.abs(Number(v));
    }),
    attr: f('attr', 'obj name', {}, (obj: unknown, name: unknown) => getattr(obj, pyStr(name))),
    batch: f('batch', 'value linecount fill_with', { fill_with: null }, (v: unknown, n: unknown, fill: unknown) => {
      const size = count(n, 'batch linecount');
      const out: unknown[][] = [];
      for (const item of pyIterate(v)) {
        if (out.length === 0 || out[out.length - 1].length === size) out.push([]);
        out[out.length - 1].push(item);
      }
      const last = out[out.length - 1];
      if (last && fill !== null && last.length < size) last.push(...Array(size - last.length).fill(fill));
      return out;
    }),
    capitalize: f('capitalize', 's', {}, (s: unknown) => methodOf(text(s), 'capitalize', { getattr, getitem })!()),
    center: f('center', 'value width', { width: 80 }, (v: unknown, w: unknown) => methodOf(text(v), 'center', { getattr, getitem })!(w)),
    count: f('count', 'value', {}, (v: unknown) => length(v)),
    d: defaultFilter,
    default: defaultFilter,
    dictsort: f('dictsort', 'value case_sensitive by reverse', { case_sensitive: false, by: 'key', reverse: false }, (v: unknown, cs: unknown, by: unknown, reverse: unknown) => {
      if (!isDict(v)) throw new JinjaError(`dictsort needs a dict, not ${typeName(v)}`);
      const pos = by === 'key' ? 0 : by === 'value' ? 1 : undefined;
      if (pos === undefined) throw new JinjaError('You can only sort by either "key" or "value"');
      const pairs = Object.entries(v).map(([k, x]) => tuple([keyOfName(k), x]));
      return sorted(pairs, (p) => (pyBool(cs) ? (p as unknown[])[pos] : ignoreCase((p as unknown[])[pos])), pyBool(reverse));
    }),
    e: escape,
    escape,
    filesizeformat: f('filesizeformat', 'value binary', { binary: false }, (v: unknown, binary: unknown) => {
      const bytes = Number(toFloat(v, NaN));
      const base = pyBool(binary) ? 1024 : 1000;
      const prefixes = pyBool(binary) ? ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] : ['kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
      if (bytes === 1) return '1 Byte';
      if (bytes < base) return `${Math.trunc(bytes)} Bytes`;
      let i = 0;
      while (i < prefixes.length - 1 && bytes >= base ** (i + 2)) i++;
      return `${percentFormat('%.1f', (base * bytes) / base ** (i + 2))} ${prefixes[i]}`;
    }),
    first: f('first', 'seq', {}, (v: unknown) => pyIterate(v)[0]),
    float: f('float', 'value default', { default: new WholeFloat(0) }, (v: unknown, d: unknown) => toFloat(v, d)),
    forceescape: escape,
    format: (...raw) => {
      const [value, args, keywords] = bind(signature('format', 'value *args **kwargs'), raw) as [unknown, unknown[], Record<string, unknown>];
      if (args.length > 0 && Object.keys(keywords).length > 0) throw new JinjaError("can't handle positional and keyword arguments at the same time");
      return percentFormat(text(value), Object.keys(keywords).length > 0 ? keywords : tuple(args));
    },
    groupby: f('groupby', 'value attribute default case_sensitive', { default: null, case_sensitive: false }, (v: unknown, a: unknown, d: unknown, cs: unknown) => groupby(v, a, d, pyBool(cs))),
    indent: f('indent', 's width first blank', { width: 4, first: false, blank: false }, (s: unknown, w: unknown, first: unknown, blank: unknown) => indent(text(s), w, pyBool(first), pyBool(blank))),
    int: f('int', 'value default base', { default: 0, base: 10 }, (v: unknown, d: unknown, base: unknown) => toInt(v, d, base)),
    items: f('items', 'value', {}, (v: unknown) => {
      if (v === undefined) return [];
      if (!isDict(v)) throw new JinjaError('Can only get item pairs from a mapping.');
      return Object.entries(v).map(([k, x]) => tuple([keyOfName(k), x]));
    }),
    join: f('join', 'value d attribute', { d: '', attribute: null }, (v: unknown, d: unknown, attribute: unknown) => {
      const items = pyIterate(v);
      const get = attribute === null ? (x: unknown) => x : attrGetter(attribute);
      return items.map((x) => text(get(x))).join(text(d));
    }),
    last: f('last', 'seq', {}, (v: unknown) => {
      const items = pyIterate(v);
      return items[items.length - 1];
    }),
    length: f('length', 'value', {}, (v: unknown) => length(v)),
    // `length` in a package's template (see syntax.ts filterIn): an undefined value has none.
    'length?': f('length', 'value', {}, (v: unknown) => (v === undefined ? 0 : length(v))),
    list: f('list', 'value', {}, (v: unknown) => [...pyIterate(v)]),
    lower: f('lower', 's', {}, (s: unknown) => text(s).toLowerCase()),
    map: (...raw) => {
      const [value, args, keywords] = bind(signature('map', 'value *args **kwargs'), raw) as [unknown, unknown[], Record<string, unknown>];
      if (!pyBool(value)) return [];
      let fn: (item: unknown) => unknown;
      if (args.length === 0 && Object.hasOwn(keywords, 'attribute')) {
        const { attribute, default: fallback = null, ...rest } = keywords;
        const extra = Object.keys(rest);
        if (extra.length > 0) throw new JinjaError(`Unexpected keyword argument '${extra[0]}'`);
        fn = attrGetter(attribute, undefined, fallback);
      } else {
        if (args.length === 0) throw new JinjaError('map requires a filter argument');
        fn = (item) => callFilter(env, args[0], item, args.slice(1), keywords);
      }
      return pyIterate(value).map(fn);
    },
    max: f('max', 'value case_sensitive attribute', { case_sensitive: false, attribute: null }, (v: unknown, cs: unknown, a: unknown) => minOrMax(v, pyBool(cs), a, -1)),
    min: f('min', 'value case_sensitive attribute', { case_sensitive: false, attribute: null }, (v: unknown, cs: unknown, a: unknown) => minOrMax(v, pyBool(cs), a, 1)),
    pprint: f('pprint', 'value', {}, (v: unknown) => {
      const s = pyRepr(v);
      // pformat() breaks what is longer than 80 characters over lines, which pipe does not reproduce.
      if (s.length > 80) throw new JinjaError('pprint of a value longer than 80 characters is not supported by pipe (Python breaks it over lines): use |tojson');
      return s;
    }),
    random: refuse('random', 'pipe renders a model the same way every time'),
    reject: selector(env, 'reject', false, false),
    rejectattr: selector(env, 'rejectattr', true, false),
    replace: f('replace', 's old new count', { count: null }, (s: unknown, o: unknown, n: unknown, count: unknown) =>
      methodOf(text(s), 'replace', { getattr, getitem })!(text(o), text(n), count === null ? -1 : count),
    ),
    reverse: f('reverse', 'value', {}, (v: unknown) => (isStr(v) ? [...strOf(v)].reverse().join('') : [...pyIterate(v)].reverse())),
    round: f('round', 'value precision method', { precision: 0, method: 'common' }, (v: unknown, p: unknown, method: unknown) => {
      const x = Number(v);
      const n = Number(p);
      // Python's round() of a float is a float, of an int an int; ceil and floor divide, which gives a float.
      if (method === 'common') return isFloat(v) ? pyFloat(pyRound(x, n)) : pyRound(x, n);
      if (method === 'ceil') return pyFloat(Math.ceil(x * 10 ** n) / 10 ** n);
      if (method === 'floor') return pyFloat(Math.floor(x * 10 ** n) / 10 ** n);
      throw new JinjaError('method must be common, ceil or floor');
    }),
    safe: f('safe', 'value', {}, (v: unknown) => new SafeString(text(v))),
    select: selector(env, 'select', false, true),
    selectattr: selector(env, 'selectattr', true, true),
    slice: f('slice', 'value slices fill_with', { fill_with: null }, (v: unknown, n: unknown, fill: unknown) => {
      const seq = pyIterate(v);
      const slices = count(n, 'slice count');
      const per = Math.floor(seq.length / slices);
      const extra = seq.length % slices;
      let offset = 0;
      const out: unknown[][] = [];
      for (let i = 0; i < slices; i++) {
        const start = offset + i * per;
        if (i < extra) offset++;
        const part = seq.slice(start, offset + (i + 1) * per);
        if (fill !== null && i >= extra) part.push(fill);
        out.push(part);
      }
      return out;
    }),
    sort: f('sort', 'value reverse case_sensitive attribute', { reverse: false, case_sensitive: false, attribute: null }, (v: unknown, reverse: unknown, cs: unknown, a: unknown) => {
      const getters = a === null ? [attrGetter(null)] : (typeof a === 'number' ? [a] : text(a).split(',')).map((x) => attrGetter(x));
      const post = pyBool(cs) ? (x: unknown) => x : ignoreCase;
      return sorted([...pyIterate(v)], (item) => (getters.length === 1 ? post(getters[0](item)) : getters.map((g) => post(g(item)))), pyBool(reverse));
    }),
    string: f('string', 'value', {}, (v: unknown) => text(v)),
    striptags: f('striptags', 'value', {}, (v: unknown) =>
      text(v)
        .replace(/<!--[\s\S]*?-->|<[^>]*>/g, '')
        .split(/\s+/)
        .filter(Boolean)
        .join(' ')
        .replace(/&(amp|lt|gt|quot|#39|#34);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#34': '"' })[e]!),
    ),
    sum: f('sum', 'iterable attribute start', { attribute: null, start: 0 }, (v: unknown, a: unknown, start: unknown) => {
      const get = a === null ? (x: unknown) => x : attrGetter(a);
      // Python's sum(): `+` from the start on (lists and tuples add up too), but never of strings.
      if (isStr(start)) throw new JinjaError("sum() can't sum strings [use ''.join(seq) instead]");
      return pyIterate(v).reduce((acc: unknown, x) => binary('+', acc, get(x)), start);
    }),
    title: f('title', 's', {}, (s: unknown) => titleFilter(text(s))),
    tojson: f('tojson', 'value indent', { indent: null }, (v: unknown, i: unknown) => new SafeString(htmlSafeJson(v, i))),
    trim: f('trim', 'value chars', { chars: null }, (v: unknown, chars: unknown) => methodOf(text(v), 'strip', { getattr, getitem })!(chars)),
    truncate: f('truncate', 's length killwords end leeway', { length: 255, killwords: false, end: '...', leeway: 5 }, (s: unknown, n: unknown, k: unknown, end: unknown, leeway: unknown) =>
      truncate(text(s), Number(n), pyBool(k), text(end), Number(leeway ?? 5)),
    ),
    unique: f('unique', 'value case_sensitive attribute', { case_sensitive: false, attribute: null }, (v: unknown, cs: unknown, a: unknown) => {
      const key = attrGetter(a, pyBool(cs) ? undefined : ignoreCase);
      const seen: unknown[] = [];
      return pyIterate(v).filter((item) => {
        const k = key(item);
        if (seen.some((s) => pyEquals(s, k))) return false;
        seen.push(k);
        return true;
      });
    }),
    upper: f('upper', 's', {}, (s: unknown) => text(s).toUpperCase()),
    urlencode: f('urlencode', 'value', {}, (v: unknown) => {
      if (isStr(v) || !(Array.isArray(v) || isDict(v))) return urlQuote(v, false);
      const pairs = isDict(v) ? Object.entries(v) : pyIterate(v).map((p) => pyIterate(p));
      return pairs.map(([k, x]) => `${urlQuote(k, true)}=${urlQuote(x, true)}`).join('&');
    }),
    urlize: refuse('urlize', 'it makes HTML links'),
    wordcount: f('wordcount', 's', {}, (s: unknown) => (text(s).match(/[\p{L}\p{N}_]+/gu) ?? []).length),
    wordwrap: refuse('wordwrap', "Python's textwrap is not reproduced"),
    xmlattr: refuse('xmlattr', 'it makes HTML attributes'),
    // dbt's own, which render as they are in SQL (they matter only when dbt reads YAML).
    as_text: f('as_text', 'value', {}, (v: unknown) => v),
    as_bool: f('as_bool', 'value', {}, (v: unknown) => v),
    as_native: f('as_native', 'value', {}, (v: unknown) => v),
    as_number: f('as_number', 'value', {}, (v: unknown) => v),
    is_list: f('is_list', 'value', {}, (v: unknown) => Array.isArray(v)),
  };
}

/** Jinja's tests, by name (`x is divisibleby 3`, `select('equalto', 1)`). */
function tests(env: Env): Record<string, (...args: unknown[]) => unknown> {
  const t = (name: string, params: string, fn: (...values: never[]) => boolean) => pyFunction(signature(name, params), fn);
  const compare = (op: string) => t(op, 'a b', (a: unknown, b: unknown) => compareChain(a, [op, b]));
  const eq = compare('==');
  const ne = compare('!=');
  const lt = compare('<');
  const le = compare('<=');
  const gt = compare('>');
  const ge = compare('>=');
  const isInteger = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
  /** `value % 2` as Jinja's odd and even tests compute it: for any number, True and False too. */
  const parity = (name: string, v: unknown): number => {
    if (!isNumeric(v)) throw new JinjaError(`the ${name} test needs a number: unsupported operand type(s) for %: '${typeName(v)}' and 'int'`);
    const n = Number(v);
    return ((n % 2) + 2) % 2;
  };
  return {
    boolean: t('boolean', 'value', (v: unknown) => typeof v === 'boolean'),
    callable: t('callable', 'value', (v: unknown) => typeof v === 'function'),
    defined: t('defined', 'value', (v: unknown) => v !== undefined),
    divisibleby: t('divisibleby', 'value num', (v: unknown, n: unknown) => Number(v) % Number(n) === 0),
    eq,
    equalto: eq,
    '==': eq,
    escaped: t('escaped', 'value', (v: unknown) => v instanceof SafeString),
    even: t('even', 'value', (v: unknown) => parity('even', v) === 0),
    false: t('false', 'value', (v: unknown) => v === false),
    filter: t('filter', 'value', (v: unknown) => isStr(v) && Object.hasOwn(env.filters, strOf(v))),
    float: t('float', 'value', (v: unknown) => isFloat(v)),
    ge,
    '>=': ge,
    gt,
    greaterthan: gt,
    '>': gt,
    in: t('in', 'value seq', (v: unknown, seq: unknown) => contains(v, seq)),
    integer: t('integer', 'value', (v: unknown) => isInteger(v)),
    iterable: t('iterable', 'value', (v: unknown) => isStr(v) || Array.isArray(v) || isDict(v) || (v instanceof PyObject && v.iterate() !== undefined)),
    le,
    '<=': le,
    lower: t('lower', 'value', (v: unknown) => isStr(v) && methodOf(v, 'islower', { getattr, getitem })!() === true),
    lt,
    lessthan: lt,
    '<': lt,
    mapping: t('mapping', 'value', (v: unknown) => isDict(v) || v instanceof DbtRelation || v instanceof Relation),
    ne,
    '!=': ne,
    none: t('none', 'value', (v: unknown) => v === null),
    number: t('number', 'value', (v: unknown) => isNumeric(v)),
    odd: t('odd', 'value', (v: unknown) => parity('odd', v) === 1),
    sameas: t('sameas', 'value other', (v: unknown, o: unknown) => v === o),
    sequence: t('sequence', 'value', (v: unknown) => isStr(v) || Array.isArray(v) || isDict(v)),
    string: t('string', 'value', (v: unknown) => isStr(v)),
    test: t('test', 'value', (v: unknown) => isStr(v) && Object.hasOwn(env.tests, strOf(v))),
    true: t('true', 'value', (v: unknown) => v === true),
    undefined: t('undefined', 'value', (v: unknown) => v === undefined),
    upper: t('upper', 'value', (v: unknown) => isStr(v) && methodOf(v, 'isupper', { getattr, getitem })!() === true),
  };
}

/**
 * The filters that read or change their value as text: given a relation, or text holding one,
 * they are refused (see relation-text.ts). `string`, `trim`, `join`, `safe` and the like pass
 * it on as it is.
 */
const TEXT_FILTERS: ReadonlySet<string> = new Set([
  'batch', 'capitalize', 'center', 'count', 'e', 'escape', 'first', 'float', 'forceescape', 'format', 'int', 'last', 'length', 'list', 'lower', 'pprint',
  'replace', 'reverse', 'slice', 'striptags', 'title', 'tojson', 'truncate', 'upper', 'urlencode', 'urlize', 'wordcount', 'wordwrap',
]);

/** The filters of text that take an undefined value as Jinja's Undefined prints, '', in a package's template. */
export const UNDEFINED_AS_TEXT: ReadonlySet<string> = new Set(['lower', 'upper', 'trim', 'title', 'capitalize', 'string']);

/** Puts Jinja's filters and tests into an environment, over Nunjucks' own of the same names. */
export function installFilters(environment: nunjucks.Environment): void {
  const env = environment as unknown as Env;
  for (const [name, fn] of Object.entries(filters(env))) {
    env.addFilter(name, TEXT_FILTERS.has(name) ? (v: unknown, ...rest: unknown[]) => (refuseRelationText(v, `|${name}`), fn(v, ...rest)) : fn);
    // In a package's template (see syntax.ts filterIn), an undefined value is text as Jinja's Undefined is: ''.
    if (UNDEFINED_AS_TEXT.has(name)) env.addFilter(`${name}?`, (v: unknown, ...rest: unknown[]) => fn(v === undefined ? '' : v, ...rest));
  }
  for (const [name, fn] of Object.entries(tests(env))) env.addTest(name, fn);
}


