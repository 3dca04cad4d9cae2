import { randomUUID } from 'node:crypto';
import nunjucks from 'nunjucks';
import { error, positionOf, type Diagnostic, type Location as DiagnosticLocation } from '../diagnostics/diagnostics.js';
import type { MacroSource } from '../project/load-project.js';
import { parseSimpleTemplate, renderSimpleTemplate, type SimpleTemplate } from './simple-template.js';
import { refTarget, type VersionedModel } from './dbt/model-versions.js';
import { macroSignatures, materializationsAsMacros, testBlocksAsMacros, type MacroSignature } from './macro-signatures.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { escapeRegExp, quoteIdent, quoteLiteral } from '../sql/sql-text.js';
import { secrets } from '../secrets/secrets.js';
import { splitKeywords } from './jinja/macro-args.js';
import { bind, ENV_VAR_SIGNATURE, NOT_GIVEN, VAR_SIGNATURE } from './jinja/args.js';
import { configReaders } from './jinja/config-object.js';
import { printRelationsAsTokens, type RelationParts } from './jinja/relation.js';
import { sourceName } from './sources.js';
import { printUndefined, reportNoneOutput } from './jinja/syntax.js';
import { INEXACT_WHOLE, isDict, isStr, plainValues, pyCallable, strOf, typeName } from './jinja/values.js';
import { MacroNamespaces, type MacroFn, type Namespace } from './jinja/namespaces.js';
import { ADAPTER_PREFIXES } from './jinja/dispatch.js';
import { DBT_VERSION_HINT } from './dbt/unsupported-jinja.js';
import { CONTEXT_MACRO_NAMES } from './dbt/builtin-macros/context-functions.js';
import { DBT_MACROS } from './dbt/builtin-macros/cross-database.js';
import type { BuiltinPackage } from './dbt/builtin-macros/builtin.js';
import { installIntrospection, type RenderPhase } from './jinja/introspection.js';
import { DbtRelation, installJinjaSurface, jinjaPosition, type Invocation, type TemplateMessage } from './jinja/surface.js';
import { TemplateFunctionError } from './jinja/errors.js';
import { enterMacro } from './jinja/call-args.js';
import { templateKey, type TemplateCodeCache } from './template-code-cache.js';
import { programKey } from './template-program-cache.js';
import { programFromNunjucks, quickProgram, type Program } from './jinja/program.js';
import { runProgram } from './jinja/run-program.js';
import { noteNames, unrecorded } from './jinja/name-reads.js';
import { givesWayTo } from './jinja/variable-shadowing.js';
import { ContextVariable } from './jinja/context-variable.js';
import { compileTemplates, compileThreads, MIN_PARALLEL_TEMPLATES, type CompiledCode as PrecompiledCode, type CompileJob, type CompileReport } from './template-compile-pool.js';
import { pushTo } from '../util/multi-map.js';

/* Nunjucks' compiler and error wrapping, which its typings leave out. */
const N = nunjucks as unknown as {
  compiler: { compile(src: string, asyncFilters: unknown, extensions: unknown, name: string, opts: unknown): string };
  lib: { _prettifyError(path: string, withInternals: boolean, err: unknown): Error };
};
type TemplateProps = { readonly root: unknown };
/** What the constructor of nunjucks.Template accepts besides a template's text: code already compiled. */
type CompiledCode = { readonly type: 'code'; readonly obj: TemplateProps };

/** Runs Nunjucks' compiled code (as a function) as its Template does, and checks it gave a template. */
function loadCode(code: () => unknown): TemplateProps {
  const props = code() as TemplateProps | undefined;
  if (typeof props?.root !== 'function') throw new Error('compiled template code has no root');
  return props;
}

/**
 * The Nunjucks environment every model and macro is rendered in.
 *
 * Template functions (`ref`, `config`, `var`, ...) and date variables are globals whose
 * getters read the render in progress. Rendering is synchronous, so one "active" render at a
 * time is a fact, not an assumption; it is what lets macros defined in `macros/` see `ds`,
 * `this` and call `ref()` exactly as the model that calls them would.
 */

/** What the globals of one render read and record. */
export interface RenderHooks {
  readonly variables: Readonly<Record<string, unknown>>;
  ref(name: string): string;
  /**
   * The table name of the node `ref(name)` reads (its alias, else its name): what the ref's
   * `.identifier`, `.name` and `.table` say. Left out, they say the name.
   */
  identifierOf?(name: string): string;
  /**
   * Where the node `ref(name)` reads lives, when that is known as this template renders (as a
   * task runs: every node is placed by then): what the ref's `.database` and `.schema` say.
   */
  placeOf?(name: string): { readonly database: string; readonly schema: string } | undefined;
  /** `source('src', 'table')`: a table pipe reads and does not build (see sources.ts). */
  source(source: string, table: string): string;
  config(options: Record<string, unknown>): void;
  /**
   * `config.get(key)`: the value the node's config holds for `key`, undefined where nothing sets
   * it; left out where no node's config is there to read (a check, an on-run-start statement).
   */
  configValue?(key: string): unknown;
  var(name: string, fallback: unknown, hasFallback: boolean): unknown;
  isIncremental(): boolean;
  /** dbt's render phase (see jinja/introspection.ts); none: the parse. */
  readonly phase?: RenderPhase;
  /** The render is of a full refresh (`--full-refresh`): dbt's flags.FULL_REFRESH. */
  readonly fullRefresh?: boolean;
  /**
   * The render is of a dbt test, and this is what its config says of keeping its failing rows:
   * should_store_failures() answers it. Elsewhere it answers `--store-failures`, as dbt's does
   * for a node whose config does not set store_failures.
   */
  readonly storeFailures?: boolean;
  /**
   * The text has its ref tokens resolved (a model's): relations of the warehouse's own database
   * that templates make print as tokens too, which name the database inside a string literal
   * (see checks.ts relationToken).
   */
  readonly relationTokens?: boolean;
  /** The text is thrown away (the parse of a model rendered again at run time): an undefined value prints as nothing, as in dbt. */
  readonly discardsText?: boolean;
  /** The same parse, in a dbt project: config.get() gives the empty string, as dbt's parse does (see config-object.ts). */
  readonly configAtParse?: boolean;
  /** Where log(), print() and exceptions.warn() go; left out, they go nowhere. */
  report?(message: TemplateMessage): void;
  /** Environment variables env_var() reads instead of the process's (a unit test's `overrides: env_vars:`). */
  readonly envVars?: Readonly<Record<string, unknown>>;
  /**
   * What macros give instead of running (a unit test's `overrides: macros:`), by the name a
   * template calls them by: `name`, or `package.name` (see overriddenMacro).
   */
  readonly macros?: ReadonlyMap<string, unknown>;
}

/**
 * The value a render's overrides give a macro called as `called` (`name`, or `namespace.name`),
 * as dbt puts a unit test's overrides in the render's context: each replaces the name it is
 * keyed by, so `bounds` stands for calls of `bounds()` and `shop.bounds` for calls of
 * `shop.bounds()`, not for each other. dbt's own macros are the exception: `name` and
 * `dbt.name` stand for both calls, `name` first. `alsoAs` is one more key: a package's macro
 * that pipe lets a template call by its bare name answers to `package.name` too. Undefined when
 * no override applies (see RenderHooks.macros).
 */
export function overriddenMacro(overrides: ReadonlyMap<string, unknown> | undefined, called: string, alsoAs?: string): { readonly value: unknown } | undefined {
  if (overrides === undefined || overrides.size === 0) return undefined;
  const dot = called.indexOf('.');
  const keys = dot < 0 ? [called, `dbt.${called}`] : called.startsWith('dbt.') ? [called.slice(dot + 1), called] : [called];
  if (alsoAs !== undefined) keys.push(alsoAs);
  for (const key of keys) if (overrides.has(key)) return { value: overrides.get(key) };
  return undefined;
}

export class RenderFailure extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

/** Two definitions of one macro name, reported at the second. */
function duplicateMacro(name: string, first: DiagnosticLocation, second: DiagnosticLocation): Diagnostic {
  return error('duplicate-macro', `macro ${name} is defined twice: at ${first.file}:${first.line} and here`, second, {
    hint: 'rename or remove one of them: which one a call reaches would depend on the order the files are read in (dbt refuses them too)',
    related: [{ message: 'first defined here', location: first }],
  });
}


const POSITION_RE = /^\(([^)]*)\)(?: \[Line (\d+), Column (\d+)\])?\s*\n?\s*/;

/**
 * An error inside a macro: Nunjucks would report it at the macro file's line but under the
 * calling model's name. Macros are wrapped so that the error keeps the macro's own file and
 * line, and the model's call becomes a related location.
 */
