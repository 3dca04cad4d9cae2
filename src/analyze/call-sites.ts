import { positionOf } from '../diagnostics/diagnostics.js';
import { escapeRegExp } from '../sql/sql-text.js';

/**
 * Where a model's text calls `ref('name')`, `source('src', 'table')` and `config(`, for diagnostics. Found once per
 * text (watch mode keeps it with the model's cached template) in one scan, instead of one
 * regular expression per ref per analysis.
 */
export class CallSites {
  private refs?: Map<string, number>;
  private lineStarts?: number[];
  private configAt?: number | null;
  private configCalls?: { readonly at: number; readonly argsAt: number; readonly args: string }[];

  constructor(private readonly source: string) {}

  /** 1-based position of the first `ref('name')` (either quote), if the text has one. */
  ref(name: string): { line: number; column: number } | undefined {
    // A name holding a quote cannot be captured by the scan below: search for it alone.
    if (name.includes("'") || name.includes('"')) {
      const m = new RegExp(`\\bref\\s*\\(\\s*['"]${escapeRegExp(name)}['"]`).exec(this.source);
      return m ? positionOf(this.source, m.index) : undefined;
    }
    if (!this.refs) {
      this.refs = new Map();
      const re = /\bref\s*\(\s*['"]([^'"]*)['"]/g;
      let m: RegExpExecArray | null;
      while ((m = re.exec(this.source))) {
        if (!this.refs.has(m[1])) this.refs.set(m[1], m.index);
        // Matches may overlap, as a search for each name on its own would find them.
        re.lastIndex = m.index + 1;
      }
    }
    const at = this.refs.get(name);
    return at === undefined ? undefined : this.position(at);
  }

  /** 1-based position of the first `source('src', 'table')` (either quotes), else of the first `source(` naming `src`, if any. */
  sourceCall(source: string, table: string): { line: number; column: number } | undefined {
    const q = (s: string) => `['"]${escapeRegExp(s)}['"]`;
    const m =
      new RegExp(`\\bsource\\s*\\(\\s*${q(source)}\\s*,\\s*${q(table)}`).exec(this.source) ??
      new RegExp(`\\bsource\\s*\\(\\s*${q(source)}`).exec(this.source);
    return m ? this.position(m.index) : undefined;
  }

  /** 1-based position of the first `config(` call, if any. */
  config(): { line: number; column: number } | undefined {
    if (this.configAt === undefined) this.configAt = /\bconfig\s*\(/.exec(this.source)?.index ?? null;
    return this.configAt === null ? undefined : this.position(this.configAt);
  }

  /**
   * 1-based position of the `n`-th (0-based) `config(` call whose arguments name `key`: the
   * calls are found in the text, so a call made by a macro or a loop falls back to the first
   * `config(` of the file.
   */
  configSetting(key: string, n: number): { line: number; column: number } | undefined {
    // `key=` as a keyword argument, or `'key':` in a dict passed to config().
    const names = new RegExp(`(?:^|[\\s,({])['"]?${escapeRegExp(key)}['"]?\\s*(?:=(?!=)|:)`);
    const call = this.calls().filter((c) => names.test(c.args))[n];
    return call ? this.position(call.at) : this.config();
  }

  /**
   * 1-based position of `key=` in the last `config(` call of the text that gives it as a keyword
   * argument (a later call's value is the one kept), for an error about the value: a call made
   * by a macro or a loop, or a key given another way, falls back to the first `config(`.
   */
  configKey(key: string): { line: number; column: number } | undefined {
    const calls = this.calls();
    for (let c = calls.length - 1; c >= 0; c--) {
      for (const part of topLevelParts(calls[c].args)) {
        const m = /^\s*([A-Za-z_]\w*)\s*=(?!=)/.exec(part.text);
        if (m && m[1] === key) return this.position(calls[c].argsAt + part.at + m[0].indexOf(key));
      }
    }
    return this.config();
  }

  /**
   * The first keyword one `config(...)` call gives two different values (`config(a=1, a=2)`),
   * with the text of both: the template language keeps the last without a word.
   */
  configKeywordTwice(): { key: string; first: string; second: string; line: number; column: number } | undefined {
    for (const call of this.calls()) {
      const seen = new Map<string, string>();
      for (const { text } of topLevelParts(call.args)) {
        const m = /^\s*([A-Za-z_]\w*)\s*=(?!=)([\s\S]*)$/.exec(text);
        if (!m) continue;
        const [, key, value] = m;
        const first = seen.get(key);
        if (first !== undefined && first !== value.trim()) return { key, first, second: value.trim(), ...this.position(call.at) };
        seen.set(key, value.trim());
      }
    }
    return undefined;
  }

  /**
   * The text of the value `key=` is given in the one config() call of the template that gives it
   * as a keyword, when that call comes before any `{% %}` tag (so no branch, loop or `set` can
   * change what it sets); else why the value cannot be read from the text; undefined when no
   * config() call names it.
   */
  configKeywordText(key: string): { readonly text: string } | { readonly why: string } | undefined {
    const given: { readonly at: number; readonly text: string }[] = [];
    for (const call of this.calls()) {
      for (const part of topLevelParts(call.args)) {
        const m = /^\s*([A-Za-z_]\w*)\s*=(?!=)([\s\S]*)$/.exec(part.text);
        if (m && m[1] === key) given.push({ at: call.at, text: m[2].trim() });
        else if (/^\s*\*\*/.test(part.text)) return { why: `a config() call passes **keywords, which may set ${key}` };
      }
    }
    if (given.length === 0) return undefined;
    if (given.length > 1) return { why: `config() sets ${key} more than once` };
    const before = this.source.slice(0, given[0].at).replace(/\{#[\s\S]*?#\}/g, '');
    if (before.includes('{%')) return { why: `its config() call comes after a {% %} tag, which may change what it sets` };
    return { text: given[0].text };
  }

  private calls(): readonly { readonly at: number; readonly argsAt: number; readonly args: string }[] {
    if (!this.configCalls) {
      this.configCalls = [];
      const re = /\bconfig\s*\(/g;
      let m: RegExpExecArray | null;
      while ((m = re.exec(this.source))) this.configCalls.push({ at: m.index, argsAt: m.index + m[0].length, args: argumentsAt(this.source, m.index + m[0].length) });
    }
    return this.configCalls;
  }

  /** What positionOf gives, by a binary search over the line starts. */
  private position(offset: number): { line: number; column: number } {
    if (!this.lineStarts) {
      this.lineStarts = [0];
      for (let i = this.source.indexOf('\n'); i >= 0; i = this.source.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    }
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  }
}

/**
 * Walks the text of a call's arguments from `start`, outside quotes, calling `at` at every
 * bracket depth change and separator; stops where `at` returns true.
 */
function walkArguments(text: string, start: number, at: (i: number, depth: number) => boolean): number {
  let depth = 1;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (at(i, --depth)) return i;
    } else if (ch === ',' && at(i, depth)) return i;
  }
  return text.length;
}

/** The text of a call's arguments, from just after its `(` to its matching `)` (or the end). */
function argumentsAt(source: string, start: number): string {
  return source.slice(start, walkArguments(source, start, (i, depth) => depth === 0));
}

/** Arguments text split at its top-level commas, each part with its offset in `args`. */
function topLevelParts(args: string): { readonly text: string; readonly at: number }[] {
  const parts: { text: string; at: number }[] = [];
  let from = 0;
  walkArguments(args, 0, (i, depth) => {
    if (depth === 1 && args[i] === ',') {
      parts.push({ text: args.slice(from, i), at: from });
      from = i + 1;
    }
    return false;
  });
  parts.push({ text: args.slice(from), at: from });
  return parts;
}
