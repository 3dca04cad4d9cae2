import { visit } from 'yaml';
import { parsePyyaml } from '../../project/yaml-file.js';
import { pyFunction, signature } from './args.js';
import { PyDate, PyDateTime, yamlTimestamp } from './datetime.js';
import { JinjaError } from './errors.js';
import { isDict, isStr, isTuple, keyOfName, numberRepr, pyBool, strOf, typeName, WholeFloat } from './values.js';

/**
 * dbt's tojson/fromjson/toyaml/fromyaml and Jinja's |tojson, writing what Python's json.dumps
 * and PyYAML's safe_dump write (`{"a": 1, "b": [1, 2]}`, ASCII only; `a: 1` block YAML) and
 * reading as json.loads and yaml.safe_load read (YAML 1.1: `yes` is true, `2024-01-02` a date).
 * Where PyYAML's output is not reproduced (long lines it would fold), toyaml refuses.
 */

// ---- JSON --------------------------------------------------------------------------------

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function jsonNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return numberRepr(x);
}

function jsonKey(k: string | number | boolean | null): string {
  return jsonString(typeof k === 'string' ? k : k === null ? 'null' : typeof k === 'boolean' ? String(k) : jsonNumber(k));
}

/** Python's json.dumps(value, sort_keys=..., indent=...). */
export function jsonDumps(value: unknown, options: { sortKeys: boolean; indent?: number | string }): string {
  const { sortKeys, indent } = options;
  const step = indent === undefined ? undefined : typeof indent === 'number' ? ' '.repeat(indent) : indent;
  const write = (v: unknown, depth: number): string => {
    if (v === null) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return jsonNumber(v);
    if (v instanceof WholeFloat) return v.repr();
    if (isStr(v)) return jsonString(strOf(v));
    const open = (items: string[], l: string, r: string) => {
      if (items.length === 0) return l + r;
      if (step === undefined) return `${l}${items.join(', ')}${r}`;
      const inner = `\n${step.repeat(depth + 1)}`;
      return `${l}${inner}${items.join(`,${inner}`)}\n${step.repeat(depth)}${r}`;
    };
    if (Array.isArray(v)) return open(v.map((x) => write(x, depth + 1)), '[', ']');
    if (isDict(v)) {
      const keys = sortKeys ? sortedKeys(Object.keys(v)) : Object.keys(v);
      return open(keys.map((k) => `${jsonKey(jsonKeyText(k))}: ${write(v[k], depth + 1)}`), '{', '}');
    }
    throw new JinjaError(`Object of type ${typeName(v)} is not JSON serializable`);
  };
  return write(value, 0);
}

/** A dict's key as json.dumps writes it: None, a bool and a number as their JSON text. */
function jsonKeyText(name: string): string {
  const key = keyOfName(name);
  if (isStr(key)) return name;
  if (key !== null && typeof key === 'object') throw new JinjaError(`keys must be str, int, float, bool or None, not ${typeName(key)}`);
  return key === null ? 'null' : typeof key === 'boolean' ? String(key) : jsonNumber(key as number);
}

/**
 * A dict's keys (their names) in the order Python's sorted() puts them, as json.dumps with
 * sort_keys does: texts by their characters, numbers and bools by value; keys of both kinds,
 * or None among others, cannot be compared, as in Python.
 */
function sortedKeys(names: readonly string[]): string[] {
  const keys = names.map((name) => ({ name, key: keyOfName(name) }));
  if (keys.every((k) => isStr(k.key))) return [...names].sort();
  const numeric = (k: unknown): k is number | boolean => typeof k === 'number' || typeof k === 'boolean';
  if (keys.every((k) => numeric(k.key))) return keys.sort((a, b) => Number(a.key) - Number(b.key)).map((k) => k.name);
  if (keys.length <= 1) return [...names];
  const kinds = [...new Set(keys.map((k) => (k.key === null ? 'NoneType' : isStr(k.key) ? 'str' : typeName(k.key))))];
  throw new JinjaError(`'<' not supported between instances of '${kinds[0]}' and '${kinds[1] ?? kinds[0]}': tojson sorts a dict's keys, and keys of these kinds cannot be compared`);
}

/** Jinja's |tojson: keys sorted, and `<`, `>`, `&`, `'` escaped for HTML. */
export function htmlSafeJson(value: unknown, indent: unknown): string {
  const i = indent === null || indent === undefined ? undefined : typeof indent === 'number' ? indent : isStr(indent) ? strOf(indent) : undefined;
  return jsonDumps(value, { sortKeys: true, indent: i })
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/'/g, '\\u0027');
}

/** A JSON string (passed over), or a bare NaN or Infinity, or a number written as a float (a point or an exponent). */
const MARKED = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/g;

/**
 * Python's json.loads, which reads NaN and Infinity too, and a number written as a float as a
 * float (`1.0` is not `1`: see WholeFloat); undefined where it raises ValueError.
 */
