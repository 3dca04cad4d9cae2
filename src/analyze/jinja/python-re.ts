import { bind, pyFunction, signature } from './args.js';
import { JinjaError } from './errors.js';
import { isStr, PyObject, pyRepr, pyStr, strOf, tuple, typeName } from './values.js';

/**
 * dbt's `modules.re`: Python's re module over JavaScript's RegExp. Python's pattern syntax
 * is translated where the meaning can be kept exactly (`(?P<name>…)`, `\A`, `\Z`, Python's
 * `$` before a final newline, `.` that stops only at `\n`, Unicode `\w`/`\d`/`\s`/`\b`,
 * `{,n}`, a literal `{`), and refused where it cannot (scoped flags, conditionals, atomic
 * groups, possessive quantifiers, \N{…}). Matching walks the string as Python does, also
 * for empty matches, and replacement templates are Python's (`\1`, `\g<name>`).
 */

const FLAGS = { I: 2, L: 4, M: 8, S: 16, U: 32, X: 64, A: 256 } as const;
const FLAG_OF: Readonly<Record<string, number>> = { i: FLAGS.I, L: FLAGS.L, m: FLAGS.M, s: FLAGS.S, u: FLAGS.U, x: FLAGS.X, a: FLAGS.A };

const WORD = '\\p{L}\\p{N}_';
const SPACE = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

interface Translated {
  readonly source: string;
  readonly ignoreCase: boolean;
  readonly groups: number;
  readonly names: readonly (string | undefined)[];
}

function refuse(pattern: string, what: string): never {
  throw new JinjaError(`the regular expression ${pyRepr(pattern)} uses ${what}, which pipe cannot translate to its regex engine`);
}

const codePoint = (cp: number) => `\\u{${cp.toString(16)}}`;

