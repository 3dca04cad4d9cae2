import { JinjaError } from './errors.js';
import { floatRepr } from '../../util/float-repr.js';
import { isDict, isFloat, isNumeric, isStr, isTuple, numberOf, numberRepr, pyRepr, pyStr, PyObject, strOf, typeName, WholeFloat } from './values.js';

/**
 * Python's two ways of formatting text: `'%s-%05.1f' % (a, b)` (and Jinja's `|format`) and
 * `'{} {name:>8}'.format(a, name=b)`. Numbers are formatted from their exact binary value
 * with round-half-even, as Python does (`'%.0f' % 2.5` is `2`, where toFixed says `3`).
 */

/** The exact decimal value of a finite double: |x| = digits × 10^-scale. */
function exactDecimal(x: number): { digits: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = hi >>> 20;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mantissa |= 1n << 52n;
    exp = biased - 1075;
  }
  if (exp >= 0) return { digits: mantissa << BigInt(exp), scale: 0 };
  return { digits: mantissa * 5n ** BigInt(-exp), scale: -exp };
}

/** digits / 10^drop, rounded half to even. */
function roundDrop(digits: bigint, drop: number): bigint {
  if (drop <= 0) return digits * 10n ** BigInt(-drop);
  const unit = 10n ** BigInt(drop);
  const q = digits / unit;
  const twice = (digits % unit) * 2n;
  if (twice > unit || (twice === unit && q % 2n === 1n)) return q + 1n;
  return q;
}

/** |x| with `precision` digits after the point (Python's 'f'). */
function fixed(x: number, precision: number): string {
  const { digits, scale } = exactDecimal(x);
  const q = roundDrop(digits, scale - precision).toString().padStart(precision + 1, '0');
  return precision === 0 ? q : `${q.slice(0, -precision)}.${q.slice(-precision)}`;
}

/** |x| as d.ddd (precision digits after the point) and its exponent (Python's 'e'). */
function scientific(x: number, precision: number): { mantissa: string; exp: number } {
  if (x === 0) return { mantissa: precision > 0 ? `0.${'0'.repeat(precision)}` : '0', exp: 0 };
  const { digits, scale } = exactDecimal(x);
  const length = digits.toString().length;
  let exp = length - 1 - scale;
  let q = roundDrop(digits, length - (precision + 1));
  if (q.toString().length > precision + 1) {
    q /= 10n;
    exp += 1;
  }
  const s = q.toString();
  return { mantissa: precision > 0 ? `${s[0]}.${s.slice(1)}` : s, exp };
}