export function jsonLoads(s: string): { value: unknown } | undefined {
  const floatText = (t: string) => /[.eE]/.test(t) && Number.isInteger(Number(t));
  let marker: string | undefined;
  if (s.includes('NaN') || s.includes('Infinity') || (/[.eE]/.test(s) && [...s.matchAll(MARKED)].some((m) => m[2] !== undefined && floatText(m[2])))) {
    // Each becomes a string JSON reads, starting with a control character no string of the
    // text has: JSON writes one only as its escape, which the text then shows.
    const lower = s.toLowerCase();
    const code = Array.from({ length: 32 }, (_, i) => i).find((i) => !lower.includes(`\\u00${i.toString(16).padStart(2, '0')}`));
    if (code !== undefined) marker = String.fromCharCode(code);
  }
  try {
    if (marker === undefined) return { value: JSON.parse(s) as unknown };
    const escaped = `\\u00${marker.charCodeAt(0).toString(16).padStart(2, '0')}`;
    const marked = s.replace(MARKED, (whole, bare: string | undefined, number: string | undefined) =>
      bare ? `"${escaped}${bare}"` : number !== undefined && floatText(number) ? `"${escaped}F${number}"` : whole,
    );
    const value: unknown = JSON.parse(marked, (_k, v: unknown) => {
      if (typeof v !== 'string' || !v.startsWith(marker)) return v;
      if (v.startsWith('F', 1)) return new WholeFloat(Number(v.slice(2)));
      return v.endsWith('NaN') ? NaN : v.startsWith('-', 1) ? -Infinity : Infinity;
    });
    return { value };
  } catch {
    return undefined;
  }
}

// ---- YAML --------------------------------------------------------------------------------

/** The implicit types of YAML 1.1 (PyYAML's resolvers): a string that reads as one is quoted. */
const RESOLVES = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
];

const WIDTH = 80;

interface ScalarStyle {
  /** Plain (unquoted); otherwise single-quoted. */
  readonly plain: boolean;
}

/** PyYAML's analyze_scalar, for the styles pipe writes (plain, single-quoted; never double-quoted or multi-line). */
function scalarStyle(s: string): ScalarStyle | undefined {
  if (s === '') return { plain: false };
  if (/[^\x20-\x7e]/.test(s)) return undefined;
  let blockIndicators = s.startsWith('---') || s.startsWith('...');
  const space = (i: number) => i < 0 || i >= s.length || s[i] === ' ';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ('?:'.includes(ch) && space(1)) blockIndicators = true;
      if (ch === '-' && space(1)) blockIndicators = true;
    } else {
      if (ch === ':' && space(i + 1)) blockIndicators = true;
      if (ch === '#' && space(i - 1)) blockIndicators = true;
    }
  }
  const edgeSpace = s.startsWith(' ') || s.endsWith(' ');
  return { plain: !edgeSpace && !blockIndicators && !RESOLVES.some((r) => r.test(s)) };
}

class Unrepresentable extends Error {}

/** A scalar as PyYAML writes it at `column`; a string PyYAML would fold over lines is refused. */
function yamlScalar(v: unknown, column: number, isKey: boolean): { text: string; plainRoot: boolean } {
  if (v === null || v === undefined) {
    if (v === undefined) throw new Unrepresentable('an undefined value');
    return { text: 'null', plainRoot: true };
  }
  if (typeof v === 'boolean') return { text: v ? 'true' : 'false', plainRoot: true };
  if (v instanceof WholeFloat) {
    const t = v.repr();
    return { text: !t.includes('.') && t.includes('e') ? t.replace('e', '.0e') : t, plainRoot: true };
  }
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { text: '.nan', plainRoot: true };
    if (!Number.isFinite(v)) return { text: v > 0 ? '.inf' : '-.inf', plainRoot: true };
    let t = numberRepr(v).toLowerCase();
    if (!t.includes('.') && t.includes('e')) t = t.replace('e', '.0e');
    return { text: t, plainRoot: true };
  }
  if (v instanceof PyDate) return { text: v.isoformat(), plainRoot: true };
  if (v instanceof PyDateTime) return { text: (v.getattr('isoformat') as (sep: string) => string)(' '), plainRoot: true };
  if (!isStr(v)) throw new Unrepresentable(`a value of type ${typeName(v)}`);
  const s = strOf(v);
  const style = scalarStyle(s);
  if (!style || s.includes('\n')) throw new JinjaError('toyaml of a string with line breaks or characters outside printable ASCII is not supported by pipe (PyYAML writes it with escapes)');
  if (isKey && s.length >= 128) throw new JinjaError('toyaml of a mapping key of 128 characters or more is not supported by pipe');
  const text = style.plain && !(isKey && s === '') ? s : `'${s.replace(/'/g, "''")}'`;
  // PyYAML breaks a line at a space once it is past the width (never inside a key).
  if (!isKey && s.includes(' ') && column + text.length > WIDTH) {
    throw new JinjaError(`toyaml of a string this long is not supported by pipe (PyYAML folds it over lines past ${WIDTH} characters)`);
  }
  return { text, plainRoot: style.plain };
}