/** Python's pattern syntax as a JavaScript pattern for the `u` flag. */
export function translate(pattern: string, flags: number): Translated {
  let f = flags;
  let i = 0;
  // Global inline flags stand at the very start in Python 3.11.
  for (let m = /^\(\?([aiLmsux]+)\)/.exec(pattern.slice(i)); m; m = /^\(\?([aiLmsux]+)\)/.exec(pattern.slice(i))) {
    for (const c of m[1]) f |= FLAG_OF[c];
    i += m[0].length;
  }
  if (f & FLAGS.L) refuse(pattern, 're.LOCALE');
  const ascii = (f & FLAGS.A) !== 0;
  const verbose = (f & FLAGS.X) !== 0;
  const multiline = (f & FLAGS.M) !== 0;
  const dotall = (f & FLAGS.S) !== 0;
  const word = ascii ? 'A-Za-z0-9_' : WORD;
  const space = ascii ? '\\t-\\r ' : SPACE;
  let out = '';
  let groups = 0;
  const names: (string | undefined)[] = [undefined];
  const openGroups: number[] = [];

  const classEscape = (e: string, inClass: boolean): string | undefined => {
    switch (e) {
      case 'd':
        return ascii ? '0-9' : '\\p{Nd}';
      case 'w':
        return word;
      case 's':
        return space;
      case 'D':
        if (inClass && ascii) refuse(pattern, '\\D inside [...] with re.ASCII');
        return inClass ? '\\P{Nd}' : undefined;
      default:
        return undefined;
    }
  };

  /** An escape after the backslash at pattern[i]; returns the JavaScript text and advances i. */
  const escape = (inClass: boolean): string => {
    const e = pattern[i + 1];
    if (e === undefined) refuse(pattern, 'a backslash at its end');
    i += 2;
    const simple: Record<string, string> = { n: '\\n', t: '\\t', r: '\\r', f: '\\f', v: '\\v', a: '\\x07' };
    if (Object.hasOwn(simple, e)) return simple[e];
    if (e === 'b' && inClass) return '\\x08';
    const cls = classEscape(e, inClass);
    if (cls !== undefined) return inClass ? cls : `[${cls}]`;
    if (!inClass) {
      switch (e) {
        case 'D':
          return ascii ? '[^0-9]' : '\\P{Nd}';
        case 'W':
          return `[^${word}]`;
        case 'S':
          return `[^${space}]`;
        case 'b':
          return ascii ? '\\b' : `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
        case 'B':
          return ascii ? '\\B' : `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;
        case 'A':
          return '(?<![\\s\\S])';
        case 'Z':
          return '(?![\\s\\S])';
        default:
          break;
      }
    } else if (e === 'W' || e === 'S') refuse(pattern, `\\${e} inside [...]`);
    if (e === 'x' || e === 'u' || e === 'U') {
      const size = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = pattern.slice(i, i + size);
      if (!new RegExp(`^[0-9a-fA-F]{${size}}$`).test(hex)) refuse(pattern, `an incomplete escape \\${e}${hex}`);
      i += size;
      return codePoint(parseInt(hex, 16));
    }
    if (/[0-7]/.test(e) && (e === '0' || inClass || /^[0-7]{2}/.test(pattern.slice(i)))) {
      // An octal escape: \0, \0oo, or three octal digits.
      let digits = e;
      while (digits.length < 3 && /[0-7]/.test(pattern[i] ?? '')) digits += pattern[i++];
      return codePoint(parseInt(digits, 8));
    }
    if (/[1-9]/.test(e)) {
      let digits = e;
      if (/[0-9]/.test(pattern[i] ?? '')) digits += pattern[i++];
      const n = Number(digits);
      if (n > groups || openGroups.includes(n)) refuse(pattern, `a reference to group ${n} before it is closed`);
      return `(?:\\${n})`;
    }
    if (e === 'N') refuse(pattern, '\\N{...}');
    if (/[A-Za-z0-9]/.test(e)) throw new JinjaError(`bad escape \\${e} in the regular expression ${pyRepr(pattern)}`);
    return /[\^$\\.*+?()[\]{}|/-]/.test(e) ? `\\${e}` : e === ' ' || e === '#' ? e : codePoint(e.codePointAt(0)!);
  };

  const charClass = (): string => {
    const start = i;
    i++;
    let cls = '[';
    if (pattern[i] === '^') {
      cls += '^';
      i++;
    }
    // A ']' first is a literal in Python.
    if (pattern[i] === ']') {
      cls += '\\]';
      i++;
    }
    while (i < pattern.length && pattern[i] !== ']') {
      const ch = pattern[i];
      if (ch === '\\') cls += escape(true);
      else {
        cls += ch === '[' ? '\\[' : ch === '/' ? '\\/' : ch;
        i++;
      }
    }
    if (i >= pattern.length) throw new JinjaError(`unterminated character set at position ${start} in the regular expression ${pyRepr(pattern)}`);
    i++;
    return `${cls}]`;
  };

  while (i < pattern.length) {
    const ch = pattern[i];
    if (verbose && /\s/.test(ch)) {
      i++;
      continue;
    }
    if (verbose && ch === '#') {
      while (i < pattern.length && pattern[i] !== '\n') i++;
      continue;
    }
    switch (ch) {
      case '\\':
        out += escape(false);
        continue;
      case '[':
        out += charClass();
        continue;
      case '.':
        out += dotall ? '[\\s\\S]' : '[^\\n]';
        i++;
        continue;
      case '^':
        out += multiline ? '(?:(?<![\\s\\S])|(?<=\\n))' : '(?<![\\s\\S])';
        i++;
        continue;
      case '$':
        out += multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
        i++;
        continue;
      case '(': {
        const rest = pattern.slice(i);
        const named = /^\(\?P<([^>]+)>/.exec(rest);
        if (named) {
          groups++;
          names.push(named[1]);
          openGroups.push(groups);
          out += `(?<${named[1]}>`;
          i += named[0].length;
          continue;
        }
        const ref = /^\(\?P=([^)]+)\)/.exec(rest);
        if (ref) {
          out += `\\k<${ref[1]}>`;
          i += ref[0].length;
          continue;
        }
        if (rest.startsWith('(?#')) {
          const end = pattern.indexOf(')', i);
          i = end < 0 ? pattern.length : end + 1;
          continue;
        }
        const plain = /^\(\?(?::|=|!|<=|<!)/.exec(rest);
        if (plain) {
          out += plain[0];
          i += plain[0].length;
          openGroups.push(0);
          continue;
        }
        if (rest.startsWith('(?')) {
          if (/^\(\?[aiLmsux-]*[:)]/.test(rest)) refuse(pattern, 'flags for part of the pattern (?flags:...)');
          if (rest.startsWith('(?(')) refuse(pattern, 'a conditional group (?(...)...)');
          if (rest.startsWith('(?>')) refuse(pattern, 'an atomic group (?>...)');
          if (rest.startsWith('(?<')) {
            // JavaScript's named group syntax, which Python 3.11 does not read as one.
            throw new JinjaError(`unknown extension ?<${rest[3] ?? ''} in the regular expression ${pyRepr(pattern)}`);
          }
          throw new JinjaError(`unknown extension ${rest.slice(1, 3)} in the regular expression ${pyRepr(pattern)}`);
        }
        groups++;
        names.push(undefined);
        openGroups.push(groups);
        out += '(';
        i++;
        continue;
      }
      case ')':
        openGroups.pop();
        out += ')';
        i++;
        continue;
      case '{': {
        const q = /^\{(\d*)(,?)(\d*)\}/.exec(pattern.slice(i));
        if (q && (q[1] !== '' || q[3] !== '')) {
          out += `{${q[1] || '0'}${q[2]}${q[3]}}`;
          i += q[0].length;
        } else {
          out += '\\{';
          i++;
        }
        if (pattern[i] === '+') refuse(pattern, 'a possessive quantifier');
        continue;
      }
      case '}':
        out += '\\}';
        i++;
        continue;
      case '*':
      case '+':
      case '?':
        out += ch;
        i++;
        if (pattern[i] === '+') refuse(pattern, 'a possessive quantifier');
        continue;
      case '/':
        out += '\\/';
        i++;
        continue;
      default:
        out += ch;
        i++;
    }
  }
  return { source: out, ignoreCase: (f & FLAGS.I) !== 0, groups, names };
}

/** A string's UTF-16 offsets as Python's code point positions. */
function pyIndex(s: string, utf16: number): number {
  if (!/[\uD800-\uDFFF]/.test(s)) return utf16;
  return [...s.slice(0, utf16)].length;
}

class PyPattern extends PyObject {
  readonly typeName = 'Pattern';
  readonly search: RegExp;
  readonly sticky: RegExp;
  readonly full: RegExp;
  private readonly nonEmpty = new Map<number, RegExp>();

  constructor(
    readonly pattern: string,
    readonly flags: number,
    readonly t: Translated,
  ) {
    super();
    const f = `du${t.ignoreCase ? 'i' : ''}`;
    try {
      this.search = new RegExp(t.source, `g${f}`);
      this.sticky = new RegExp(t.source, `y${f}`);
      this.full = new RegExp(`(?:${t.source})(?![\\s\\S])`, `y${f}`);
    } catch (e) {
      const why = (e as Error).message.replace(/^Invalid regular expression: \/[\s\S]*\/[a-z]*: /, '');
      throw new JinjaError(`the regular expression ${pyRepr(pattern)} cannot be read: ${why}`);
    }
  }

  /** A match at `at` that is not empty (how Python goes on after an empty match), if there is one. */
  private nonEmptyAt(s: string, at: number): RegExpExecArray | null {
    let re = this.nonEmpty.get(at);
    if (!re) {
      re = new RegExp(`(?:${this.t.source})(?<=(?<![\\s\\S])[\\s\\S]{${at + 1},})`, this.sticky.flags);
      if (this.nonEmpty.size < 64) this.nonEmpty.set(at, re);
    }
    re.lastIndex = at;
    return re.exec(s);
  }

  /** Every match, as Python's finditer walks the string. */
  matches(s: string, limit = Infinity): RegExpExecArray[] {
    const out: RegExpExecArray[] = [];
    let at = 0;
    let mustAdvance = false;
    while (at <= s.length && out.length < limit) {
      let m: RegExpExecArray | null = null;
      if (mustAdvance) m = this.nonEmptyAt(s, at);
      if (!m) {
        this.search.lastIndex = mustAdvance ? at + (s.codePointAt(at)! > 0xffff ? 2 : 1) : at;
        if (this.search.lastIndex > s.length) break;
        m = this.search.exec(s);
      }
      if (!m) break;
      out.push(m);
      const end = m.index + m[0].length;
      mustAdvance = m[0].length === 0;
      at = end;
    }
    return out;
  }

  repr(): string {
    return `re.compile(${pyRepr(this.pattern)}${this.flags ? `, ${this.flags}` : ''})`;
  }

  override getattr(name: string): unknown {
    const methods = patternMethods(this);
    if (Object.hasOwn(methods, name)) return methods[name];
    switch (name) {
      case 'pattern':
        return this.pattern;
      case 'flags':
        return this.flags | FLAGS.U;
      case 'groups':
        return this.t.groups;
      case 'groupindex':
        return Object.fromEntries(this.t.names.flatMap((n, i) => (n ? [[n, i]] : [])));
      default:
        return undefined;
    }
  }
}

class PyMatch extends PyObject {
  readonly typeName = 'Match';
  constructor(
    readonly m: RegExpExecArray,
    readonly pattern: PyPattern,
    readonly input: string,
  ) {
    super();
  }
  private index(g: unknown): number {
    if (typeof g === 'number' && Number.isInteger(g) && g >= 0 && g <= this.pattern.t.groups) return g;
    if (isStr(g)) {
      const i = this.pattern.t.names.indexOf(strOf(g));
      if (i > 0) return i;
    }
    throw new JinjaError('IndexError: no such group');
  }
  group(g: unknown): string | null {
    return this.m[this.index(g)] ?? null;
  }
  span(g: unknown): [number, number] {
    const i = this.index(g);
    const at = this.m.indices?.[i];
    if (!at) return [-1, -1];
    return [pyIndex(this.input, at[0]), pyIndex(this.input, at[1])];
  }
  repr(): string {
    const [a, b] = this.span(0);
    return `<re.Match object; span=(${a}, ${b}), match=${pyRepr(this.m[0])}>`;
  }
  override getitem(key: unknown): unknown {
    return this.group(key);
  }
  override getattr(name: string): unknown {
    const groups = (fallback: unknown) => Array.from({ length: this.pattern.t.groups }, (_, i) => this.m[i + 1] ?? fallback);
    switch (name) {
      case 'group':
        return (...args: unknown[]) => {
          const [wanted] = bind(signature('group', '*args'), args) as [unknown[]];
          if (wanted.length === 0) return this.group(0);
          if (wanted.length === 1) return this.group(wanted[0]);
          return tuple(wanted.map((g) => this.group(g)));
        };
      case 'groups':
        return pyFunction(signature('groups', 'default', { default: null }), (d: unknown) => tuple(groups(d)));
      case 'groupdict':
        return pyFunction(signature('groupdict', 'default', { default: null }), (d: unknown) =>
          Object.fromEntries(this.pattern.t.names.flatMap((n, i) => (n ? [[n, this.m[i] ?? d]] : []))),
        );
      case 'start':
        return pyFunction(signature('start', 'group', { group: 0 }), (g: unknown) => this.span(g)[0]);
      case 'end':
        return pyFunction(signature('end', 'group', { group: 0 }), (g: unknown) => this.span(g)[1]);
      case 'span':
        return pyFunction(signature('span', 'group', { group: 0 }), (g: unknown) => tuple(this.span(g)));
      case 'expand':
        return pyFunction(signature('expand', 'template'), (t: unknown) => expandTemplate(this, pyStr(t)));
      case 'string':
        return this.input;
      case 're':
        return this.pattern;
      case 'pos':
        return 0;
      case 'endpos':
        return [...this.input].length;
      case 'lastindex': {
        const last = groups(undefined).reduce<number | null>((acc, v, i) => (v !== undefined ? i + 1 : acc), null);
        return last;
      }
      default:
        return undefined;
    }
  }
}

/** Python's replacement template: `\1`, `\g<1>`, `\g<name>`, and the escapes of a string. */
function expandTemplate(m: PyMatch, template: string): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = template[++i];
    if (e === undefined) throw new JinjaError('bad escape (end of pattern) in the replacement');
    if (e === 'g') {
      const g = /^<([^>]*)>/.exec(template.slice(i + 1));
      if (!g) throw new JinjaError('missing < in the replacement \\g');
      const ref = /^\d+$/.test(g[1]) ? Number(g[1]) : g[1];
      out += m.group(ref) ?? '';
      i += g[0].length;
    } else if (e === '0') {
      let digits = '0';
      while (digits.length < 3 && /[0-7]/.test(template[i + 1] ?? '')) digits += template[++i];
      out += String.fromCodePoint(parseInt(digits, 8));
    } else if (/[1-9]/.test(e)) {
      // Three octal digits are a character; otherwise one or two digits name a group.
      if (/[0-7]/.test(e) && /^[0-7]{2}/.test(template.slice(i + 1))) {
        out += String.fromCodePoint(parseInt(e + template.slice(i + 1, i + 3), 8));
        i += 2;
      } else {
        let digits = e;
        if (/[0-9]/.test(template[i + 1] ?? '')) digits += template[++i];
        out += m.group(Number(digits)) ?? '';
      }
    } else {
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b', '\\': '\\' };
      if (Object.hasOwn(simple, e)) out += simple[e];
      else if (/[A-Za-z]/.test(e)) throw new JinjaError(`bad escape \\${e} in the replacement`);
      else out += `\\${e}`;
    }
  }
  return out;
}