const expText = (e: number) => `${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;

/**
 * Python's 'g'; with `noType`, the float form of format() given a precision but no type,
 * which keeps a digit after the point and turns to an exponent one digit sooner.
 */
function general(x: number, precision: number, alternate: boolean, noType: boolean): string {
  const p = precision === 0 ? 1 : precision;
  const { exp } = scientific(x, p - 1);
  const strip = (s: string) => (alternate || !s.includes('.') ? s : s.replace(/0+$/, '').replace(/\.$/, ''));
  if (exp >= -4 && exp < (noType ? p - 1 : p)) {
    const out = strip(fixed(x, Math.max(0, p - 1 - exp)));
    return noType && !out.includes('.') ? `${out}.0` : out;
  }
  return `${strip(scientific(x, p - 1).mantissa)}e${expText(exp)}`;
}

function nonFinite(x: number, upper: boolean): string | undefined {
  if (Number.isNaN(x)) return upper ? 'NAN' : 'nan';
  if (!Number.isFinite(x)) return upper ? 'INF' : 'inf';
  return undefined;
}

/** A float (or int) in one of Python's float presentations, without its sign. */
function floatBody(x: number, type: string, precision: number | undefined, alternate: boolean): string {
  const upper = type === type.toUpperCase() && type !== '%';
  const special = nonFinite(x, upper);
  if (special) return special;
  const a = Math.abs(x);
  let out: string;
  switch (type.toLowerCase()) {
    case 'f':
      out = fixed(a, precision ?? 6);
      if (alternate && !out.includes('.')) out += '.';
      break;
    case 'e': {
      const { mantissa, exp } = scientific(a, precision ?? 6);
      out = `${mantissa}${alternate && !mantissa.includes('.') ? '.' : ''}e${expText(exp)}`;
      break;
    }
    case 'g':
      out = general(a, precision ?? 6, alternate, false);
      break;
    case '%':
      return `${fixed(a * 100, precision ?? 6)}%`;
    default:
      throw new Error(`internal error: float type ${type}`);
  }
  return upper ? out.toUpperCase() : out;
}

function intBody(n: bigint, type: string, alternate: boolean): string {
  const a = n < 0n ? -n : n;
  switch (type) {
    case 'd':
    case 'i':
    case 'u':
    case 'n':
      return a.toString();
    case 'x':
      return (alternate ? '0x' : '') + a.toString(16);
    case 'X':
      return (alternate ? '0X' : '') + a.toString(16).toUpperCase();
    case 'o':
      return (alternate ? '0o' : '') + a.toString(8);
    case 'b':
      return (alternate ? '0b' : '') + a.toString(2);
    default:
      throw new Error(`internal error: int type ${type}`);
  }
}

const asInt = (x: number): bigint => BigInt(Math.trunc(x));

function pad(body: string, sign: string, width: number, align: string, fill: string, prefixLength = 0): string {
  const text = sign + body;
  const missing = width - [...text].length;
  if (missing <= 0) return text;
  switch (align) {
    case '<':
      return text + fill.repeat(missing);
    case '^':
      return fill.repeat(Math.floor(missing / 2)) + text + fill.repeat(Math.ceil(missing / 2));
    case '=':
      return sign + body.slice(0, prefixLength) + fill.repeat(missing) + body.slice(prefixLength);
    default:
      return fill.repeat(missing) + text;
  }
}

function signOf(negative: boolean, flag: string): string {
  if (negative) return '-';
  return flag === '+' ? '+' : flag === ' ' ? ' ' : '';
}

// ---- printf-style: 'text %s' % values -------------------------------------------------

const PRINTF = /%(?:\(([^)]*)\))?([#0\- +]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])?/g;

/** `format % values`: Python's printf-style formatting (and Jinja's `|format`). */
export function percentFormat(format: string, values: unknown): string {
  const mapping = isDict(values) ? values : undefined;
  const args = mapping ? [] : isTuple(values) ? [...values] : [values];
  let used = 0;
  const next = () => {
    if (used >= args.length) throw new JinjaError('not enough arguments for format string');
    return args[used++];
  };
  const out = format.replace(PRINTF, (whole, key: string | undefined, flags: string, width: string | undefined, precision: string | undefined, type: string | undefined) => {
    if (type === undefined) throw new JinjaError(`incomplete format: '${whole}'`);
    if (type === '%' && whole === '%%') return '%';
    const w = width === '*' ? Number(next()) : width === undefined ? 0 : Number(width);
    const p = precision === '*' ? Number(next()) : precision === undefined ? undefined : Number(precision);
    let value: unknown;
    if (key !== undefined) {
      if (!mapping) throw new JinjaError('format requires a mapping');
      if (!Object.hasOwn(mapping, key)) throw new JinjaError(`KeyError: ${pyRepr(key)}`);
      value = mapping[key];
    } else value = next();
    const left = flags.includes('-');
    const zero = flags.includes('0') && !left;
    const signFlag = flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
    const alternate = flags.includes('#');
    const align = left ? '<' : '>';
    switch (type) {
      case 's':
      case 'r':
      case 'a': {
        let s = type === 's' ? pyStr(value) : pyRepr(value);
        if (type === 'a') s = s.replace(/[^\x00-\x7f]/gu, (ch) => asciiEscape(ch));
        if (p !== undefined) s = s.slice(0, p);
        return pad(s, '', w, align, ' ');
      }
      case 'c': {
        const ch = typeof value === 'number' ? String.fromCodePoint(value) : isStr(value) && [...strOf(value)].length === 1 ? strOf(value) : undefined;
        if (ch === undefined) throw new JinjaError('%c requires int or char');
        return pad(ch, '', w, align, ' ');
      }
      case '%':
        return pad('%', '', w, align, ' ');
      default: {
        const x = numeric(value, `%${type} format: a real number is required, not ${typeName(value)}`);
        const integer = 'diouxX'.includes(type);
        if (integer && !Number.isFinite(x)) throw new JinjaError(`cannot convert float ${numberRepr(x)} to integer`);
        let body = integer ? intBody(asInt(x), type === 'i' || type === 'u' ? 'd' : type, alternate) : floatBody(x, type, p, alternate);
        const prefix = integer && alternate && type !== 'd' && type !== 'i' && type !== 'u' ? 2 : 0;
        if (integer && p !== undefined) body = body.slice(0, prefix) + body.slice(prefix).padStart(p, '0');
        const sign = signOf(x < 0 || Object.is(x, -0), signFlag);
        return zero ? pad(body, sign, w, '=', '0', prefix) : pad(body, sign, w, align, ' ');
      }
    }
  });
  // A list is a mapping to CPython's check (it has __getitem__): one left unused is no error ('3' % [1] is '3').
  const list = Array.isArray(values) && !isTuple(values);
  if (!mapping && !list && used < args.length) throw new JinjaError('not all arguments converted during string formatting');
  return out;
}

function numeric(v: unknown, message: string): number {
  const n = numberOf(v);
  if (n === undefined) throw new JinjaError(message);
  return n;
}

function asciiEscape(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

// ---- str.format ---------------------------------------------------------------------

const SPEC = /^(?:([\s\S])?([<>=^]))?([+\- ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/;

/** format(value, spec): Python's format-spec mini-language for str, int and float. */
export function formatValue(value: unknown, spec: string): string {
  if (value instanceof PyObject && !(value instanceof WholeFloat)) {
    const own = value.format(spec);
    if (own === undefined) throw new JinjaError(`unsupported format string passed to ${value.typeName}.__format__`);
    return own;
  }
  if (spec === '') return pyStr(value);
  const m = SPEC.exec(spec);
  if (!m) throw new JinjaError(`Invalid format specifier '${spec}' for object of type '${typeName(value)}'`);
  const [, fillChar, alignChar, signFlag = '', , alt, zero, widthText, grouping, precisionText, type] = m;
  const width = widthText === undefined ? 0 : Number(widthText);
  const precision = precisionText === undefined ? undefined : Number(precisionText);
  const alternate = alt !== undefined;
  const fill = fillChar ?? (zero && !alignChar ? '0' : ' ');
  if (isStr(value)) {
    if (type !== undefined && type !== 's') throw new JinjaError(`Unknown format code '${type}' for object of type 'str'`);
    if (signFlag || alternate || alignChar === '=' || grouping) throw new JinjaError(`Invalid format specifier '${spec}' for object of type 'str'`);
    let s = strOf(value);
    if (precision !== undefined) s = [...s].slice(0, precision).join('');
    return pad(s, '', width, alignChar ?? '<', fill);
  }
  if (!isNumeric(value)) {
    throw new JinjaError(`unsupported format string passed to ${typeName(value)}.__format__`);
  }
  const x = Number(value);
  const isInt = !isFloat(value);
  const align = alignChar ?? (zero && !fillChar ? '=' : '>');
  let body: string;
  let prefix = 0;
  if (type === 'c') {
    if (!isInt) throw new JinjaError("Unknown format code 'c' for object of type 'float'");
    return pad(String.fromCodePoint(x), '', width, alignChar ?? '<', fill);
  }
  if (type !== undefined && 'bdoxXn'.includes(type)) {
    if (!isInt) throw new JinjaError(`Unknown format code '${type}' for object of type 'float'`);
    body = intBody(BigInt(x), type, alternate);
    prefix = alternate && type !== 'd' && type !== 'n' ? 2 : 0;
  } else if (type === undefined && isInt && precision === undefined) {
    body = intBody(BigInt(x), 'd', false);
  } else if (type === undefined) {
    if (isInt && precision !== undefined) throw new JinjaError("Precision not allowed in integer format specifier");
    body = nonFinite(x, false) ?? (precision === undefined ? floatRepr(Math.abs(x)) : general(Math.abs(x), precision, alternate, true));
  } else {
    body = floatBody(x, type, precision, alternate);
  }
  if (grouping) body = group(body, grouping, prefix);
  const sign = signOf(x < 0 || Object.is(x, -0), signFlag);
  return pad(body, sign, width, align, fill, prefix);
}

/** Thousands separators in the integer part of a formatted number. */
function group(body: string, separator: string, prefix: number): string {
  const head = body.slice(0, prefix);
  const rest = body.slice(prefix);
  const m = /^(\d+)([\s\S]*)$/.exec(rest);
  if (!m) return body;
  return head + m[1].replace(/\B(?=(\d{3})+$)/g, separator) + m[2];
}

/** `'{} {x:>4}'.format(a, x=b)`: replacement fields by position, index, name, `.attr` and `[key]`, with `!r`/`!s` and a format spec. */
export function strFormat(format: string, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>, getattr: (obj: unknown, name: string) => unknown, getitem: (obj: unknown, key: unknown) => unknown): string {
  let auto = 0;
  let manual = false;
  let out = '';
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch === '}') {
      if (format[i + 1] !== '}') throw new JinjaError("Single '}' encountered in format string");
      out += '}';
      i += 2;
      continue;
    }
    if (ch !== '{') {
      out += ch;
      i++;
      continue;
    }
    if (format[i + 1] === '{') {
      out += '{';
      i += 2;
      continue;
    }
    // A field, with nested fields allowed in its spec ('{:{width}}').
    let depth = 1;
    let j = i + 1;
    while (j < format.length && depth > 0) {
      if (format[j] === '{') depth++;
      else if (format[j] === '}') depth--;
      j++;
    }
    if (depth > 0) throw new JinjaError("expected '}' before end of string");
    const field = format.slice(i + 1, j - 1);
    i = j;
    const fm = /^([^!:]*)(?:!([rsa]))?(?::([\s\S]*))?$/.exec(field);
    if (!fm) throw new JinjaError(`bad replacement field '{${field}}'`);
    const [, name, conversion, rawSpec = ''] = fm;
    const path = /^([^.[]*)((?:\.[^.[]+|\[[^\]]+\])*)$/.exec(name);
    if (!path) throw new JinjaError(`bad field name '${name}'`);
    let value: unknown;
    const head = path[1];
    if (head === '') {
      if (manual) throw new JinjaError('cannot switch from manual field specification to automatic field numbering');
      auto++;
      if (auto > args.length) throw new JinjaError(`Replacement index ${auto - 1} out of range for positional args tuple`);
      value = args[auto - 1];
    } else if (/^\d+$/.test(head)) {
      if (auto > 0) throw new JinjaError('cannot switch from automatic field numbering to manual field specification');
      manual = true;
      const n = Number(head);
      if (n >= args.length) throw new JinjaError(`Replacement index ${n} out of range for positional args tuple`);
      value = args[n];
    } else {
      if (!Object.hasOwn(kwargs, head)) throw new JinjaError(`KeyError: ${pyRepr(head)}`);
      value = kwargs[head];
    }
    for (const part of path[2].match(/\.[^.[]+|\[[^\]]+\]/g) ?? []) {
      if (part.startsWith('.')) value = getattr(value, part.slice(1));
      else {
        const key = part.slice(1, -1);
        value = getitem(value, /^\d+$/.test(key) ? Number(key) : key);
      }
    }
    if (conversion === 'r') value = pyRepr(value);
    else if (conversion === 's') value = pyStr(value);
    else if (conversion === 'a') value = pyRepr(value).replace(/[^\x00-\x7f]/gu, (c) => asciiEscape(c));
    const spec = rawSpec.includes('{') ? strFormat(rawSpec, args, kwargs, getattr, getitem) : rawSpec;
    out += formatValue(value, spec);
  }
  return out;
}

/** Python's round(x, n): to the nearest multiple of 10^-n, halves to even, from the exact value. */
export function pyRound(x: number, n: number): number {
  if (!Number.isFinite(x)) return x;
  const { digits, scale } = exactDecimal(x);
  const q = roundDrop(digits, scale - n);
  const value = Number(`${q}e${-n}`);
  return x < 0 ? -value : value;
}
