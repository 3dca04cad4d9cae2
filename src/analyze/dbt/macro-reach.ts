import type { MacroSource, ProjectFiles } from '../../project/load-project.js';
import { usesIntrospection } from '../jinja/introspection.js';
import type { PackageScope } from './packages.js';
import { unsupportedUses, type UnsupportedUse } from './unsupported-jinja.js';

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
): { uses: (reached: readonly string[]) => UnsupportedUse[]; tainted: ReadonlySet<string> } {
  const byMacro = new Map<string, UnsupportedUse[]>();
  const defs = macroDefinitions(files);
  for (const m of macroFiles(files)) {
    const uses = unsupportedUses(m.file, m.source, packages);
    for (const u of uses) {
      const offset = offsetOf(m.source, u.location.line ?? 1, u.location.column ?? 1);
      const def = defs.find((x) => x.file === m.file && offset >= x.start && offset < x.start + x.body.length);
      if (!def) continue;
      byMacro.set(def.name, [...(byMacro.get(def.name) ?? []), u]);
    }
  }
  const tainted = new Set(byMacro.keys());
  if (tainted.size === 0) return { uses: () => [], tainted };
  withCallers(tainted, defs);
  const uses = (texts: readonly string[]) => {
    const reached = new Set<string>();
    let frontier = defs.filter((d) => tainted.has(d.name) && texts.some((t) => callsMacro(t, d.name)));
    while (frontier.length > 0) {
      for (const d of frontier) reached.add(d.name);
      frontier = defs.filter((d) => tainted.has(d.name) && !reached.has(d.name) && frontier.some((x) => callsMacro(x.body, d.name)));
    }
    return [...byMacro].filter(([name]) => reached.has(name)).flatMap(([, u]) => u);
  };
  return { uses, tainted };
}

/** Whether a text calls a macro: by its name, or, for an implementation (`default__x`), through adapter.dispatch('x'). */
export function callsMacro(text: string, name: string): boolean {
  if (new RegExp(`\\b${name}\\s*\\(`).test(text)) return true;
  const impl = /^(?:duckdb|default)__(\w+)$/.exec(name);
  return impl !== null && new RegExp(`\\bdispatch\\s*\\(\\s*(?:macro_name\\s*=\\s*)?['"]${impl[1]}['"]`).test(text);
}

/** The project's macro files and those of the packages it has installed. */
export function macroFiles(files: ProjectFiles): readonly MacroSource[] {
  return [...files.macros, ...(files.packages?.installed ?? []).flatMap((p) => p.macros)];
}

/** The macro (and test) definitions of the macro files, with their text. */
function macroDefinitions(files: ProjectFiles): { name: string; body: string; file: string; start: number }[] {
  const defs: { name: string; body: string; file: string; start: number }[] = [];
  for (const m of macroFiles(files)) {
    const re = /\{%-?\s*(?:macro|test)\s+([\p{L}_][\p{L}\p{N}_]*)\s*\(([\s\S]*?)\{%-?\s*end(?:macro|test)\s*-?%\}/gu;
    let d: RegExpExecArray | null;
    while ((d = re.exec(m.source))) defs.push({ name: d[1], body: d[0], file: m.file, start: d.index });
  }
  return defs;
}

/** Adds to `names` every macro that calls one of them, directly or through others. */
function withCallers(names: Set<string>, defs: readonly { name: string; body: string }[]): void {
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of defs) {
      if (names.has(d.name) || ![...names].some((t) => callsMacro(d.body, t))) continue;
      names.add(d.name);
      grew = true;
    }
  }
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