class MacroFailure extends Error {
  constructor(
    /** The macro the rendering template called: the outermost of those the failure passed through. */
    public macro: string,
    readonly diagnostic: Diagnostic,
  ) {
    super(diagnostic.message);
  }
}

/** The macro's diagnostic, with where the template being rendered called the macro. */
function calledFrom(failure: MacroFailure, e: unknown, file: string, source: string | undefined): Diagnostic {
  const raw = e instanceof Error ? e.message : String(e);
  const m = POSITION_RE.exec(raw);
  let at: { line: number; column: number } | undefined = m && m[2] !== undefined ? { line: Number(m[2]) + 1, column: Number(m[3]) + 1 } : undefined;
  const callRe = new RegExp(`\\b${escapeRegExp(failure.macro)}\\s*\\(`, 'g');
  // The position is the last call evaluated, which may be one in the macro's arguments
  // (`m(b=cols())`): the call of the macro is the nearest before it.
  if (at && source !== undefined) at = callBefore(source, at, callRe) ?? at;
  if (!at && source !== undefined) at = firstMatch(source, new RegExp(callRe.source));
  const d = failure.diagnostic;
  const call = { message: `reached through ${failure.macro}(), called here`, location: { file, ...at } };
  return { ...d, related: [...(d.related ?? []), call] };
}

/**
 * Nunjucks reports positions inconsistently: parse errors and undefined output are 1-based,
 * errors raised while calling a function are 0-based (and dropped entirely on line 0).
 */
function templateDiagnostic(e: unknown, file: string, phase: 'parse' | 'render', source?: string, functionNames: () => readonly string[] = () => []): Diagnostic {
  const raw = e instanceof Error ? e.message : String(e);
  const m = POSITION_RE.exec(raw);
  let message = m ? raw.slice(m[0].length) : raw;
  message = message.replace(/^(Template render error: )?/, '').replace(/^Error: /, '').trim();
  // Parsed or run deeper than JavaScript's stack holds (parentheses or tags hundreds deep, in
  // one another): no position survives, the file is the place.
  if (/^(RangeError: )?Maximum call stack size exceeded/.test(message)) {
    return error(phase === 'parse' ? 'template-syntax' : 'template-render', 'the template nests too deep to be read: expressions, parentheses or tags inside one another hundreds deep; split it (e.g. with {% set %})', { file });
  }
  let line: number | undefined;
  let column: number | undefined;
  const own = e as { lineno?: unknown; colno?: unknown };
  const at = jinjaPosition(e);
  if (at) {
    // Our own errors know their expression: exact, 1-based, and in the file that holds it.
    return error(phase === 'parse' ? 'template-syntax' : 'template-render', message, at);
  }
  if (m && m[2] !== undefined) {
    line = Number(m[2]);
    column = Number(m[3]);
  } else if (typeof own.lineno === 'number' && typeof own.colno === 'number') {
    // An error caught inside a macro, before Nunjucks adds the position to its message.
    line = own.lineno;
    column = own.colno;
  }
  if (line !== undefined && column !== undefined) {
    const oneBased = phase === 'parse' || message.startsWith('attempted to output') || message.startsWith(INEXACT_WHOLE);
    if (!oneBased) {
      line += 1;
      column += 1;
    }
  }
  // Nunjucks names its parser's method first (`parseIf: expected elif, else, or endif`): no word of the template's.
  message = message.replace(/^parse[A-Z]\w*: /, '');
  // "expected variable end" where the text goes on past an unclosed {{ (or block end past {%):
  // the opener that is never closed is the place, not where the parser gave up.
  const unclosedEnd = /^expected (variable|block|comment) end/.test(message);
  if ((line === undefined || unclosedEnd) && source !== undefined && phase === 'parse') {
    const open = unclosedAt(source);
    if (open && (line === undefined || open.line < line || (open.line === line && open.column <= (column ?? 1)))) {
      line = open.line;
      column = open.column;
      message = `${message}: ${open.what} opened here is never closed`;
    }
  }
  let hint: string | undefined;
  if (message.startsWith('attempted to output null or undefined value')) {
    const expr = source && line ? outputExpression(source, line, column ?? 1) : undefined;
    if (expr === 'hour') hint = HOUR_UNSET;
    // `model.meta.owner` above the config(meta=...) that sets it: dbt's run renders it knowing the whole config.
    else if (expr && /^(model|config)\b/.test(expr) && source && line && /\bconfig\s*\(/.test(source.split('\n').slice(line).join('\n'))) {
      hint = 'a config() call further down may set what this reads: a model renders top to bottom, so put that config() call first';
    }
    // A call's value is what its macro returned: the call itself is defined.
    message = expr
      ? /\)\s*$/.test(expr)
        ? `'${expr}' gives an undefined value (or null) to the template output: what the macro returns is undefined`
        : `'${expr}' is undefined (or null) in template output`
      : 'undefined value in template output (unknown variable, or a value that is null)';
  }
  const call = /^Unable to call `([^`]+)`, which is undefined or falsey/.exec(message);
  const filter = /^filter not found: (\S+)/.exec(message);
  if (call) {
    // Nunjucks names a call's value `the return value of (ref)`: said as written, `ref(...)`.
    const name = call[1].replace(/\["([^"]+)"\]/g, '.$1').replace(/the return value of \(([^()]*)\)/g, '$1(...)');
    message = `${name}() is not defined`;
    const owner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined;
    const functions = functionNames();
    if (DBT_ADAPTER_MACROS.has(name)) {
      message = `${name}() is a macro of dbt's that pipe does not implement`;
      hint = 'write the SQL it stands for, or read the warehouse with run_query() or adapter.get_columns_in_relation()';
    } else {
      // A package's macro of that name, called without the package's name (dbt calls it so from the package's own nodes alone).
      const qualified = owner === undefined ? functions.find((f) => f.endsWith(`.${name}`) && !f.startsWith('dbt.')) : undefined;
      hint =
        (qualified !== undefined ? `${qualified.slice(0, qualified.indexOf('.'))} has a macro of that name: call it ${qualified}()` : undefined) ??
        didYouMean(name, functions) ??
        (owner ? `${owner} has no function ${name.slice(owner.length + 1)}()` : `no macro of the project (macros/*.sql) or of an installed package is named ${name}, nor is it a function of dbt's context`);
    }
    if (line === undefined && source !== undefined) {
      // A call of what a call returned (`ref('b').include()`) is named by Nunjucks, not as written: found by its method.
      const method = name.slice(name.lastIndexOf('.') + 1);
      const whole = name.includes('(...)') ? undefined : firstMatch(source, new RegExp(`${escapeRegExp(name)}\\s*\\(`));
      ({ line, column } = whole ?? (owner ? firstMatch(source, new RegExp(`\\.\\s*${escapeRegExp(method)}\\s*\\(`)) : undefined) ?? {});
    }
  } else if (line === undefined && source !== undefined) {
    // Nunjucks drops the position of an error raised on the first line; find the call.
    const named = /^(var|environment variable) '([^']+)'/.exec(message);
    const fn = /^([\w.]+)\(\) (?:takes|needs|got)/.exec(message);
    const dispatch = /^adapter\.dispatch found no macro for '(\w+)'/.exec(message);
    const refusedName = /^(dbt_version) is not supported by pipe/.exec(message);
    const re = refusedName
      ? new RegExp(`(?<![.\\w])${refusedName[1]}\\b`)
      : named
        ? new RegExp(`\\b${named[1] === 'var' ? 'var' : 'env_var'}\\s*\\(\\s*['"]${escapeRegExp(named[2])}['"]`)
        : fn
          ? new RegExp(`\\b${escapeRegExp(fn[1])}\\s*\\(`)
          : dispatch
            ? new RegExp(`\\bdispatch\\s*\\(\\s*['"]${dispatch[1]}['"]`)
            : undefined;
    if (re) ({ line, column } = firstMatch(source, re) ?? {});
  }
  if (filter) {
    message = `unknown filter '${filter[1]}'`;
    if (line === undefined && source !== undefined) ({ line, column } = firstMatch(source, new RegExp(`\\|\\s*${escapeRegExp(filter[1])}\\b`)) ?? {});
  }
  // dbt's context has it, pipe's has not (unsupported-jinja.ts finds it in models; a run hook meets it as it renders).
  if (/(?<![.\w])dbt_version\b/.test(message)) hint = dbtVersionHint(file);
  const code = phase === 'parse' ? 'template-syntax' : hint === HOUR_UNSET ? UNSET_HOUR : 'template-render';
  return error(code, message, { file, line, column }, hint ? { hint } : undefined);
}

/**
 * What a template reading dbt_version is told: a package's code is not the user's to edit, and
 * a var of the package is what turns its hook or macro off (elementary's `edr_cli_run`).
 */
