import { error, positionOf, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import type { PackageScope } from './packages.js';
import { bySameCause } from '../../diagnostics/same-cause.js';
import { FLAGS } from '../jinja/dbt-context.js';

/**
 * The dbt Jinja that pipe's templates cannot render yet, found in a template's text before it
 * is rendered. Rendering stops at the first failure, and some of these would not fail at all
 * but render differently from dbt (the version of `ref('x', v=2)` ignored): the scan finds
 * every use in every file, and
 * the project's problems are reported once per cause, with every place it occurs.
 */

export interface UnsupportedUse {
  /** What is used, the same text for every use of one cause (e.g. `dbt_utils.star()`, `execute`). */
  readonly cause: string;
  readonly hint: string;
  readonly location: Location;
}

interface Rule {
  readonly re: RegExp;
  /** A match pipe renders after all; `bound`: the names the template binds itself (see localNames). */
  skip?(m: RegExpExecArray, scope: PackageScope, bound: () => ReadonlySet<string>): boolean;
  /** The cause from the match. */
  cause(m: RegExpExecArray): string;
  hint(m: RegExpExecArray, scope: PackageScope): string;
}

/** What templates have of dbt's `adapter` and `api` (reading the warehouse while rendering, as dbt's execution render does). */
const SUPPORTED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  adapter: [
    'dispatch',
    'quote',
    'type',
    'get_columns_in_relation',
    'get_relation',
    'check_schema_exists',
    'create_schema',
    'drop_schema',
    'drop_relation',
    'rename_relation',
    'truncate_relation',
  ],
  api: ['Relation', 'Column'],
};

/** What a template that reads dbt_version is told. */
export const DBT_VERSION_HINT = 'pipe is not a version of dbt: pass the version the template should assume with --var and read it with var()';

/** What a template using another member of them is told. */
const DBT_OBJECTS: Readonly<Record<string, string>> = {
  adapter: `not available in pipe templates: ${SUPPORTED_MEMBERS.adapter.map((m) => `adapter.${m}`).join(', ')} are`,
  api: 'not available in pipe templates: api.Relation.create, api.Column.translate_type and api.Column.create are',
};

