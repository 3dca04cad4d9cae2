import type { MacroSource, ProjectFiles } from '../../project/load-project.js';
import { usesIntrospection } from '../jinja/introspection.js';
import { tagCode } from '../jinja/tag-code.js';
import type { PackageScope } from './packages.js';
import { unsupportedUses, type UnsupportedUse } from './unsupported-jinja.js';
import { pushTo } from '../../util/multi-map.js';

/**
 * Which macros the project's templates reach, found from the text of the macro files: for the
 * Jinja pipe cannot render (reported only where a model reaches it) and for the macros that
 * read the warehouse (a model calling one is rendered again when it runs).
 */

/**
 * What macros use that pipe cannot render: the macros that use it, and those that call them
 * (`tainted`: a model calling one is not rendered). Uses are reported for the macros that
 * models reach; a macro nobody calls may use anything.
 */
export function macroProblems(
  files: ProjectFiles,
  packages: PackageScope,
): {
  /** What the macros reached from these templates, and from the macros named, use that pipe cannot render. */
  uses: (templates: readonly string[], names?: readonly string[]) => UnsupportedUse[];
  tainted: ReadonlySet<string>;
} {
  const byMacro = new Map<string, UnsupportedUse[]>();
  const defs = macroDefinitions(files);
  for (const m of macroFiles(files)) {
    const uses = unsupportedUses(m.file, m.source, packages);
    for (const u of uses) {
      const offset = offsetOf(m.source, u.location.line ?? 1, u.location.column ?? 1);
      const def = defs.find((x) => x.file === m.file && offset >= x.start && offset < x.start + x.body.length);
      if (!def) continue;
      pushTo(byMacro, def.name, u);
    }
  }
  const tainted = new Set(byMacro.keys());
  if (tainted.size === 0) return { uses: () => [], tainted };
  withCallers(tainted, defs);
  const uses = (templates: readonly string[], names: readonly string[] = []) => {
    const reached = new Set<string>();
    let called = new Set([...templates.flatMap((t) => [...templateCalls(t)]), ...names]);
    let frontier = defs.filter((d) => tainted.has(d.name) && called.has(d.name));
    while (frontier.length > 0) {
      for (const d of frontier) reached.add(d.name);
      called = new Set(frontier.flatMap((d) => [...d.calls]));
      frontier = defs.filter((d) => tainted.has(d.name) && !reached.has(d.name) && called.has(d.name));
    }
    return [...byMacro].filter(([name]) => reached.has(name)).flatMap(([, u]) => u);
  };
  return { uses, tainted };
}

/** The names a template calls in its tags (see calledNames). */
export function templateCalls(template: string): ReadonlySet<string> {
  const out = new Set<string>();
  for (const code of tagCode(template)) for (const n of calledNames(code)) out.add(n);
  return out;
}

