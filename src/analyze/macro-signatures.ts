/**
 * The parameters of the macros a file defines, read from their `{% macro name(...) %}` tags:
 * Nunjucks keeps them inside its compiled functions, and a dbt test's arguments are checked
 * against them before the test is rendered (Jinja refuses an argument a macro does not take).
 */

export interface MacroParam {
  readonly name: string;
  readonly hasDefault: boolean;
}

export interface MacroSignature {
  readonly name: string;
  readonly params: readonly MacroParam[];
  /** 1-based line of the `{% macro %}` tag. */
  readonly line: number;
  /** The body reads `kwargs`: Jinja then takes keyword arguments the macro does not name. */
  readonly takesKwargs: boolean;
}

const MACRO_TAG = /\{%-?\s*macro\s+([\p{L}_][\p{L}\p{N}_]*)\s*\(/gu;

const END_TAG = /\{%-?\s*endmacro\b/g;

export function macroSignatures(source: string): MacroSignature[] {
  const out: MacroSignature[] = [];
  // Lines are counted on from the last tag: a file of many macros is read once.
  let line = 1;
  let counted = 0;
  let m: RegExpExecArray | null;
  MACRO_TAG.lastIndex = 0;
  while ((m = MACRO_TAG.exec(source))) {
    const open = m.index + m[0].length;
    const close = closingParen(source, open);
    if (close < 0) continue;
    END_TAG.lastIndex = close;
    const end = END_TAG.exec(source);
    const body = end ? source.slice(close, end.index) : '';
    for (; counted < m.index; counted++) if (source.charCodeAt(counted) === 10) line++;
    out.push({
      name: m[1],
      params: splitTopLevel(source.slice(open, close)).flatMap((p) => {
        const [name, ...rest] = p.split('=');
        const trimmed = name.trim();
        return trimmed === '' ? [] : [{ name: trimmed, hasDefault: rest.length > 0 }];
      }),
      line,
      takesKwargs: /\bkwargs\b/.test(body),
    });
  }
  return out;
}

/** The offset of the `)` closing the `(` just before `from`, past nested brackets and strings; -1 if none. */
function closingParen(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const endQuote = text.indexOf(c, i + 1);
      if (endQuote < 0) return -1;
      i = endQuote;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) return c === ')' ? i : -1;
      depth--;
    }
  }
  return -1;
}

/** A parameter list split at its top-level commas (a default may be a list or a call). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const endQuote = text.indexOf(c, i + 1);
      i = endQuote < 0 ? text.length : endQuote;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * dbt's generic test block, `{% test name(model, ...) %} ... {% endtest %}`, as the Nunjucks
 * macro it is (`test_name`): the tags change in place, so every line keeps its number.
 */
export function testBlocksAsMacros(source: string): string {
  if (!/\{%-?\s*(?:end)?test\b/.test(source)) return source;
  return source
    .replace(/\{%(-?)(\s*)test(\s+)([\p{L}_][\p{L}\p{N}_]*)/gu, '{%$1$2macro$3test_$4')
    .replace(/\{%(-?)(\s*)endtest\b/g, '{%$1$2endmacro');
}

/**
 * dbt's custom materialization, `{% materialization name, adapter %} ... {% endmaterialization %}`,
 * as a macro nobody calls (`materialization_name`): pipe builds with its own materializations,
 * and the other macros of the file load. Every line keeps its number.
 */
export function materializationsAsMacros(source: string): string {
  if (!/\{%-?\s*(?:end)?materialization\b/.test(source)) return source;
  return source
    .replace(/\{%(-?)(\s*)materialization(\s+)([\p{L}_][\p{L}\p{N}_]*)([^%]*)%\}/gu, (_, dash: string, before: string, between: string, name: string, rest: string) => {
      // Named as dbt names them (`materialization_test_snowflake`), so that one per adapter is
      // no second macro of one name; the options after the name blanked, their line breaks kept.
      const adapter = /\badapter\s*=\s*['"]([\p{L}\p{N}_]+)['"]/u.exec(rest)?.[1] ?? (/\bdefault\b/.test(rest) ? 'default' : undefined);
      const suffix = adapter === undefined ? '' : `_${adapter}`;
      const blank = rest.replace(/[^\n]/g, ' ');
      const room = blank.startsWith(' '.repeat(suffix.length)) ? blank.slice(suffix.length) : blank;
      return `{%${dash}${before}macro${between}materialization_${name}${suffix}()${room}%}`;
    })
    .replace(/\{%(-?)(\s*)endmaterialization\b/g, '{%$1$2endmacro');
}