function dbtVersionHint(file: string | undefined): string {
  const pkg = file === undefined ? undefined : /(?:^|\/)dbt_packages\/([^/]+)\//.exec(file)?.[1];
  if (pkg === undefined) return DBT_VERSION_HINT;
  return `pipe is not a version of dbt, and this is the installed package ${pkg}'s code: a var of the package may turn this macro or hook off (see its documentation; elementary's: edr_cli_run: true, with its models disabled)`;
}

/** dbt's own macros that projects and packages call by their bare name, which pipe has none of: said so when one is called. */
const DBT_ADAPTER_MACROS: ReadonlySet<string> = new Set([
  'create_table_as',
  'create_view_as',
  'get_create_table_as_sql',
  'get_create_view_as_sql',
  'make_temp_relation',
  'make_intermediate_relation',
  'make_backup_relation',
  'drop_relation_if_exists',
  'alter_column_type',
  'alter_relation_add_remove_columns',
  'list_relations_without_caching',
  'get_catalog',
]);

/** The code of the error of a template that uses `hour` where an interval of whole days leaves it unset (see DateVariables.hour). */
export const UNSET_HOUR = 'unset-hour';

/** Why `hour` is undefined: the run covers whole days. */
const HOUR_UNSET =
  'hour is set only when a run covers one hour (an hourly pipeline, pipe run --hour), and this one covers whole days: filter on interval_start and interval_end, which bound either';

/** Line and column (1-based) of the first match of `re` inside a `{{ }}` or `{% %}` of the source. */
/** The call `re` (global) finds at `at`, or else the last one before it; undefined when there is none. */
function callBefore(source: string, at: { line: number; column: number }, re: RegExp): { line: number; column: number } | undefined {
  const lines = source.split('\n');
  if (at.line > lines.length) return undefined;
  const offset = lines.slice(0, at.line - 1).reduce((n, l) => n + l.length + 1, 0) + at.column - 1;
  let last: number | undefined;
  for (const m of source.matchAll(re)) {
    if (m.index > offset) break;
    last = m.index;
  }
  return last === undefined ? undefined : positionOf(source, last);
}

function firstMatch(source: string, re: RegExp): { line: number; column: number } | undefined {
  const tags = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;
  let t: RegExpExecArray | null;
  while ((t = tags.exec(source))) {
    const m = re.exec(t[0]);
    if (m) return positionOf(source, t.index + m.index);
  }
  return undefined;
}

const BLOCK_TAGS = new Set(['if', 'for', 'macro', 'call', 'filter', 'block', 'raw', 'verbatim']);

/**
 * Where a template opens something it never closes: a comment, an expression, a tag, or a
 * block tag (`if`, `for`, `macro`, ...) without its end tag. Nunjucks reports these at the
 * end of the file, without a line.
 */
function unclosedAt(source: string): { line: number; column: number; what: string } | undefined {
  const stack: { name: string; offset: number }[] = [];
  const re = /\{#|\{\{|\{%-?\s*(\w+)?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(source))) {
    const kind = m[0].slice(0, 2);
    const close = kind === '{#' ? '#}' : kind === '{{' ? '}}' : '%}';
    const end = source.indexOf(close, m.index + 2);
    const what = kind === '{#' ? 'a comment' : kind === '{{' ? 'an expression {{' : `the tag {% ${m[1] ?? ''}`;
    if (end < 0) return { ...positionOf(source, m.index), what };
    re.lastIndex = end + 2;
    if (kind !== '{%' || !m[1]) continue;
    const name = m[1];
    if (BLOCK_TAGS.has(name) || (name === 'set' && !source.slice(m.index, end).includes('='))) stack.push({ name, offset: m.index });
    else if (name.startsWith('end')) {
      const i = stack.map((e) => e.name).lastIndexOf(name.slice(3));
      if (i >= 0) stack.splice(i, 1);
    }
  }
  const last = stack.pop();
  return last ? { ...positionOf(source, last.offset), what: `{% ${last.name} %}` } : undefined;
}

/** The `{{ ... }}` expression that starts at or before a 1-based position, for naming what was undefined. */
function outputExpression(source: string, line: number, column: number): string | undefined {
  const text = source.split('\n')[line - 1];
  if (text === undefined) return undefined;
  const open = text.lastIndexOf('{{', column + 1);
  if (open < 0) return undefined;
  const close = text.indexOf('}}', open);
  const expr = text.slice(open + 2, close < 0 ? undefined : close).replace(/^-/, '').replace(/-$/, '').trim();
  return expr || undefined;
}

/** Globals Nunjucks itself defines, left out of the names pipe suggests. */
const NUNJUCKS_GLOBALS = new Set(['range', 'cycler', 'joiner']);

/** The macros a dbt project reaches by namespace besides its own (see jinja/namespaces.ts). */
export interface MacroPackages {
  /** The project's name, as dispatch search orders name it. */
  readonly project: string;
  /**
   * Installed packages: their macro files, read under their name, the names of their models and
   * seeds (`ref('pkg', 'name')`), and those of their nodes not built because the project has one
   * of that name (see shadowed-nodes.ts).
   */
  readonly installed: readonly {
    readonly name: string;
    readonly macros: readonly MacroSource[];
    readonly nodes: ReadonlySet<string>;
    readonly shadowed?: ReadonlySet<string>;
  }[];
  /** Packages pipe implements itself, with where each is declared (for the errors of its macros). */
  readonly builtin: readonly { readonly pkg: BuiltinPackage; readonly declaredAt: { readonly file: string; readonly line?: number } }[];
  /** dbt_project.yml's `dispatch:` search orders, by namespace. */
  readonly searchOrders: ReadonlyMap<string, readonly string[]>;
}

/** What TemplateEngine.precompile() learned of a template, for its compile(). */
interface Prepared {
  readonly source: string;
  readonly pkg: string | undefined;
  readonly simple: SimpleTemplate | undefined;
  /** Its program (see jinja/program.ts), when it is not simple and has one: kept, or made on a worker. */
  program: Program | undefined;
  /** Whether it is known to have no program, or a worker tried to make one: compile() does not try again. */
  programTried: boolean;
  /** Its program's key in the program cache (see template-program-cache.ts). */
  readonly programKey: string | undefined;
  /** The environment's options (JSON) the key and code were made with. */
  readonly opts: string;
  /** Its key in the code cache; undefined for a simple template, or without a cache. */
  readonly key: string | undefined;
  /** Its code, compiled on a worker: undefined when it is in a pack, or did not compile. */
  compiled?: PrecompiledCode;
}

export interface CompiledTemplate {
  readonly file: string;
  readonly source: string;
  /** Set when the template needs no Nunjucks to render (see simple-template.ts). */
  readonly simple?: SimpleTemplate;
  /** Set when the template is run as a program rather than compiled by Nunjucks (see jinja/program.ts). */
  readonly program?: Program;
  /** The installed package the template is of: its macros are found by bare name before any other (dbt's order). */
  readonly package?: string;
  /** Nunjucks' compiled template: made at once, or for a simple template when first needed. */
  template?: nunjucks.Template;
  /**
   * Set when the template was not compiled because its render was kept (see render-cache.ts):
   * compiled on the first render that needs it, which reports a parse error then.
   */
  readonly deferred?: boolean;
  /** A deferred template once compiled. */
  made?: CompiledTemplate;
}

/** The node's variables that stand before a package's macro of their name in the package's own macro files (see loadMacros). */
const SHADOWING_VARIABLES = ['model', 'this'] as const;

/** What dbt's context gives on-run-start and on-run-end (see commands/run-hooks.ts), and the macros they call. */
const RUN_HOOK_VARIABLES = ['schemas', 'database_schemas', 'results', 'selected_resources'] as const;

export class TemplateEngine {
  private readonly env: nunjucks.Environment;
  private active: RenderHooks | undefined;
  /** dbt's `selected_resources` of the run in progress (see setSelectedResources), made when first read. */
  private selected: () => readonly string[] = () => [];
  /**
   * How what a template says as text shows the relations it names (the renderer of the
   * analysis using this engine sets it: see ModelRenderer.shownText): an error it raises, what
   * it logs, prints or warns, whose relations are pipe's tokens until then.
   */
  shown: (text: string) => string = (text) => text;
  /** The dicts of the globals as the render in progress changed them, by name (see the constructor). */
  private renderDicts = new Map<string, Record<string, unknown>>();
  /** dbt's `context` of the render in progress, made when first read (see ContextVariable). */
  private renderContext: ContextVariable | undefined;
  /** Where each source table of the warehouse lives (see knowSources). */
  private sourceParts: (name: string) => RelationParts | undefined = () => undefined;
  /** Models with versions, which ref() resolves to one of (model-versions.ts). */
  private versioned: ReadonlyMap<string, VersionedModel> = new Map();
  /** The templates running in the render in progress, innermost last: the model, the macros it calls. */
  private running: { readonly file: string; readonly source: string; readonly package?: string }[] = [];
  /** The failure of a macro during the render in progress (see MacroFailure). */
  private macroFailure: MacroFailure | undefined;
  readonly diagnostics: Diagnostic[] = [];
  /** Names every render provides as variables: the date variables and `this`. */
  private readonly variableNames: ReadonlySet<string>;
  /** Names the macros define: a template using one of them is left to Nunjucks. */
  private readonly macroNames = new Set<string>();
  /** dbt's functions of the context that are macros of dbt's namespace too, as installed (see context-functions.ts). */
  private readonly contextFunctions = new Map<string, unknown>();
  /** The macros defined, with their parameters and file, by name (`pkg.name` for a package's). */
  private readonly signatures = new Map<string, MacroSignature & { readonly file: string }>();
  /** `dbt.<macro>`, each package's macros, and adapter.dispatch among them. */
  private readonly namespaces: MacroNamespaces;

