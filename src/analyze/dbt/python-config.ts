/**
 * What a Python model's `dbt.config(...)` calls say, read from its text as dbt reads them at
 * parse time (from the code, never by running it: dbt takes only literal arguments there).
 * pipe builds no Python model, but a command that leaves one out must know which: its tags
 * (`-s tag:sql`, `--exclude tag:py`) and whether it is switched off (`enabled=False`).
 */

export interface PythonConfig {
  readonly tags?: readonly string[];
  readonly enabled?: boolean;
}

/** The literal arguments of every `dbt.config(...)` call of `code`; a later call's key over an earlier one's, tags added up. */
export function pythonConfig(code: string): PythonConfig {
  let tags: string[] | undefined;
  let enabled: boolean | undefined;
  for (const call of configCalls(scanned(code))) {
    for (const [key, value] of call) {
      if (key === 'tags') {
        const list = typeof value === 'string' ? [value] : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
        if (list) tags = [...new Set([...(tags ?? []), ...list])];
      } else if (key === 'enabled' && typeof value === 'boolean') enabled = value;
    }
  }
  return { ...(tags ? { tags } : {}), ...(enabled === undefined ? {} : { enabled }) };
}

/** What a Python model reads, from its `dbt.ref()` and `dbt.source()` calls; `dynamic` when one is not of literals (then what it reads is not known). */
export interface PythonReads {
  readonly refs: readonly string[];
  /** `source.table` of each. */
  readonly sources: readonly string[];
  readonly dynamic: boolean;
}

/** The literal arguments of every `dbt.ref(...)` and `dbt.source(...)` call of `code`, as dbt reads them at parse time. */
export function pythonReads(code: string): PythonReads {
  const { text, strings } = scanned(code);
  const refs: string[] = [];
  const sources: string[] = [];
  let dynamic = false;
  const re = /\bdbt\s*\.\s*(ref|source)\s*\(/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const at = m.index;
    if (strings.some(([start, end]) => at > start && at < end)) continue;
    const args = new Literals(text, m.index + m[0].length).positional();
    const texts = args.filter((a): a is string => typeof a === 'string');
    if (m[1] === 'ref' && texts.length >= 1 && texts.length === args.length) refs.push(texts[texts.length - 1]);
    else if (m[1] === 'source' && texts.length === 2 && args.length === 2) sources.push(`${texts[0]}.${texts[1]}`);
    else dynamic = true;
  }
  return { refs: [...new Set(refs)], sources: [...new Set(sources)], dynamic };
}

/** The text with `#` comments blanked (not inside strings), and where its string literals are ([start, end) of each). */
function scanned(code: string): { readonly text: string; readonly strings: readonly [number, number][] } {
  let text = '';
  const strings: [number, number][] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'") {
      const end = stringEnd(code, i);
      strings.push([text.length, text.length + end - i]);
      text += code.slice(i, end);
      i = end - 1;
    } else if (c === '#') {
      while (i < code.length && code[i] !== '\n') i++;
      text += '\n';
    } else text += c;
  }
  return { text, strings };
}

/** Where the string literal opening at `i` ends (past its quote), triple quotes too. */
function stringEnd(code: string, i: number): number {
  const q = code[i];
  const triple = code.startsWith(q.repeat(3), i);
  const close = triple ? q.repeat(3) : q;
  let j = i + close.length;
  while (j < code.length && !code.startsWith(close, j)) {
    if (code[j] === '\\') j++;
    else if (!triple && code[j] === '\n') return j;
    j++;
  }
  return Math.min(code.length, j + close.length);
}

/** The keyword arguments of each `dbt.config(...)` call whose values are literals; a value that is not one is left out. A call written inside a string (a docstring) is none. */
function configCalls({ text: code, strings }: ReturnType<typeof scanned>): [string, unknown][][] {
  const out: [string, unknown][][] = [];
  const re = /\bdbt\s*\.\s*config\s*\(/g;
  for (let m = re.exec(code); m !== null; m = re.exec(code)) {
    const at = m.index;
    if (strings.some(([start, end]) => at > start && at < end)) continue;
    const reader = new Literals(code, m.index + m[0].length);
    out.push(reader.keywords());
  }
  return out;
}

/** A reader of Python literals: strings, numbers, True, False, None, lists and tuples of them. */
class Literals {
  constructor(
    private readonly code: string,
    private i: number,
  ) {}

  /** The positional arguments, up to the first that is not a literal or the first keyword one. */
  positional(): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      this.space();
      if (this.i >= this.code.length || this.code[this.i] === ')' || /^[A-Za-z_]\w*\s*=(?!=)/.test(this.code.slice(this.i, this.i + 100))) return out;
      const value = this.value();
      if (value === NOT_LITERAL) return [...out, value];
      out.push(value);
      this.space();
      if (this.code[this.i] === ',') this.i++;
    }
  }

  keywords(): [string, unknown][] {
    const out: [string, unknown][] = [];
    for (;;) {
      this.space();
      if (this.i >= this.code.length || this.code[this.i] === ')') return out;
      const name = /^[A-Za-z_]\w*/.exec(this.code.slice(this.i, this.i + 100))?.[0];
      if (name === undefined) return out;
      this.i += name.length;
      this.space();
      if (this.code[this.i] !== '=') return out;
      this.i++;
      const value = this.value();
      if (value === NOT_LITERAL) return out;
      out.push([name, value]);
      this.space();
      if (this.code[this.i] === ',') this.i++;
    }
  }

  private space(): void {
    while (this.i < this.code.length && /\s/.test(this.code[this.i])) this.i++;
  }

  private value(): unknown {
    this.space();
    const c = this.code[this.i];
    if (c === '"' || c === "'") {
      const end = stringEnd(this.code, this.i);
      const raw = this.code.slice(this.i, end);
      this.i = end;
      const triple = raw.startsWith(c.repeat(3));
      return raw.slice(triple ? 3 : 1, triple ? -3 : -1).replace(/\\(.)/g, '$1');
    }
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      this.i++;
      const items: unknown[] = [];
      for (;;) {
        this.space();
        if (this.code[this.i] === close) {
          this.i++;
          return items;
        }
        const item = this.value();
        if (item === NOT_LITERAL) return NOT_LITERAL;
        items.push(item);
        this.space();
        if (this.code[this.i] === ',') this.i++;
        else if (this.code[this.i] !== close) return NOT_LITERAL;
      }
    }
    const word = /^(?:True|False|None|-?\d+(?:\.\d+)?)\b/.exec(this.code.slice(this.i, this.i + 40))?.[0];
    if (word === undefined) return NOT_LITERAL;
    this.i += word.length;
    return word === 'True' ? true : word === 'False' ? false : word === 'None' ? null : Number(word);
  }
}

const NOT_LITERAL = Symbol('not a literal');