const RULES: readonly Rule[] = [
  {
    // `graph` is not among them: pipe's has every key dbt's has, and another is no key of dbt's
    // either, an error only where a render reaches it, as in dbt (dbt-codegen reads
    // graph.exposure in a branch it never takes).
    re: /\b(adapter|api)\s*\.\s*([A-Za-z_]\w*)/g,
    skip: (m) => SUPPORTED_MEMBERS[m[1]]?.includes(m[2]) === true,
    cause: (m) => `${m[1]}.${m[2]}`,
    hint: (m) => DBT_OBJECTS[m[1]],
  },
  {
    re: /\bdbt\s*\.\s*([A-Za-z_]\w*)\s*\(/g,
    skip: (m, scope) => scope.refusal('dbt', m[1]) === undefined,
    cause: (m) => `dbt.${m[1]}()`,
    hint: (m, scope) => scope.refusal('dbt', m[1]) ?? '',
  },
  {
    re: /(?<![.\w])(get_columns_in_relation|get_relation)\s*\(/g,
    // dbt has no such name of its own: a macro of the project or a package may take it (dbt-profiler's get_relation).
    skip: (m, scope) => scope.definesMacro?.(m[1]) === true,
    cause: (m) => `${m[1]}()`,
    hint: (m) => `it is a method of adapter: adapter.${m[1]}()`,
  },
  {
    // pipe renders dbt's Jinja but is no version of dbt: a template that branches on one would
    // render as the version guessed.
    re: /(?<![.\w])dbt_version\b/g,
    cause: (m) => m[0],
    hint: () => DBT_VERSION_HINT,
  },
  {
    // A bare `flags` is a name of the template's own (a macro's parameter, as in dbt_expectations),
    // and so is one it binds (`{% set flags = [] %}{% do flags.append(x) %}`, as Snowplow's macros do).
    re: /(?<![.\w])flags\s*\.\s*([A-Za-z_]\w*)/g,
    skip: (m, _scope, bound) => FLAGS.includes(m[1]) || bound().has('flags'),
    cause: (m) => `flags.${m[1]}`,
    hint: () => `not available in pipe templates: flags.${FLAGS.join(', flags.')} are; pass other values with --var`,
  },
  {
    re: /(?<![.\w])(dispatch)\s*\(/g,
    cause: (m) => `${m[1]}()`,
    hint: () => 'not available in pipe templates yet',
  },
  {
    re: /\bref\s*\(\s*(['"][^'"]*['"])\s*,\s*(['"][^'"]*['"])/g,
    // The project's own name or an installed package's: ref('shop', 'orders') is the model orders.
    skip: (m, scope) => m[1].slice(1, -1) === scope.project || (scope.installed?.has(m[1].slice(1, -1)) ?? false),
    cause: () => 'ref() of a package that is not installed',
    hint: () => 'pipe installs no dbt packages: run dbt deps so that the package is in dbt_packages/, or ref() a model of this project',
  },
];

/** Any word a rule starts from: a template without one is not scanned further. */
const TRIGGER = /\b(adapter|api|dbt|dbt_version|get_columns_in_relation|get_relation|flags|dispatch)\b|\bref\s*\([^)]*,/;

/** Whether any tag of the template holds a word a rule starts from, or a package name. */
function mayUse(source: string, packages: ReadonlySet<string>): boolean {
  // A tag is a part of the text that starts and ends with a character no word has: what no tag
  // can hold unless the whole text does is looked for in the whole text first, at one search.
  if (!TRIGGER.test(source) && !namesAny(source, packages)) return false;
  for (let open = source.indexOf('{'); open >= 0; open = source.indexOf('{', open + 1)) {
    const kind = source[open + 1];
    if (kind !== '{' && kind !== '%') continue;
    const end = source.indexOf(kind === '{' ? '}}' : '%}', open + 2);
    const tag = end < 0 ? source.slice(open) : source.slice(open, end + 2);
    if (TRIGGER.test(tag) || namesAny(tag, packages)) return true;
    if (end < 0) return false;
    open = end;
  }
  return false;
}

function namesAny(text: string, packages: ReadonlySet<string>): boolean {
  for (const p of packages) if (text.includes(p)) return true;
  return false;
}

/** Blocks whose content is never Jinja. */
const RAW_BLOCK = /\{%-?\s*raw\s*-?%\}[\s\S]*?\{%-?\s*endraw\s*-?%\}/g;

/**
 * Every use of what pipe cannot render yet in one template, and the calls of `pkg.macro()`
 * that `scope` cannot render (a package neither installed nor implemented by pipe).
 */
export function unsupportedUses(file: string, source: string, scope: PackageScope): UnsupportedUse[] {
  const out: UnsupportedUse[] = [];
  // Most templates use none of it: a search of their tags alone decides.
  if (!mayUse(source, scope.names)) return out;
  // Comments and raw blocks keep their length, so that offsets stay positions in the file.
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const text = source.replace(/\{#[\s\S]*?#\}/g, blank).replace(RAW_BLOCK, blank);
  const tags = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;
  let bound: Set<string> | undefined;
  let t: RegExpExecArray | null;
  while ((t = tags.exec(text))) {
    const tag = t[0];
    // A tag without a word a rule starts from, or a package's name, holds no use.
    if (!TRIGGER.test(tag) && !namesAny(tag, scope.names)) continue;
    // Inside string literals nothing is a call: they are blanked, keeping their length.
    const literal = tag.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, (s) => s.replace(/[^\n'"]/g, ' '));
    for (const rule of RULES) {
      // ref() arguments are strings: the rule reads them from the tag as written.
      const subject = rule.re.source.startsWith('\\bref') ? tag : literal;
      rule.re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = rule.re.exec(subject))) {
        if (rule.skip?.(m, scope, () => (bound ??= localNames(text)))) continue;
        out.push({ cause: rule.cause(m), hint: rule.hint(m, scope), location: { file, ...positionOf(source, t.index + m.index) } });
      }
    }
    // A package's name starts the chain: `graph.metrics.values()` calls no package `metrics`.
    const pkg = /(?<!\.\s*)\b([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)\s*\(/g;
    let m: RegExpExecArray | null;
    while ((m = pkg.exec(literal))) {
      // dbt's own macros are the rule's above; a name the template binds is its own (`{% set metrics = [] %}`).
      if (m[1] === 'dbt' || !scope.names.has(m[1]) || (bound ??= localNames(text)).has(m[1])) continue;
      const refusal = scope.refusal(m[1], m[2]);
      if (refusal === undefined) continue;
      out.push({ cause: `${m[1]}.${m[2]}()`, hint: refusal, location: { file, ...positionOf(source, t.index + m.index) } });
    }
  }
  return out;
}

/**
 * The names a template binds itself, which shadow a package of that name: `{% set x = … %}`
 * (and a block set), `{% for x, y in … %}`, `{% with x = … %}`, a macro's parameters.
 */
function localNames(text: string): Set<string> {
  const out = new Set<string>();
  const add = (list: string) => {
    for (const n of list.split(',')) {
      const name = /^\s*([A-Za-z_]\w*)/.exec(n)?.[1];
      if (name) out.add(name);
    }
  };
  for (const m of text.matchAll(/\{%-?\s*(?:set|with)\s+([A-Za-z_][\w\s,]*?)\s*(?:=|-?%\})/g)) add(m[1]);
  for (const m of text.matchAll(/\{%-?\s*for\s+([A-Za-z_][\w\s,]*?)\s+in\b/g)) add(m[1]);
  for (const m of text.matchAll(/\{%-?\s*(?:macro|test|materialization)\s+[A-Za-z_]\w*\s*\(([^)]*)\)/g)) add(m[1]);
  return out;
}

/** One error per cause, at its first use, every other use a related location. */
export function unsupportedDiagnostics(uses: readonly UnsupportedUse[]): Diagnostic[] {
  return bySameCause(uses.map((u) => error('unsupported', `${u.cause} is not supported by pipe`, u.location, { hint: u.hint, related: [] })));
}