function compile(pattern: unknown, flags: unknown): PyPattern {
  if (pattern instanceof PyPattern) {
    if (flags) throw new JinjaError('cannot process flags argument with a compiled pattern');
    return pattern;
  }
  if (!isStr(pattern)) throw new JinjaError(`first argument must be string or compiled pattern, not ${typeName(pattern)}`);
  const f = Number(flags ?? 0);
  const source = strOf(pattern);
  return new PyPattern(source, f, translate(source, f));
}

function subject(s: unknown): string {
  if (!isStr(s)) throw new JinjaError(`expected string, got ${typeName(s)}`);
  return strOf(s);
}

function substitute(p: PyPattern, repl: unknown, s: string, count: unknown): [string, number] {
  const limit = Number(count) > 0 ? Number(count) : Infinity;
  const replace =
    typeof repl === 'function'
      ? (m: PyMatch) => {
          const r = (repl as (m: PyMatch) => unknown)(m);
          if (!isStr(r)) throw new JinjaError(`expected str instance, ${typeName(r)} found`);
          return strOf(r);
        }
      : (m: PyMatch) => expandTemplate(m, subject(repl));
  let out = '';
  let at = 0;
  const found = p.matches(s, limit);
  for (const m of found) {
    out += s.slice(at, m.index) + replace(new PyMatch(m, p, s));
    at = m.index + m[0].length;
  }
  return [out + s.slice(at), found.length];
}