  /**
   * `simpleTemplates: false` sends every template through Nunjucks, `programs: false` every
   * template that is not simple: the references that the fast paths (simple-template.ts,
   * jinja/program.ts) are held to.
   */
  constructor(
    macros: readonly MacroSource[],
    dateVariableNames: readonly string[],
    private readonly options: {
      readonly simpleTemplates?: boolean;
      readonly programs?: boolean;
      /** Values every template sees by name (dbt's `target`). */
      readonly globals?: Readonly<Record<string, unknown>>;
      readonly packages?: MacroPackages;
      /** The run templates render for: invocation_id and run_started_at. */
      readonly invocation?: Invocation;
      /** Where compiled templates are kept between processes (see template-code-cache.ts). */
      readonly codeCache?: TemplateCodeCache;
    } = {},
  ) {
    this.env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
    // dbt's Jinja: its syntax, Python's methods and operators, Jinja's filters, dbt's context functions.
    installJinjaSurface(this.env, {
      invocation: options.invocation ?? { id: randomUUID(), startedAt: Date.now() },
      report: (message) => this.active?.report?.({ ...message, message: this.shown(message.message) }),
      fullRefresh: () => this.active?.fullRefresh === true,
      storeFailures: () => this.active?.storeFailures,
    });
    for (const [name, value] of Object.entries(options.globals ?? {})) {
      if (!isDict(value)) {
        this.env.addGlobal(name, value);
        continue;
      }
      // A dict (dbt's `target`) is each render's own, as dbt makes a node's context afresh:
      // packages keep state in it (`target.update({...})`), which must not reach the next model.
      Object.defineProperty((this.env as unknown as { globals: object }).globals, name, {
        enumerable: true,
        configurable: true,
        get: () => {
          let own = this.renderDicts.get(name);
          if (own === undefined) this.renderDicts.set(name, (own = { ...value }));
          return own;
        },
      });
    }
    // dbt's `context`: each render's own, what a name means there, and what the render keeps in it.
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    Object.defineProperty(globals, 'context', {
      enumerable: true,
      configurable: true,
      get: () => (this.renderContext ??= new ContextVariable((name) => (name === 'context' ? this.renderContext : (this.active?.variables[name] ?? globals[name])))),
    });
    const hooks = (): RenderHooks => {
      if (!this.active) throw new TemplateFunctionError('template functions can only be used while rendering a model');
      return this.active;
    };
    // ref() is a relation, as in dbt (packages check that they are given one); it prints as the ref.
    const refRelation = (name: string) => {
      const h = hooks();
      // Every node is in the warehouse's own database (pipe refuses database:): target.database, placed or not.
      const target = () => (globals.target !== null && typeof globals.target === 'object' ? (globals.target as Record<string, unknown>).database : undefined);
      const place = () => h.placeOf?.(name) ?? (typeof target() === 'string' && target() !== '' ? { database: target() as string, schema: undefined } : undefined);
      return DbtRelation.ofNode(h.ref(name), name, h.identifierOf ? () => h.identifierOf!(name) : undefined, place);
    };
    const ref = (...args: unknown[]) => {
      const { positional, keywords } = splitKeywords(args);
      const version = keywords.v ?? keywords.version;
      const [first, second] = positional.length === 2 && typeof positional[1] === 'string' ? [positional[0], this.refTarget(positional[1], version)] : positional.length === 1 && typeof positional[0] === 'string' ? [this.refTarget(positional[0], version)] : positional;
      if (positional.length === 2 && typeof first === 'string' && typeof second === 'string') {
        // ref('project', 'orders') names the project's own model, ref('package', 'stg_orders') an installed package's, as in dbt.
        if (first === this.options.packages?.project) return refRelation(second);
        const pkg = this.options.packages?.installed.find((p) => p.name === first);
        if (pkg?.nodes.has(second)) return refRelation(second);
        if (pkg?.shadowed?.has(second)) {
          throw new TemplateFunctionError(`ref('${first}', '${second}'): the package's ${second} is not built, the project's own ${second} is: ref('${second}') reads that one`);
        }
        if (pkg) throw new TemplateFunctionError(`ref('${first}', '${second}'): the package ${first} has no model or seed named '${second}'`);
      }
      if (typeof first !== 'string' || positional.length !== 1) {
        throw new TemplateFunctionError("ref() takes one model or seed name, e.g. ref('orders'), or a package's name and one, e.g. ref('shop', 'orders')");
      }
      return refRelation(first);
    };
    this.env.addGlobal('ref', ref);
    const source = (...args: unknown[]) => {
      const { positional } = splitKeywords(args);
      if (positional.length !== 2 || typeof positional[0] !== 'string' || typeof positional[1] !== 'string') {
        throw new TemplateFunctionError("source() takes a source name and a table name, e.g. source('raw', 'orders')");
      }
      const token = hooks().source(positional[0], positional[1]);
      // A table of the warehouse is a relation, as in dbt (`source('raw', 'orders').schema`); a file is its text.
      const parts = this.sourceParts(sourceName(positional[0], positional[1]));
      return parts ? new DbtRelation(token, () => parts) : token;
    };
    this.env.addGlobal('source', source);
    const config = (...args: unknown[]) => {
      const { positional, keywords } = splitKeywords(args);
      if (positional.length === 1 && positional[0] && typeof positional[0] === 'object') {
        Object.assign(keywords, positional[0]);
      } else if (positional.length > 0) {
        throw new TemplateFunctionError("config() takes keyword arguments, e.g. config(materialized='table')");
      }
      hooks().config(plainValues(keywords) as Record<string, unknown>);
      return '';
    };
    const configCall = pyCallable(config, configReaders(hooks), 'config');
    this.env.addGlobal('config', configCall);
    // dbt's `builtins`: the context's own ref, source and config, for a project macro that
    // overrides one of them by name (`{% macro ref() %}{{ return(builtins.ref(*varargs, **kwargs)) }}`).
    this.env.addGlobal('builtins', { ref, source, config: configCall });
    this.env.addGlobal('var', (...args: unknown[]) => {
      const [name, fallback] = bind(VAR_SIGNATURE, args);
      if (typeof name !== 'string') throw new TemplateFunctionError("var() takes a name, e.g. var('country', 'NL')");
      const value = hooks().var(name, fallback === NOT_GIVEN ? undefined : fallback, fallback !== NOT_GIVEN);
      // A text with Jinja in it is rendered where var() is called, as dbt renders vars: "{{ source('raw', 'orders') }}".
      return typeof value === 'string' && (value.includes('{{') || value.includes('{%')) ? this.renderVar(name, value) : value;
    });
    this.env.addGlobal('env_var', (...args: unknown[]) => {
      const [name, fallback] = bind(ENV_VAR_SIGNATURE, args);
      if (typeof name !== 'string') throw new TemplateFunctionError("env_var() takes a name, e.g. env_var('REGION', 'eu')");
      const overrides = hooks().envVars;
      if (overrides && Object.hasOwn(overrides, name)) return String(overrides[name]);
      const value = process.env[name];
      if (value !== undefined) {
        // Anything read from the environment may be a credential: masked wherever pipe writes text.
        secrets.record(value);
        return value;
      }
      if (fallback !== NOT_GIVEN) return fallback;
      throw new TemplateFunctionError(`environment variable '${name}' is not set and env_var() was given no default`);
    });
    this.env.addGlobal('is_incremental', () => hooks().isIncremental());
    // dbt's render(): text rendered as a template where it is called, in the render's context
    // (dbt-unit-testing renders a node's raw_code so, its ref() and source() its own).
    this.env.addGlobal('render', (...args: unknown[]) => {
      hooks();
      const { positional } = splitKeywords(args);
      const text = positional[0];
      if (!isStr(text) || positional.length !== 1) throw new TemplateFunctionError(`render() takes one text, the template to render; got ${positional.length === 1 ? typeName(text) : `${positional.length} arguments`}`);
      return this.renderText(strOf(text));
    });
    // A value from outside the project (a --var, an environment variable) put into SQL as a
    // literal or a name: quoted, so that it can change a query but never end it.
    this.env.addFilter('sqlstring', (v: unknown) => {
      if (v === null || v === undefined) return 'NULL';
      // A list's or a mapping's text would be one literal of its items joined ('eu,us'), never what was meant.
      if (Array.isArray(v) || (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)) {
        throw new TemplateFunctionError(`sqlstring quotes one value, not a ${Array.isArray(v) ? 'list' : 'mapping'}; for a list, quote each: {{ values | map('sqlstring') | join(', ') }}`);
      }
      return quoteLiteral(String(v));
    });
    this.env.addFilter('ident', (v: unknown) => {
      if (typeof v !== 'string' || v === '') throw new TemplateFunctionError('ident takes a non-empty name, e.g. {{ var("column") | ident }}');
      return quoteIdent(v);
    });
    // `model` too: dbt renders the macros a node calls with the node's context, so a macro reads
    // the calling model's `model` as it reads its `this` (the template itself has it as a variable);
    // and a run hook's macros read the run's `results`, `schemas` and `selected_resources`.
    for (const name of [...dateVariableNames, 'this', 'model', ...RUN_HOOK_VARIABLES]) {
      Object.defineProperty((this.env as unknown as { globals: object }).globals, name, {
        enumerable: true,
        configurable: true,
        get: () => this.active?.variables[name] ?? (name === 'selected_resources' ? this.selectedOf(this.active) : undefined),
      });
    }
    this.variableNames = new Set([...dateVariableNames, 'this']);
    this.namespaces = this.installNamespaces(options.packages, hooks);
    installIntrospection(this.env, () => this.active?.phase);
    // Kept before the project's and packages' macros may take their names (see context-functions.ts).
    for (const name of CONTEXT_MACRO_NAMES) this.contextFunctions.set(name, globals[name]);
    for (const macro of macros) this.loadMacros(macro);
    const byName = new Map<string, string[]>();
    for (const pkg of options.packages?.installed ?? []) {
      const members: Record<string, MacroFn> = {};
      for (const macro of pkg.macros) this.loadMacros(macro, { name: pkg.name, members });
      this.namespaces.addPackage(pkg.name, members);
      this.env.addGlobal(pkg.name, members);
      for (const name of Object.keys(members)) pushTo(byName, name, `${pkg.name}.${name}`);
    }
    this.addPackageGlobals(byName);
    this.addProjectNamespace(options.packages?.project);
  }