const isCollection = (v: unknown): v is unknown[] | Record<string, unknown> => Array.isArray(v) || isDict(v);
const isEmpty = (v: unknown[] | Record<string, unknown>) => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

/** PyYAML's safe_dump(value, sort_keys=...) with its defaults: block style, indent 2, sequences in mappings not indented. */
export function yamlDump(value: unknown, sortKeys: boolean): string {
  const lines: string[] = [];
  const inline = (v: unknown, column: number) => (isCollection(v) ? (Array.isArray(v) ? '[]' : '{}') : yamlScalar(v, column, false).text);
  /** Writes `v` starting after `first` (the start of its first line); later lines start at `indent`. */
  const write = (v: unknown, indent: number, first: string): void => {
    const pad = ' '.repeat(indent);
    if (!isCollection(v) || isEmpty(v)) {
      lines.push(first + inline(v, first.length));
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => write(item, indent + 2, `${i === 0 ? first : pad}- `));
      return;
    }
    (sortKeys ? Object.keys(v).sort() : Object.keys(v)).forEach((k, i) => {
      if (k === '') throw new JinjaError("toyaml of a mapping with an empty key is not supported by pipe (PyYAML writes it as a complex key)");
      if (!isStr(keyOfName(k))) throw new JinjaError('toyaml of a mapping with a key other than str is not supported by pipe: make the keys strings');
      const head = `${i === 0 ? first : pad}${yamlScalar(k, indent, true).text}:`;
      const item = v[k];
      if (!isCollection(item) || isEmpty(item)) lines.push(`${head} ${inline(item, head.length + 1)}`);
      else {
        lines.push(head);
        // A sequence under a key stands at the key's indent, a mapping two further in.
        const at = Array.isArray(item) ? indent : indent + 2;
        write(item, at, ' '.repeat(at));
      }
    });
  };
  if (!isCollection(value) || isEmpty(value)) {
    const plain = !isCollection(value) && yamlScalar(value, 0, false).plainRoot;
    // A plain scalar alone is an open-ended document, which PyYAML closes with '...'.
    return plain ? `${inline(value, 0)}\n...\n` : `${inline(value, 0)}\n`;
  }
  write(value, 0, '');
  return `${lines.join('\n')}\n`;
}

/** yaml.safe_load: YAML 1.1, timestamps as dates; undefined where PyYAML raises. */
function yamlLoad(s: string): { value: unknown } | undefined {
  const doc = parsePyyaml(s, { uniqueKeys: false, timestamps: true, wholeFloat: (v) => new WholeFloat(v) });
  if (doc.errors.length > 0) return undefined;
  visit(doc, {
    Scalar(_key, scalar) {
      if (scalar.value instanceof Date && typeof scalar.source === 'string') scalar.value = yamlTimestamp(scalar.source) ?? scalar.value;
    },
  });
  return { value: toPython(doc.toJS({ maxAliasCount: 1000 })) };
}

function toPython(v: unknown): unknown {
  if (v === undefined) return null;
  if (Array.isArray(v)) return v.map(toPython);
  if (v instanceof Date) return PyDateTime.fromEpochMs(v.getTime(), null);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPython(x)]));
  if (v instanceof Set) return [...v].map(toPython);
  if (typeof v === 'bigint') return Number(v);
  if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPython(x)]));
  return v;
}

/** dbt's fromjson/tojson/fromyaml/toyaml functions. */
export function serializationFunctions(): Record<string, (...args: unknown[]) => unknown> {
  return {
    tojson: pyFunction(signature('tojson', 'value default sort_keys', { default: null, sort_keys: false }), (v: unknown, _fallback: unknown, sortKeys: unknown) =>
      // dbt answers a ValueError with the default; json.dumps raises none for what pipe's templates hold.
      jsonDumps(v, { sortKeys: pyBool(sortKeys) }),
    ),
    fromjson: pyFunction(signature('fromjson', 'string default', { default: null }), (s: unknown, fallback: unknown) => {
      if (!isStr(s)) throw new JinjaError(`the JSON object must be str, not ${typeName(s)}`);
      const parsed = jsonLoads(strOf(s));
      return parsed ? parsed.value : fallback;
    }),
    toyaml: pyFunction(signature('toyaml', 'value default sort_keys', { default: null, sort_keys: false }), (v: unknown, fallback: unknown, sortKeys: unknown) => {
      try {
        return yamlDump(isTuple(v) ? [...v] : v, pyBool(sortKeys));
      } catch (e) {
        // PyYAML's RepresenterError, which dbt answers with the default.
        if (e instanceof Unrepresentable) return fallback;
        throw e;
      }
    }),
    fromyaml: pyFunction(signature('fromyaml', 'value default', { default: null }), (s: unknown, fallback: unknown) => {
      if (!isStr(s)) return fallback;
      const parsed = yamlLoad(strOf(s));
      return parsed ? parsed.value : fallback;
    }),
  };
}