function patternMethods(p: PyPattern): Record<string, (...args: unknown[]) => unknown> {
  const one = (re: RegExp, s: string) => {
    re.lastIndex = 0;
    const m = re.exec(s);
    return m ? new PyMatch(m, p, s) : null;
  };
  return {
    search: pyFunction(signature('search', 'string'), (s: unknown) => one(p.search, subject(s))),
    match: pyFunction(signature('match', 'string'), (s: unknown) => one(p.sticky, subject(s))),
    fullmatch: pyFunction(signature('fullmatch', 'string'), (s: unknown) => one(p.full, subject(s))),
    findall: pyFunction(signature('findall', 'string'), (s: unknown) => {
      const text = subject(s);
      return p.matches(text).map((m) => {
        if (p.t.groups === 0) return m[0];
        if (p.t.groups === 1) return m[1] ?? '';
        return tuple(Array.from({ length: p.t.groups }, (_, i) => m[i + 1] ?? ''));
      });
    }),
    finditer: pyFunction(signature('finditer', 'string'), (s: unknown) => {
      const text = subject(s);
      return p.matches(text).map((m) => new PyMatch(m, p, text));
    }),
    sub: pyFunction(signature('sub', 'repl string count', { count: 0 }), (r: unknown, s: unknown, c: unknown) => substitute(p, r, subject(s), c)[0]),
    subn: pyFunction(signature('subn', 'repl string count', { count: 0 }), (r: unknown, s: unknown, c: unknown) => tuple(substitute(p, r, subject(s), c))),
    split: pyFunction(signature('split', 'string maxsplit', { maxsplit: 0 }), (s: unknown, max: unknown) => {
      const text = subject(s);
      const out: unknown[] = [];
      let at = 0;
      for (const m of p.matches(text, Number(max) > 0 ? Number(max) : Infinity)) {
        out.push(text.slice(at, m.index), ...Array.from({ length: p.t.groups }, (_, i) => m[i + 1] ?? null));
        at = m.index + m[0].length;
      }
      out.push(text.slice(at));
      return out;
    }),
  };
}