  /**
   * The project's macros under its name too (`{{ shop.cents('amount') }}` in the project
   * `shop`), as dbt gives every package's, the root project's included; unless that name is
   * taken (a package, a function of pipe's).
   */
  private addProjectNamespace(project: string | undefined): void {
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    if (project === undefined || Object.hasOwn(globals, project)) return;
    const members: Record<string, MacroFn> = {};
    // Called as `shop.cents()`, a unit test's override of `shop.cents` stands for it, not one of `cents` (see overriddenMacro).
    for (const name of this.macroNames) members[name] = this.asCalled(`${project}.${name}`, this.macroRuns.get(name)!);
    this.env.addGlobal(project, members);
    this.projectNamespace = { name: project, members };
  }

  /** The project's macros under its name (see addProjectNamespace), when they are there. */
  private projectNamespace: { readonly name: string; readonly members: Namespace } | undefined;

  /** Each macro of a macro file, run without regard to overrides, by its qualified name (`name` of the project's, `package.name`). */
  private readonly macroRuns = new Map<string, MacroFn>();

  /** The project's models with versions: `ref('m')` reads the latest, `ref('m', v=1)` version 1. */
  knowVersions(versioned: ReadonlyMap<string, VersionedModel>): void {
    this.versioned = versioned;
  }

  /** The model a ref() of `name` (and a version) reads. */
  private refTarget(name: string, version?: unknown): string {
    if (this.versioned.size === 0 && version === undefined) return name;
    const target = refTarget(this.versioned, name, version);
    if (typeof target !== 'string') throw new TemplateFunctionError(target.problem);
    return target;
  }

  /** Where the project's source tables live, by `src.table`: what source().database, .schema and .identifier give. */
  knowSources(parts: (name: string) => RelationParts | undefined): void {
    this.sourceParts = parts;
  }

  /** Where a source table lives, as `source(src, table)` answers its `.database`, `.schema` and `.identifier`. */
  sourcePlace(source: string, table: string): RelationParts | undefined {
    return this.sourceParts(sourceName(source, table));
  }

  /** Macros of installed packages that templates call by their bare name (see addPackageGlobals). */
  private readonly packageGlobals = new Set<string>();

  /**
   * A package's models call its macros by their bare names (`{{ cents_to_dollars('amount') }}`),
   * as dbt lets a package's nodes: each such macro is a name of its own, unless the project, dbt
   * or a second package has a macro of that name (then it is called by `package.name`, never
   * picked silently). A package's `generate_*_name` names only its own nodes (analyze.ts).
   */
  private addPackageGlobals(byName: ReadonlyMap<string, readonly string[]>): void {
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    for (const [name, qualified] of byName) {
      if (qualified.length !== 1 || name.startsWith('_') || /^generate_\w+_name$/.test(name) || Object.hasOwn(globals, name)) continue;
      this.env.addGlobal(name, this.asCalled(name, this.macroRuns.get(qualified[0])!, qualified[0]));
      this.packageGlobals.add(name);
    }
  }

  /**
   * dbt's namespaces: `dbt.<macro>` (whose macros are names of their own too, below the
   * project's), pipe's own packages and `adapter.dispatch` (`return()` is jinja/dbt-context.ts's).
   */
  private installNamespaces(packages: MacroPackages | undefined, hooks: () => RenderHooks): MacroNamespaces {
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    const fn = (v: unknown) => (typeof v === 'function' ? (v as MacroFn) : undefined);
    const namespaces = new MacroNamespaces({
      project: packages?.project ?? 'project',
      projectMacro: (name) => (this.macroNames.has(name) ? fn(globals[name]) : undefined),
      // dbt's order: the macros of the package whose node is rendered, then the project's and dbt's.
      global: (name) => fn(this.renderedPackageMacro(name) ?? globals[name]),
      value: (name) => globals[name],
      contextFunction: (name) => this.contextFunctions.get(name),
      searchOrders: packages?.searchOrders ?? new Map(),
      var: (name, fallback, hasFallback) => hooks().var(name, fallback, hasFallback),
      config: (options) => hooks().config(plainValues(options) as Record<string, unknown>),
      configValue: (key) => this.active?.configValue?.(key),
      flag: (name) => (globals.flags as { getattr(name: string): unknown }).getattr(name),
      resolve: (text) => this.active?.phase?.resolve(text) ?? text,
      overridden: (qualified) => overriddenMacro(this.active?.macros, qualified),
    });
    const dbt = namespaces.addBuiltin(DBT_MACROS);
    for (const [name, macro] of Object.entries(dbt)) if (!CONTEXT_MACRO_NAMES.has(name)) this.env.addGlobal(name, macro);
    this.builtinNames = new Set(Object.keys(dbt));
    for (const { pkg, declaredAt } of packages?.builtin ?? []) {
      namespaces.addBuiltin(pkg);
      for (const m of pkg.macros) {
        const params = m.params.map((p) => ({ name: p.name, hasDefault: Object.hasOwn(p, 'default') }));
        this.signatures.set(`${pkg.name}.${m.name}`, { name: m.name, params, line: declaredAt.line ?? 1, takesKwargs: m.takesKwargs ?? false, file: declaredAt.file });
      }
    }
    for (const [name, members] of namespaces.entries()) this.env.addGlobal(name, members);
    this.env.addGlobal('adapter', namespaces.adapter());
    return namespaces;
  }

  /** A macro of the installed package whose template is rendered (a package's model calls them by bare name first). */
  private renderedPackageMacro(name: string): unknown {
    const pkg = this.running[0]?.package;
    return pkg === undefined ? undefined : this.namespaceOf(pkg)?.[name];
  }

  /** dbt's macros that are names of their own (`dateadd`): left out of the names pipe suggests. */
  private builtinNames: ReadonlySet<string> = new Set();

