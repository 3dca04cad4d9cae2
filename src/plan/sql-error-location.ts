import type { Location } from '../diagnostics/diagnostics.js';
import { escapeRegExp } from '../sql/sql-text.js';
import type { Inserted } from '../analyze/analyze.js';

/**
 * Maps the statement line a database error names (the dialect reads it, see
 * warehouse/dialect.ts) back to the model file, so that a
 * SQL error points at the line the user wrote. Templates mostly keep their line structure;
 * where they do not (a macro that expands to several lines), the rendered line is looked up
 * in the file with its template expressions as wildcards. When neither works, the rendered
 * SQL around the error is returned instead, with line numbers.
 */

export interface SqlOrigin {
  /** The model file. */
  readonly file: string;
  /** The template text of the file. */
  readonly source: string;
  /** The final SQL as executed inside the failing statement. */
  readonly sql: string;
  /** Lines inserted by inlining ephemeral models: from `atLine` (1-based), `by` lines. */
  readonly inserted?: Inserted;
}


export interface SqlErrorPlace {
  readonly location?: Location;
  /** The rendered SQL around the error, numbered, when the file line is not known. */
  readonly context?: readonly string[];
  /** The line of that SQL the error names (marked in the context). */
  readonly contextLine?: number;
  /** The file's lines the failing line may have been rendered from, when its text is on several that control flow tells apart (branches of an if). */
  readonly lines?: readonly number[];
}

/** A line with a tag that may leave out or repeat the lines after it: if, elif, else, for, macro and their ends. */
const CONTROL_TAG = /\{%-?\s*(?:if|elif|else|endif|for|endfor|macro|endmacro|call|endcall|filter|endfilter)\b/;

/**
 * A template line as a pattern of the lines it can render to: `{{ … }}` renders to anything,
 * and text next to a `{% … %}` tag may be left out (`{% if %}a{% else %}b{% endif %}` renders
 * to `a` or `b`).
 */
function wildcard(templateLine: string): RegExp | undefined {
  const tokens = templateLine.trim().split(/(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})/);
  if (tokens.filter((_, i) => i % 2 === 0).join('').trim() === '') return undefined;
  const isControl = (t: string | undefined) => t !== undefined && t.startsWith('{%');
  const isExpression = (t: string | undefined) => t !== undefined && t.startsWith('{{');
  let body = '';
  tokens.forEach((t, i) => {
    if (i % 2 === 1) {
      if (isExpression(t)) body += '.*';
      return;
    }
    if (t === '') return;
    // An expression may render to several lines, ending in a line break: the text after it
    // then starts a line of its own, trimmed (`{{ amount('v') }} as amount` renders a line `as amount`).
    const text = isExpression(tokens[i - 1]) && /^\s/.test(t) ? `(?<=^|\\s)${escapeRegExp(t.trimStart())}` : escapeRegExp(t);
    const optional = isControl(tokens[i - 1]) || isControl(tokens[i + 1]);
    body += optional ? `(?:${text})?` : text;
  });
  return new RegExp(`^(?=.)${body}$`);
}

/** `line` is the 1-based line of `statement` the error names, if it names one. */
export function locateSqlError(line: number | undefined, statement: string, origin: SqlOrigin, syntax = false): SqlErrorPlace | undefined {
  const at = statement.lastIndexOf(origin.sql);
  if (line === undefined || at < 0) return undefined;
  const before = statement.slice(0, at).split('\n').length - 1;
  const sqlLines = origin.sql.split('\n');
  // `syntax`: a line past the query (pipe's own text around it, its closing parenthesis, or the
  // end of input) is where the parser found the query cut short, and its last line is the place.
  let last = sqlLines.length;
  while (syntax && last > 1 && /^\s*(--.*|\/\*.*\*\/\s*)?$/.test(sqlLines[last - 1])) last--;
  const k = syntax ? Math.min(line - before, last) : line - before;
  if (k < 1 || k > sqlLines.length) return undefined;
  return placeOfLine(k, sqlLines, origin);
}