const DISPATCH = /\bdispatch\s*\(\s*(?:macro_name\s*=\s*)?['"](\w+)['"]/g;

/**
 * The names a piece of Jinja code (a tag's, see tagCode) calls: each name an opening
 * parenthesis follows, and for `adapter.dispatch('x')`, the implementations pipe renders
 * (`default__x`, `duckdb__x`). Read once per text, so that finding who calls what is linear in
 * the macros' text.
 */
export function calledNames(text: string): ReadonlySet<string> {
  const out = new Set<string>();
  // Each `(` read back over spaces to the name before it (the whole run of name characters,
  // which must start with a letter or `_`): far fewer steps than a pattern tried at every character.
  for (let paren = text.indexOf('('); paren >= 0; paren = text.indexOf('(', paren + 1)) {
    let end = paren;
    while (end > 0 && isSpaceBefore(text, end)) end--;
    let start = end;
    for (let step = nameCharBefore(text, start); step > 0; step = nameCharBefore(text, start)) start -= step;
    if (start < end && NAME_START.test(String.fromCodePoint(text.codePointAt(start)!))) out.add(text.slice(start, end));
  }
  for (const m of text.matchAll(DISPATCH)) out.add(`default__${m[1]}`).add(`duckdb__${m[1]}`);
  return out;
}

const NAME_START = /^[\p{L}_]$/u;
const NAME_CHAR = /^[\p{L}\p{N}_]$/u;
const SPACE = /^\s$/u;

/** Whether the code unit before `at` is a space (Unicode's, as `\s` reads them). */
function isSpaceBefore(text: string, at: number): boolean {
  const c = text.charCodeAt(at - 1);
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  return c > 127 && SPACE.test(text[at - 1]);
}

/** The length (1, or 2 for a surrogate pair) of the name character ending at `at`; 0 if none. */
function nameCharBefore(text: string, at: number): number {
  if (at === 0) return 0;
  const c = text.charCodeAt(at - 1);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ? 1 : 0;
  const width = c >= 0xdc00 && c <= 0xdfff && at >= 2 && text.charCodeAt(at - 2) >= 0xd800 && text.charCodeAt(at - 2) <= 0xdbff ? 2 : 1;
  return NAME_CHAR.test(text.slice(at - width, at)) ? width : 0;
}

/** Whether a template calls any of `names` in its tags: by name, or an implementation through adapter.dispatch. */
export function callsAny(template: string, names: ReadonlySet<string>): boolean {
  if (names.size === 0) return false;
  for (const n of templateCalls(template)) if (names.has(n)) return true;
  return false;
}

/** The project's macro files and those of the packages it has installed. */
export function macroFiles(files: ProjectFiles): readonly MacroSource[] {
  return [...files.macros, ...(files.packages?.installed ?? []).flatMap((p) => p.macros)];
}

/** A macro (or test) definition of a macro file: its text, where it starts, and the names it calls. */
interface MacroDefinition {
  readonly name: string;
  readonly body: string;
  readonly file: string;
  readonly start: number;
  readonly calls: ReadonlySet<string>;
}

/** Each project's definitions, read once for the several questions of one analysis. */
const definitionsOf = new WeakMap<ProjectFiles, MacroDefinition[]>();

function macroDefinitions(files: ProjectFiles): MacroDefinition[] {
  const known = definitionsOf.get(files);
  if (known) return known;
  const defs: MacroDefinition[] = [];
  definitionsOf.set(files, defs);
  for (const m of macroFiles(files)) {
    const re = /\{%-?\s*(?:macro|test)\s+([\p{L}_][\p{L}\p{N}_]*)\s*\(([\s\S]*?)\{%-?\s*end(?:macro|test)\s*-?%\}/gu;
    let d: RegExpExecArray | null;
    while ((d = re.exec(m.source))) defs.push({ name: d[1], body: d[0], file: m.file, start: d.index, calls: templateCalls(d[0]) });
  }
  return defs;
}

/** Adds to `names` every macro that calls one of them, directly or through others: a walk up the calls, once. */
function withCallers(names: Set<string>, defs: readonly MacroDefinition[]): void {
  const callers = new Map<string, MacroDefinition[]>();
  for (const d of defs) {
    for (const c of d.calls) {
      const list = callers.get(c);
      if (list) list.push(d);
      else callers.set(c, [d]);
    }
  }
  for (const queue = [...names]; queue.length > 0; ) {
    for (const d of callers.get(queue.pop()!) ?? []) {
      if (names.has(d.name)) continue;
      names.add(d.name);
      queue.push(d.name);
    }
  }
}

/**
 * The macro definitions that these templates, or the macros named, call, directly or through
 * others, each with its file, text and the line it starts at, in file order.
 */
export function reachedMacros(files: ProjectFiles, templates: readonly string[], names: readonly string[] = []): { readonly file: string; readonly text: string; readonly line: number }[] {
  const byName = new Map<string, MacroDefinition[]>();
  for (const d of macroDefinitions(files)) {
    const list = byName.get(d.name);
    if (list) list.push(d);
    else byName.set(d.name, [d]);
  }
  const reached = new Set<MacroDefinition>();
  const seen = new Set([...templates.flatMap((t) => [...templateCalls(t)]), ...names]);
  for (const queue = [...seen]; queue.length > 0; ) {
    for (const d of byName.get(queue.pop()!) ?? []) {
      if (reached.has(d)) continue;
      reached.add(d);
      for (const c of d.calls) {
        if (seen.has(c)) continue;
        seen.add(c);
        queue.push(c);
      }
    }
  }
  const sources = new Map(macroFiles(files).map((m) => [m.file, m.source]));
  return [...reached]
    .sort((a, b) => (a.file === b.file ? a.start - b.start : a.file < b.file ? -1 : 1))
    .map((d) => ({ file: d.file, text: d.body, line: sources.get(d.file)!.slice(0, d.start).split('\n').length }));
}

/** The macros that read the warehouse while rendering (see jinja/introspection.ts), and those that call them. */
export function runtimeMacros(files: ProjectFiles): ReadonlySet<string> {
  const defs = macroDefinitions(files);
  const names = new Set(defs.filter((d) => usesIntrospection(d.body)).map((d) => d.name));
  if (names.size > 0) withCallers(names, defs);
  return names;
}

function offsetOf(text: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) at = text.indexOf('\n', at) + 1;
  return at + column - 1;
}