  /** A macro a template calls by name, or by `namespace.name`. */
  private macroFunction(name: string): MacroFn | undefined {
    const dot = name.indexOf('.');
    if (dot < 0) {
      const value = (this.env as unknown as { globals: Record<string, unknown> }).globals[name];
      return typeof value === 'function' ? (value as MacroFn) : undefined;
    }
    const namespace = name.slice(0, dot);
    const members = this.projectNamespace?.name === namespace ? this.projectNamespace.members : this.namespaceOf(namespace);
    const value: unknown = members?.[name.slice(dot + 1)];
    return typeof value === 'function' ? (value as MacroFn) : undefined;
  }

  private namespaceOf(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  /** Whether `namespace.macro()` can be called: a macro of dbt's, of an installed package, or of pipe's own package. */
  hasNamespacedMacro(namespace: string, macro: string): boolean {
    return this.namespaces.has(namespace, macro);
  }

  private loadMacros(file: MacroSource, pkg?: { readonly name: string; readonly members: Record<string, MacroFn> }): void {
    // A dbt generic test (`{% test name(...) %}`) is the macro `test_name`, a materialization one nobody calls, line for line.
    const macro = { file: file.file, source: materializationsAsMacros(testBlocksAsMacros(file.source)) };
    try {
      const template = this.template(macro.source, macro.file, pkg !== undefined);
      // getExported runs the macro file's top level once; with no callback-free API in the
      // typings, the callback form is synchronous for templates without async filters.
      let exported: Record<string, unknown> | undefined;
      let failure: unknown;
      (template as unknown as {
        getExported(ctx: object, parentFrame: null, cb: (err: unknown, exp: Record<string, unknown>) => void): void;
      }).getExported({}, null, (err, exp) => {
        failure = err;
        exported = exp;
      });
      if (failure) throw failure;
      const defined = macroSignatures(macro.source);
      const signatures = new Map(defined.map((m) => [m.name, m]));
      // Two macros of one name in a project (or in one package) are an error, as in dbt: which
      // one a call reaches would depend on the order the files are read in.
      for (const [i, m] of defined.entries()) {
        const first = defined.find((d, j) => j < i && d.name === m.name);
        if (first) this.diagnostics.push(duplicateMacro(m.name, { file: macro.file, line: first.line }, { file: macro.file, line: m.line }));
      }
      for (const [name, fn] of Object.entries(exported ?? {})) {
        // dbt renders each macro on its own, with the node's context: a name that context gives
        // (`model`) is the node's even in a package that defines a macro of that name
        // (dbt-unit-testing's `model()`, which it calls as `dbt_unit_testing.model()`).
        if (pkg && (SHADOWING_VARIABLES as readonly string[]).includes(name) && typeof fn === 'function') givesWayTo(fn, (n) => this.active?.variables[n]);
        // Private macros (`_helper`) too: dbt's packages call theirs by namespace, a project by name.
        const qualified = pkg ? `${pkg.name}.${name}` : name;
        const before = this.signatures.get(qualified);
        if (before && before.file !== macro.file) {
          this.diagnostics.push(duplicateMacro(name, { file: before.file, line: before.line }, { file: macro.file, line: signatures.get(name)?.line }));
        }
        const run = this.runMacro(qualified, macro, fn as MacroFn);
        this.macroRuns.set(qualified, run);
        // As called: a package's by `package.name`, the project's by its bare name.
        if (pkg) pkg.members[name] = this.asCalled(qualified, run);
        else {
          this.macroNames.add(name);
          this.env.addGlobal(name, this.asCalled(name, run));
        }
        const signature = signatures.get(name);
        if (signature) this.signatures.set(qualified, { ...signature, file: macro.file });
      }
    } catch (e) {
      this.diagnostics.push(templateDiagnostic(e, macro.file, 'parse', macro.source));
    }
  }

  /** Names a template can call: pipe's functions and the macros of macros/ (asked only by a diagnostic that names some). */
  private readonly functionNames = (): string[] => {
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    const bare = Object.keys(globals).filter((k) => typeof globals[k] === 'function' && !NUNJUCKS_GLOBALS.has(k) && (!this.builtinNames.has(k) || this.macroNames.has(k)));
    return [...bare, ...this.namespacedMacroNames()];
  };

  /** A macro as a template calls it by `called`: what a unit test's override of that name gives, else the macro run. */
  private asCalled(called: string, run: MacroFn, alsoAs?: string): MacroFn {
    return (...args: unknown[]) => {
      const overridden = overriddenMacro(this.active?.macros, called, alsoAs);
      return overridden ? overridden.value : run(...args);
    };
  }

  private runMacro(name: string, macro: MacroSource, fn: MacroFn): MacroFn {
    return (...args: unknown[]) => {
      // Refused before the macro counts as running: the error is the caller's, at its call.
      enterMacro(name);
      this.running.push(macro);
      try {
        return fn(...args);
      } catch (e) {
        // A macro called by this one failed: the innermost failure is the one to report, the
        // outermost macro the one the template called.
        if (this.macroFailure) {
          this.macroFailure.macro = name;
          throw e;
        }
        this.macroFailure = new MacroFailure(name, templateDiagnostic(e, macro.file, 'render', macro.source, this.functionNames));
        throw this.macroFailure;
      } finally {
        this.running.pop();
      }
    };
  }

  /**
   * A template compiled now. An installed package's prints an undefined value as nothing, as
   * dbt does (its macros print variables they set only on some paths); the project's own
   * templates refuse to, which finds misspelt names.
   */
  private template(source: string, file: string, ofPackage: boolean, prepared?: Prepared): nunjucks.Template {
    return this.compiledAs(ofPackage, () => this.newTemplate(source, file, prepared));
  }

  /** `make` run with the environment's options set as a template of a package (or not) is compiled with them. */
  private compiledAs<T>(ofPackage: boolean, make: () => T): T {
    const opts = (this.env as unknown as { opts: { throwOnUndefined: boolean } }).opts;
    opts.throwOnUndefined = !ofPackage;
    try {
      return make();
    } finally {
      opts.throwOnUndefined = true;
    }
  }

  /** What precompile() learned of each template it was given, by path: taken once by compile(), dropped by forgetPrecompiled(). */
  private readonly prepared = new Map<string, Prepared>();

  /**
   * Compiles ahead, on several threads (see template-compile-pool.ts), the templates that
   * compile() would send to Nunjucks and that no pack holds, when there are enough of them to
   * be worth the threads' start; compile() then only turns their code into templates (and
   * does not work out again what precompile() did: whether a template is simple, its key). A
   * template that does not compile is left to compile(), which reports it as ever.
   */
  precompile(templates: readonly { readonly file: string; readonly source: string; readonly pkg?: string }[]): CompileReport | undefined {
    if (compileThreads() <= 1 || templates.length < MIN_PARALLEL_TEMPLATES) return undefined;
    const env = this.env as unknown as { opts: object; asyncFilters: readonly string[]; extensionsList: readonly unknown[] };
    // An extension's code is of this thread: templates are compiled where it lives.
    if (env.extensionsList.length > 0) return undefined;
    const cache = this.options.codeCache;
    const programs = this.programsOn();
    const jobs: { readonly job: CompileJob; readonly prepared: Prepared }[] = [];
    for (const { file, source, pkg } of templates) {
      const simple = this.simpleForm(source, pkg);
      const ofPackage = pkg !== undefined && this.namespaceOf(pkg) !== undefined;
      const prepared: Prepared = this.compiledAs(ofPackage, () => {
        const opts = JSON.stringify(env.opts);
        if (simple) return { source, pkg, simple, program: undefined, programTried: true, programKey: undefined, opts, key: undefined };
        // Most programs are made here by pipe's parser, in less time than they take to cross from
        // a thread; the rest are kept, or are Nunjucks' to parse on the threads.
        const known = programs ? this.knownProgram(source, file) : { key: cache && templateKey(source, file, env as unknown as Parameters<typeof templateKey>[2]) };
        return { source, pkg, simple, program: known.program, programTried: known.program !== undefined || known.none === true, programKey: known.programKey, opts, key: known.key };
      });
      this.prepared.set(file, prepared);
      if (simple || prepared.program) continue;
      const tryProgram = programs && !prepared.programTried;
      // Known to have no program and its code kept: nothing to make.
      if (!tryProgram && prepared.key !== undefined && cache!.has(prepared.key)) continue;
      jobs.push({ job: { path: file, source, opts: JSON.parse(prepared.opts) as object, program: tryProgram }, prepared });
    }
    if (jobs.length < MIN_PARALLEL_TEMPLATES) return undefined;
    const { compiled, report } = compileTemplates(
      jobs.map((j) => j.job),
      env.asyncFilters,
    );
    jobs.forEach(({ job, prepared }, i) => {
      const made = compiled[i];
      prepared.programTried ||= job.program;
      if (made && 'program' in made) {
        // JSON this very build made a moment ago, on a worker: taken as it is.
        prepared.program = JSON.parse(made.program) as Program;
        if (prepared.programKey !== undefined) cache!.programs.keepText(prepared.programKey, made.program);
        return;
      }
      prepared.compiled = made;
      if (made && job.program && prepared.programKey !== undefined) cache!.programs.keep(prepared.programKey, null);
    });
    return report;
  }

  /** Drops what precompile() learned that no compile() took (a template left unrendered). */
  /**
   * The unique ids of the nodes the run in progress builds or tests: dbt's `selected_resources`
   * in the renders as tasks run. The parse sees none, as dbt's, which sets them after parsing.
   */
  setSelectedResources(ids: () => readonly string[]): void {
    let made: readonly string[] | undefined;
    this.selected = () => (made ??= ids());
  }

  private selectedOf(active: RenderHooks | undefined): readonly string[] {
    return active?.phase?.execute ? [...this.selected()] : [];
  }

  forgetPrecompiled(): void {
    this.prepared.clear();
  }

  /** What precompile() learned of this very template (same text, same package), taken once. */
  private takePrepared(file: string, source: string, pkg: string | undefined): Prepared | undefined {
    const prepared = this.prepared.get(file);
    if (!prepared) return undefined;
    this.prepared.delete(file);
    return prepared.source === source && prepared.pkg === pkg ? prepared : undefined;
  }

  hasMacro(name: string): boolean {
    return this.macroNames.has(name);
  }

  /**
   * Whether dbt's macro `name` dispatches to another macro than pipe's own: the project's
   * `default__generate_schema_name` (or one a `dispatch:` search order names) takes the place
   * of dbt's, as in dbt.
   */
  dispatchesAway(name: string): boolean {
    const dbt = this.namespaces.get('dbt');
    const builtins = ADAPTER_PREFIXES.map((prefix) => dbt?.[`${prefix}__${name}`]).filter((f) => f !== undefined);
    try {
      return !builtins.includes(this.namespaces.dispatch(name, 'dbt'));
    } catch {
      return false;
    }
  }

  /** The project's own macros' names. */
  macroNameList(): string[] {
    return [...this.macroNames];
  }

  /** The macros a template can call as `namespace.name`: dbt's, each package's, the project's under its name. */
  namespacedMacroNames(): string[] {
    const spaces: [string, Namespace][] = [...this.namespaces.entries(), ...(this.projectNamespace ? [[this.projectNamespace.name, this.projectNamespace.members] as [string, Namespace]] : [])];
    return spaces.flatMap(([ns, members]) => Object.keys(members).filter((m) => typeof members[m] === 'function').map((m) => `${ns}.${m}`));
  }

  /** Whether a template can call `name` (a macro of the project, dbt's, a package's as `package.name`). */
  callable(name: string): boolean {
    return this.macroFunction(name) !== undefined;
  }

  /**
   * The output of one macro of the project called with `args`, trimmed: how dbt asks a
   * project's generate_schema_name what a model's schema is. `file` is where the answer is
   * needed, for the error.
   */
  callMacro(name: string, args: readonly unknown[], file: string, vars: Readonly<Record<string, unknown>> = {}): string | Diagnostic {
    const call = `{{ ${name}(${args.map((_, i) => `__args[${i}]`).join(', ')}) }}`;
    let template = this.macroCalls.get(call);
    if (!template) {
      template = this.newTemplate(call, '(macro call)');
      this.macroCalls.set(call, template);
    }
    const compiled: CompiledTemplate = { file, source: call, template };
    const refuse = (what: string) => () => {
      throw new TemplateFunctionError(`${what}() cannot be used in ${name}`);
    };
    try {
      // var() reads the vars of the node's package, as dbt's parse gives a naming macro.
      const variable = (n: string, fallback: unknown, hasFallback: boolean) => {
        if (Object.hasOwn(vars, n)) return vars[n];
        if (hasFallback) return fallback;
        throw new TemplateFunctionError(`var '${n}' is not set and has no default`);
      };
      this.active = { variables: {}, ref: refuse('ref'), source: refuse('source'), config: refuse('config'), var: variable, isIncremental: () => false };
      this.macroFailure = undefined;
      // Asked on the renderer's account (a schema's name), not read by the template rendering.
      return unrecorded(() => String(compiled.template!.render({ __args: args })).trim());
    } catch (e) {
      const inMacro = this.macroFailure;
      return inMacro ? calledFrom(inMacro, e, file, undefined) : templateDiagnostic(e, file, 'render', call, this.functionNames);
    } finally {
      this.active = undefined;
      this.macroFailure = undefined;
    }
  }

  /** The calls of callMacro, compiled once: one is made for every node of a dbt project. */
  private readonly macroCalls = new Map<string, nunjucks.Template>();

  /**
   * A template compiled by Nunjucks, or its code read from the code cache: what
   * `new nunjucks.Template(source, env, path, true)` makes, with the same errors.
   */
  private newTemplate(source: string, path: string, prepared?: Prepared): nunjucks.Template {
    const cache = this.options.codeCache;
    const env = this.env as unknown as { opts: { dev?: boolean }; asyncFilters: unknown; extensionsList: unknown };
    // What precompile() found holds for the options it found them with (a package's template is compiled with others).
    const ahead = prepared?.opts === JSON.stringify(env.opts) ? prepared : undefined;
    const key = cache && (ahead?.key ?? templateKey(source, path, this.env as unknown as Parameters<typeof templateKey>[2]));
    for (let cached = key === undefined ? undefined : cache!.load(key); cached !== undefined; cached = cache!.load(key!)) {
      try {
        return this.fromCode(loadCode(cached), path);
      } catch {
        cache!.reject(key!);
      }
    }
    const made = ahead?.compiled;
    let code = made?.code;
    try {
      code ??= N.compiler.compile(source, env.asyncFilters, env.extensionsList, path, env.opts);
    } catch (e) {
      // As Template's own compile reports it (see templateDiagnostic).
      throw N.lib._prettifyError(path, env.opts.dev ?? false, e);
    }
    const template = this.fromCode(loadCode(made?.fn ?? compiledFunction(code)), path);
    if (key !== undefined) cache!.write(key, code);
    return template;
  }

  private fromCode(props: TemplateProps, path: string): nunjucks.Template {
    const code: CompiledCode = { type: 'code', obj: props };
    return new nunjucks.Template(code as unknown as string, this.env, path, true);
  }

  /** The names of the macros the project's macro files define. */
  definedMacros(): string[] {
    return [...this.signatures.keys()];
  }

  /** A macro of the project's macro files, with its parameters and file. */
  macro(name: string): (MacroSignature & { readonly file: string }) | undefined {
    return this.signatures.get(name);
  }

  /**
   * Calls a macro of the project outside any template (a dbt test's definition, given the
   * test's arguments): its output, the template functions it calls answered by `hooks`.
   */
  renderMacroCall(name: string, positional: readonly unknown[], keywords: Readonly<Record<string, unknown>>, hooks: RenderHooks): string {
    const fn = this.macroFunction(name);
    const signature = this.signatures.get(name);
    if (typeof fn !== 'function' || !signature) throw new Error(`internal error: no macro ${name}`);
    this.active = hooks;
    this.macroFailure = undefined;
    this.renderDicts = new Map();
    this.renderContext = undefined;
    try {
      return String((fn as (...args: unknown[]) => unknown)(...positional, { ...keywords, __keywords: true }));
    } catch (e) {
      // Set by the macro's wrapper while it ran (see wrapMacro).
      const inMacro = this.macroFailure as MacroFailure | undefined;
      throw this.failure(inMacro ? inMacro.diagnostic : templateDiagnostic(e, signature.file, 'render', undefined, this.functionNames));
    } finally {
      this.active = undefined;
      this.macroFailure = undefined;
    }
  }

  /** Compiles once; the compiled template is rendered for every date it is needed for. `pkg`: the installed package it is of. */
  compile(file: string, source: string, pkg?: string): CompiledTemplate | Diagnostic {
    const prepared = this.takePrepared(file, source, pkg);
    const simple = prepared ? prepared.simple : this.simpleForm(source, pkg);
    if (simple) return { file, source, simple };
    const own = pkg === undefined ? undefined : this.namespaceOf(pkg);
    const program = prepared?.program ?? (prepared?.programTried ? undefined : this.programForm(source, file, own !== undefined));
    if (program) return { file, source, program, ...(own ? { package: pkg } : {}) };
    try {
      return { file, source, template: this.template(source, file, own !== undefined, prepared), ...(own ? { package: pkg } : {}) };
    } catch (e) {
      return templateDiagnostic(e, file, 'parse', source, this.functionNames);
    }
  }

  /** The template as simple-template.ts renders it without Nunjucks; undefined when it needs Nunjucks. */
  private simpleForm(source: string, pkg: string | undefined): SimpleTemplate | undefined {
    const simple = this.options.simpleTemplates === false ? undefined : parseSimpleTemplate(source, this.variableNames);
    const own = pkg === undefined ? undefined : this.namespaceOf(pkg);
    const macro = (n: string) => this.macroNames.has(n) || this.packageGlobals.has(n) || (own !== undefined && Object.hasOwn(own, n));
    return simple && ![...simple.names].some(macro) ? simple : undefined;
  }

  /** Whether templates may run as programs: not when turned off, nor with extensions or async filters (whose code Nunjucks writes). */
  private programsOn(): boolean {
    const env = this.env as unknown as { asyncFilters: readonly string[]; extensionsList: readonly unknown[] };
    return this.options.programs !== false && env.extensionsList.length === 0 && env.asyncFilters.length === 0;
  }

  /**
   * The template's program (see jinja/program.ts), made with the options it would be compiled
   * with: by pipe's parser, or else from Nunjucks' tree, or kept from an earlier process that
   * made it so; undefined when Nunjucks compiles it.
   */
  private programForm(source: string, file: string, ofPackage: boolean): Program | undefined {
    if (!this.programsOn()) return undefined;
    const env = this.env as unknown as { opts: object };
    return this.compiledAs(ofPackage, () => {
      const known = this.knownProgram(source, file);
      if (known.program || known.none) return known.program;
      const program = programFromNunjucks(source, file, env.opts);
      if (known.programKey !== undefined) this.options.codeCache!.programs.keep(known.programKey, program ?? null);
      return program;
    });
  }

  /**
   * What is known of a template's program without Nunjucks' parser: the one pipe's parser
   * makes, or else one kept by an earlier process, or that it has none (`none`); with the
   * template's keys in the caches when it was looked up there. Called with the options it is
   * compiled with (see compiledAs).
   */
  private knownProgram(source: string, file: string): { program?: Program; none?: boolean; key?: string; programKey?: string } {
    const env = this.env as unknown as { opts: object };
    const program = quickProgram(source, env.opts);
    if (program) return { program };
    const cache = this.options.codeCache;
    const key = cache && templateKey(source, file, env as unknown as Parameters<typeof templateKey>[2]);
    const keyOfProgram = key === undefined ? undefined : programKey(key);
    const kept = keyOfProgram === undefined ? undefined : cache!.programs.load(keyOfProgram);
    return { program: kept ?? undefined, none: kept === null, key, programKey: keyOfProgram };
  }

  /** The vars whose text is being rendered (see renderVar), innermost last. */
  private readonly renderingVars: string[] = [];
  /** The texts rendered in a render (vars' values, what render() was given), compiled, by text. */
  private readonly textTemplates = new Map<string, CompiledTemplate | Diagnostic>();

  /** Text a template gives render() (dbt's), rendered in the render in progress: what it calls is the caller's. */
  private renderText(text: string): string {
    return this.renderHere(text, `${this.running.at(-1)?.file ?? 'a template'} (render())`, {
      unparsed: (problem) => `render() was given a template that does not parse: ${problem}`,
      failed: (problem) => `render() of a template fails: ${problem}`,
    });
  }

  /** A var's text rendered in the render in progress: what it calls (`ref()`, `source()`) is the model's. */
  private renderVar(name: string, text: string): string {
    if (this.renderingVars.includes(name)) throw new TemplateFunctionError(`var '${name}' reads itself while its value renders: ${[...this.renderingVars, name].join(' -> ')}`);
    this.renderingVars.push(name);
    try {
      return this.renderHere(text, `var ${name}`, {
        unparsed: (problem) => `var '${name}' is a template that does not parse: ${problem}`,
        failed: (problem) => `var '${name}' (${text.trim()}) fails to render: ${problem}`,
      });
    } finally {
      this.renderingVars.pop();
    }
  }

  /** Text rendered as a template in the render in progress (compiled once per text, as `file`); its problems said as `say` words them. */
  private renderHere(text: string, file: string, say: { readonly unparsed: (problem: string) => string; readonly failed: (problem: string) => string }): string {
    let compiled = this.textTemplates.get(text);
    if (!compiled) {
      compiled = this.compile(file, text);
      this.textTemplates.set(text, compiled);
    }
    if ('severity' in compiled) throw new TemplateFunctionError(say.unparsed(compiled.message));
    try {
      return this.render(compiled, this.active!);
    } catch (e) {
      if (e instanceof RenderFailure) throw new TemplateFunctionError(say.failed(e.diagnostic.message));
      throw e;
    }
  }

  /** Where the render in progress printed None already (see noneOutput). */
  private toldNone: Set<string> | undefined;

  /** Tells the render in progress that a template of the project prints None, once per place, at the template running there. */
  private readonly noneOutput = (line: number, column: number): void => {
    // pipe's warning, not the template's message: told by the analysis, of the parse render,
    // not again for each task whose render as it runs prints the same None.
    if (this.active?.phase?.execute) return;
    const { file, source } = this.running[this.running.length - 1];
    const key = `${file}:${line}:${column}`;
    if (this.toldNone?.has(key)) return;
    (this.toldNone ??= new Set()).add(key);
    const expr = outputExpression(source, line, column);
    this.active?.report?.({ kind: 'warn', message: `${expr === undefined ? 'a value' : `'${expr}'`} is None, and prints as None, as in dbt`, at: { file, line, column } });
  };

  /** A render's failure, its message as the user reads it (see shown). */
  private failure(d: Diagnostic): RenderFailure {
    return new RenderFailure({ ...d, message: this.shown(d.message) });
  }

  /** A deferred template compiled on its first render; its parse error, if any, is the render's. */
  private madeNow(template: CompiledTemplate): CompiledTemplate {
    if (!template.made) {
      const made = this.compile(template.file, template.source, template.package);
      if ('severity' in made) throw new RenderFailure(made);
      template.made = made;
    }
    return template.made;
  }

  render(template: CompiledTemplate, hooks: RenderHooks): string {
    const compiled = template.deferred ? this.madeNow(template) : template;
    // A var's text renders inside the render of a model (renderVar): what it changes is set back after.
    const outerActive = this.active;
    const outerFailure = this.macroFailure;
    const outerRunning = this.running;
    const outerTold = this.toldNone;
    const nested = outerActive !== undefined;
    this.active = hooks;
    this.macroFailure = undefined;
    const printedUndefined = printUndefined(hooks.discardsText === true);
    const printedTokens = printRelationsAsTokens(hooks.relationTokens === true);
    // The compiled template is the first template running (it has its file and text).
    this.running = [compiled];
    if (!nested) {
      this.toldNone = undefined;
      this.renderDicts = new Map();
      this.renderContext = undefined;
    }
    const reportedNone = reportNoneOutput(this.noneOutput);
    try {
      if (compiled.simple) {
        noteNames(compiled.simple.names);
        const sql = renderSimpleTemplate(compiled.simple, this.versioned.size === 0 ? hooks : { ...hooks, ref: (name) => hooks.ref(this.refTarget(name)) });
        if (sql !== undefined) return sql;
      }
      // Variables beyond the globals (a run hook's `results`) are the render's context; so are a
      // package's macros for its own templates, which the context finds before the globals.
      const own = compiled.package === undefined ? undefined : this.namespaceOf(compiled.package);
      if (compiled.program) {
        // The program's own context, which its top-level `set` writes: the package's macros
        // are found through its prototype, not copied for each render (hundreds in a package).
        const ctx: Record<string, unknown> = own ? Object.create(own) : {};
        for (const k of Object.keys(hooks.variables)) ctx[k] = hooks.variables[k];
        return runProgram(compiled.program, this.env as unknown as Parameters<typeof runProgram>[1], ctx, compiled.file);
      }
      compiled.template ??= this.template(compiled.source, compiled.file, compiled.package !== undefined);
      return compiled.template.render(own ? { ...own, ...hooks.variables } : hooks.variables);
    } catch (e) {
      const inMacro = this.macroFailure;
      throw this.failure(inMacro ? calledFrom(inMacro, e, compiled.file, compiled.source) : templateDiagnostic(e, compiled.file, 'render', compiled.source, this.functionNames));
    } finally {
      this.active = outerActive;
      this.macroFailure = outerFailure;
      this.running = outerRunning;
      this.toldNone = outerTold;
      printUndefined(printedUndefined);
      printRelationsAsTokens(printedTokens);
      reportNoneOutput(reportedNone);
    }
  }
}

/** The function of a template's compiled code; code that does not compile is pipe's fault, said as such rather than as JavaScript's error. */
function compiledFunction(code: string): () => unknown {
  try {
    return new Function(code) as () => unknown; // eslint-disable-line no-new-func
  } catch (e) {
    throw new Error(`internal error: pipe compiled this template into code that does not run (${(e as Error).message}); please report it with the template`);
  }
}