/** Python 3.7's re.escape: the characters that mean something in a pattern, and whitespace. */
function escapePattern(s: string): string {
  return s.replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, '\\$&');
}

/** `modules.re`. */
export function reModule(): Record<string, unknown> {
  const withPattern = (name: string, params: string, defaults: Record<string, unknown>, run: (p: PyPattern, ...rest: unknown[]) => unknown) =>
    pyFunction(signature(name, `pattern ${params} flags`, { ...defaults, flags: 0 }), (pattern: unknown, ...rest: unknown[]) => {
      const flags = rest.pop();
      return run(compile(pattern, flags), ...rest);
    });
  const method = (p: PyPattern, name: string, ...args: unknown[]) => (p.getattr(name) as (...a: unknown[]) => unknown)(...args);
  const module: Record<string, unknown> = {
    compile: pyFunction(signature('compile', 'pattern flags', { flags: 0 }), (pattern: unknown, flags: unknown) => compile(pattern, flags)),
    search: withPattern('search', 'string', {}, (p, s) => method(p, 'search', s)),
    match: withPattern('match', 'string', {}, (p, s) => method(p, 'match', s)),
    fullmatch: withPattern('fullmatch', 'string', {}, (p, s) => method(p, 'fullmatch', s)),
    findall: withPattern('findall', 'string', {}, (p, s) => method(p, 'findall', s)),
    finditer: withPattern('finditer', 'string', {}, (p, s) => method(p, 'finditer', s)),
    sub: withPattern('sub', 'repl string count', { count: 0 }, (p, r, s, c) => method(p, 'sub', r, s, c)),
    subn: withPattern('subn', 'repl string count', { count: 0 }, (p, r, s, c) => method(p, 'subn', r, s, c)),
    split: withPattern('split', 'string maxsplit', { maxsplit: 0 }, (p, s, m) => method(p, 'split', s, m)),
    escape: pyFunction(signature('escape', 'pattern'), (s: unknown) => escapePattern(subject(s))),
    purge: pyFunction(signature('purge', ''), () => null),
    NOFLAG: 0,
    I: FLAGS.I,
    IGNORECASE: FLAGS.I,
    M: FLAGS.M,
    MULTILINE: FLAGS.M,
    S: FLAGS.S,
    DOTALL: FLAGS.S,
    X: FLAGS.X,
    VERBOSE: FLAGS.X,
    A: FLAGS.A,
    ASCII: FLAGS.A,
    U: FLAGS.U,
    UNICODE: FLAGS.U,
    L: FLAGS.L,
    LOCALE: FLAGS.L,
  };
  return module;
}