/** Where line `k` of `origin.sql` (split as `sqlLines`) was written: in the model file, or in an ephemeral model's it inlines. */
function placeOfLine(k: number, sqlLines: readonly string[], origin: SqlOrigin): SqlErrorPlace {
  const context = sqlLines
    .map((text, i) => ({ n: i + 1, text }))
    .filter(({ n }) => Math.abs(n - k) <= 2)
    .map(({ n, text }) => `${n === k ? '>' : ' '} ${String(n).padStart(4)} | ${text}`);

  let raw = k;
  if (origin.inserted && k >= origin.inserted.atLine) {
    if (k < origin.inserted.atLine + origin.inserted.by) {
      for (const cte of origin.inserted.ctes ?? []) {
        const lines = cte.sql.split('\n');
        if (k >= cte.atLine && k < cte.atLine + lines.length) return placeOfLine(k - cte.atLine + 1, lines, cte);
      }
      return { context, contextLine: k };
    }
    raw = k - origin.inserted.by;
  }
  const rendered = sqlLines[k - 1].trim();
  const sourceLines = origin.source.split('\n');
  const matches = (i: number) => {
    const line = sourceLines[i - 1];
    if (line === undefined) return false;
    if (line.trim() === rendered) return true;
    const re = wildcard(line);
    return re !== undefined && re.test(rendered);
  };
  const matching = sourceLines.map((_, i) => i + 1).filter(matches);
  // A line written as rendered is where it came from before one whose expressions may render
  // it (`from bX` against `from {{ ref('n') }}`).
  const exact = matching.filter((i) => sourceLines[i - 1].trim() === rendered);
  const candidates = exact.length > 0 ? exact : matching;
  // The same text on lines that an if's branches (or a loop) tell apart: the rendered line's
  // place says nothing of which one rendered it (a branch left out shifts the lines after it).
  if (candidates.length > 1) {
    const first = candidates[0];
    const last = candidates[candidates.length - 1];
    if (sourceLines.slice(first, last - 1).some((l) => CONTROL_TAG.test(l))) return { context, contextLine: k, lines: candidates };
  }
  if (matches(raw)) return { location: { file: origin.file, line: raw } };
  const nearest = (lines: readonly number[]) => lines.reduce((a, b) => (Math.abs(b - raw) < Math.abs(a - raw) ? b : a));
  if (candidates.length > 0) {
    // A line of the text that the lines around it in the SQL place elsewhere (a macro's
    // `select`, with the file's own `select` lines above) is the expansion's, when one is found.
    const window = anchoredWindow(k, sqlLines, sourceLines);
    const inWindow = window === undefined ? candidates : candidates.filter((c) => c >= window.lo && c <= window.hi);
    if (inWindow.length > 0) return { location: { file: origin.file, line: nearest(inWindow) } };
    const expanded = expansionAt(k, sqlLines, sourceLines);
    return { location: { file: origin.file, line: expanded ?? nearest(candidates) } };
  }
  const within = expansionAt(k, sqlLines, sourceLines);
  return within === undefined ? { context, contextLine: k } : { location: { file: origin.file, line: within } };
}

/**
 * The file lines line `k` of `sqlLines` lies between, by the nearest lines above and below it
 * written in the file as rendered, each on one line of the file alone; undefined when neither
 * side has one.
 */
function anchoredWindow(k: number, sqlLines: readonly string[], sourceLines: readonly string[]): { lo: number; hi: number } | undefined {
  const trimmed = sourceLines.map((l) => l.trim());
  const anchor = (i: number): number | undefined => {
    const text = sqlLines[i - 1]?.trim();
    if (!text) return undefined;
    const first = trimmed.indexOf(text);
    return first >= 0 && trimmed.indexOf(text, first + 1) < 0 ? first + 1 : undefined;
  };
  let lo: number | undefined;
  for (let i = k - 1; i >= 1 && lo === undefined; i--) lo = anchor(i);
  let hi: number | undefined;
  for (let i = k + 1; i <= sqlLines.length && hi === undefined; i++) hi = anchor(i);
  if (lo === undefined && hi === undefined) return undefined;
  return { lo: lo ?? 1, hi: hi ?? sourceLines.length };
}

/**
 * The file line whose expression rendered line `k` of `sqlLines`, when `k` lies inside the
 * several lines one expression rendered (a macro's body): after the nearest line above that
 * matches a line of the file as written, and up to the line the nearest one below matches, the
 * file has exactly one line with an expression, and so it is that one.
 */
function expansionAt(k: number, sqlLines: readonly string[], sourceLines: readonly string[]): number | undefined {
  // Lines written as rendered first: a pattern's expressions match any text (`select * from
  // {{ ref('a') }}` matches a macro's `select * from (select 1) as t`), so one may take a line
  // of the expansion itself for the file's.
  return expansionBetween(k, sqlLines, sourceLines, false) ?? expansionBetween(k, sqlLines, sourceLines, true);
}

function expansionBetween(k: number, sqlLines: readonly string[], sourceLines: readonly string[], patterned: boolean): number | undefined {
  const patterns = sourceLines.map((l) => ({ exact: l.trim(), re: patterned ? wildcard(l) : undefined }));
  const fileLinesOf = (rendered: string) =>
    rendered.trim() === '' ? [] : patterns.flatMap((p, i) => (p.exact === rendered.trim() || p.re?.test(rendered.trim()) ? [i + 1] : []));
  let above = 0;
  for (let r = k - 1; r >= 1 && above === 0; r--) {
    const found = fileLinesOf(sqlLines[r - 1]);
    if (found.length > 0) above = found.reduce((a, b) => (Math.abs(b - r) < Math.abs(a - r) ? b : a));
  }
  let below = sourceLines.length + 1;
  for (let r = k + 1; r <= sqlLines.length && below === sourceLines.length + 1; r++) {
    const found = fileLinesOf(sqlLines[r - 1]).filter((i) => i > above);
    if (found.length > 0) below = found[0];
  }
  // The line below may be the expression's own last line (`{{ amount('v') }} as amount` renders `as amount` last).
  const between = sourceLines.map((l, i) => ({ l, n: i + 1 })).filter(({ l, n }) => n > above && n <= below && l.includes('{{'));
  return between.length === 1 ? between[0].n : undefined;
}
