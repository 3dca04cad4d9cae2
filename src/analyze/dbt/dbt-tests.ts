import { error, warning, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { refTarget, type VersionedModel } from './model-versions.js';
import { didYouMean } from '../../diagnostics/suggest.js';
import type { YamlSource } from '../../project/yaml-file.js';
import { escapeRegExp, quoteIdent, quoteLiteral, sqlPieces, stripTrailingSemicolon } from '../../sql/sql-text.js';
import { isRefToken, refToken, type Check, type CheckRef, type FailuresStore } from '../checks.js';
import { DbtRelation } from '../jinja/relation.js';
import { jsonLoads } from '../jinja/json-yaml.js';
import { isDict } from '../jinja/values.js';
import type { SourceCall } from '../sources.js';
import type { MacroSignature } from '../macro-signatures.js';
import { settingsOf, mergeSettings, type ConfigSetting } from './config-tree.js';
import type { DbtTestSpec } from './properties.js';
import { folderTestSettings, limited, shouldStoreFailures, testConfig, TestConfigReads, testNodeConfig, type TestConfig } from './test-config.js';
import { dbtTestNames, pyStr } from './test-names.js';
import type { RenderPhase } from '../jinja/introspection.js';

/**
 * The generic tests of a dbt project's properties files as pipe's checks, with dbt's
 * semantics: the four built into dbt (`unique`, `not_null`, `accepted_values`,
 * `relationships`) written as dbt's default macros write them, the project's own
 * `{% test %}` definitions rendered with the test's arguments, each test named as dbt names
 * it, configured as dbt configures it, and judged by its `fail_calc`, `warn_if` and
 * `error_if`. Which node's task runs a test is decided afterwards (attach-tests.ts): the
 * query names every node it reads by its ref token, the tested one among them.
 */

export const BUILTIN_TESTS = ['unique', 'not_null', 'accepted_values', 'relationships'] as const;
type BuiltinTest = (typeof BUILTIN_TESTS)[number];

/** The arguments each built-in test takes besides the model and column, as dbt's macros name them, required ones first. */
const BUILTIN_ARGS: { readonly [T in BuiltinTest]: { readonly required: readonly string[]; readonly optional: readonly string[] } } = {
  unique: { required: [], optional: [] },
  not_null: { required: [], optional: [] },
  accepted_values: { required: ['values'], optional: ['quote'] },
  relationships: { required: ['to', 'field'], optional: [] },
};

/** A dbt test as a check, before it is attached to the task that runs it. */
export interface DbtTest {
  /** Its query names every node it reads by ref token, the node tested among them. */
  readonly check: Check;
  /** The nodes it reads, the node tested first when it is one. */
  readonly reads: readonly string[];
  /** The node it tests: a model's, seed's or source table's name (a singular test: the file's). */
  readonly on: DbtTestSpec['on'] | { readonly kind: 'file'; readonly name: string };
  /** A singular test that names no node: run by no node's build but on its own (plan.ts freeTestTasks), and a node of dbt's graph. */
  readonly unrun?: true;
}

/** A test macro's output, and what it asked of the template functions. */
export interface RenderedTest {
  readonly sql: string;
  /** Every model or seed its ref() calls named. */
  readonly refs: readonly string[];
  /** Where each ref() was first called, as the render made it (a ref() of a loop's name has no text to find). */
  readonly refSites?: ReadonlyMap<string, Location>;
  /** The source tables its source() calls named. */
  readonly sources: readonly SourceCall[];
  /** What its config() calls set. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Whether the render read anything that differs when the test runs (`execute`, the warehouse): then it is rendered again then. */
  readonly readsWarehouse: boolean;
  /** What its config.get() and config.require() calls answered, in order (a singular test's). */
  readonly configReads?: readonly { readonly key: string; readonly value: unknown }[];
}

/**
 * What config.get(key) answers in a test's render, given its config() calls so far: none
 * where the render has no test's config to read (a generic test's macro, a config value).
 */
export type TestConfigValue = (calls: Readonly<Record<string, unknown>>, key: string) => unknown;

export interface GenericTestContext {
  readonly projectName: string;
  /** Told each test's qualified name, enabled or not: what dbt_project.yml's `data_tests:` paths apply to. */
  readonly named?: (fqn: readonly string[]) => void;
  /** dbt_project.yml, for the folder configs of tests. */
  readonly dbtProject?: YamlSource;
  /** What a name refers to: a node of the graph, a node switched off, a file that did not render, or nothing. */
  readonly node: (name: string) => NodeState | undefined;
  /** The table name of a node (its alias, else its name): what the relations a test is given say as `.identifier`. */
  readonly identifierOf: (name: string) => string;
  /** Where a node of the graph is (its database and schema), asked of the relations a test is given. */
  readonly placeOf?: (name: string) => { readonly database: string; readonly schema: string } | undefined;
  readonly nodeNames: readonly string[];
  /** Models with versions: `ref('m')` reads the latest, `ref('m', v=1)` version 1. */
  readonly versioned: ReadonlyMap<string, VersionedModel>;
  /** The installed package a file is of (its name and folder), none for the project's own. */
  readonly packageOf: (file: string) => { readonly name: string; readonly dir: string } | undefined;
  /** The node of a source's table (`src.table`), or why `source(src, table)` reads nothing. */
  readonly source: (source: string, table: string, at: Location) => string | Diagnostic;
  /** A macro of the project, with its parameters. */
  readonly macro: (name: string) => (MacroSignature & { readonly file: string }) | undefined;
  /** A macro pipe cannot render yet, reported already: a test it defines is left out. */
  readonly unrenderableMacro: (name: string) => boolean;
  /** The names of the project's generic tests (its `{% test %}` definitions), for suggestions. */
  readonly customTests: readonly string[];
  /** The installed packages, whose generic tests a bare test name finds after the project's own. */
  readonly installedPackages: readonly string[];
  /**
   * Calls a macro of the project, in dbt's parse unless `run` says otherwise; its ref() calls
   * give ref tokens, and should_store_failures() answers `stores`.
   */
  readonly renderMacro: (name: string, positional: readonly unknown[], keywords: Readonly<Record<string, unknown>>, stores: boolean, configValue: TestConfigValue, run?: TestRunPhase, file?: string) => RenderedTest | Diagnostic;
  /** `--store-failures`: tests whose config says nothing of it keep their failing rows. */
  readonly storeFailuresFlag: boolean;
  /** The schema a test's failing rows are kept in, from its custom schema (generate_schema_name). */
  readonly failuresSchema: (custom: string, test: FailuresOf) => string;
  /** How pipe names a relation of the warehouse's own database (see ownRelationName). */
  readonly ownRelation: (schema: string, name: string) => string;
  /** Renders text written with Jinja (`{{ var('x') }}`) in a test's config or arguments. */
  readonly renderText: (text: string, at: Location) => string | Diagnostic;
  /** A config key pipe reads past, for the notice. */
  readonly unused: (key: string, at: Location) => void;
}

/** The test whose failures are kept, as generate_schema_name is given it. */
export interface FailuresOf {
  readonly name: string;
  readonly fqn: readonly string[];
  readonly file: string;
  /** Its config as the node generate_schema_name is given holds it (see testNodeConfig). */
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * Where a test keeps its failing rows, when its config (or `--store-failures`) says it keeps
 * them: in the schema generate_schema_name makes of its `schema` (dbt's `dbt_test__audit`),
 * under its alias.
 */
export function failuresStore(
  config: TestConfig,
  flag: boolean,
  alias: string,
  test: FailuresOf,
  schemaOf: (custom: string, test: FailuresOf) => string,
  relationOf: (schema: string, name: string) => string,
): FailuresStore | undefined {
  if (!shouldStoreFailures(config, flag)) return undefined;
  const schema = schemaOf(config.schema, test);
  const name = config.alias ?? alias;
  return { as: config.storeFailuresAs, schema, name, relation: relationOf(schema, name) };
}

/**
 * A test's render when it runs (dbt's execution render): the phase, and its parse render,
 * whose ref() and source() calls are all it may read then.
 */
export interface TestRunPhase {
  readonly phase: RenderPhase;
  readonly parse: RenderedTest;
}

/** Why a test's render when it runs may not read what its parse render did not. */
export function unseenAtRun(call: string): string {
  return `${call} is reached only when the test runs (execute is true): what a test reads comes from its render with execute false; name it where both renders see it, e.g. a comment: -- depends_on: {{ ${call} }}`;
}

/** What a name of the project is to a test. */
export type NodeState =
  /** A node of the graph. */
  | 'node'
  | 'disabled'
  /** A file that did not render, reported already: tests of it or reading it are left out unreported. */
  | 'unavailable';

/** How a test is carried out: a built-in, or a macro of the project (in the built-in's place, it takes the built-in's arguments in order). */
type Implementation =
  | { readonly kind: 'builtin'; readonly test: BuiltinTest }
  | { readonly kind: 'macro'; readonly macro: string; readonly positionalAs?: BuiltinTest };

const TEST_NAME_RE = /^(?:([A-Za-z_][0-9A-Za-z_]*)\.)?([A-Za-z_][0-9A-Za-z_]*)$/;
const PLAIN_COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Stands for the tested relation while a test macro renders, until its config (its `where`) is known. */
const MODEL_PLACEHOLDER = '\u0001model\u0001';

/** The generic tests of `specs` that are enabled and whose node is, as checks; every problem reported at the test's line. */
export function genericTests(specs: readonly DbtTestSpec[], ctx: GenericTestContext, diagnostics: Diagnostic[]): DbtTest[] {
  return specs.flatMap((spec) => genericTest(spec, ctx, diagnostics) ?? []);
}

function genericTest(spec: DbtTestSpec, ctx: GenericTestContext, diagnostics: Diagnostic[]): DbtTest | undefined {
  const at = spec.location;
  // A test of a node switched off is switched off with it, as in dbt.
  if (ctx.node(spec.on.name) !== 'node') return undefined;
  const m = TEST_NAME_RE.exec(spec.test);
  if (!m) {
    diagnostics.push(error('unknown-test', `'${spec.test}' is not a test name`, at, { hint: 'a test is named like unique, accepted_values or a {% test %} of the project' }));
    return undefined;
  }
  const [, namespace, name] = m;
  const { description: _description, ...args } = spec.args;
  const column = spec.column === undefined ? undefined : spec.quoteColumn ? quoteIdent(spec.column) : spec.column;
  const testType = `${namespace ? `${namespace}_` : ''}${spec.on.kind === 'source' ? 'source_' : ''}${name}`;
  const target = spec.on.kind === 'source' ? spec.on.name.replace('.', '_') : spec.on.name;
  const names = dbtTestNames(testType, target, column === undefined ? args : { ...args, column_name: column });
  const testName = spec.name ?? names.name;

  // dbt's qualified name of a generic test: its package (the project, or the installed package
  // whose properties file declares it), the file's folders in it less the first (models/), and the test's name.
  const pkg = ctx.packageOf(spec.location.file);
  const file = pkg ? spec.location.file.slice(pkg.dir.length + 1) : spec.location.file;
  const fqn = [pkg?.name ?? ctx.projectName, ...file.split('/').slice(1, -1), testName];
  ctx.named?.(fqn);
  const folders = folderTestSettings(ctx.dbtProject, fqn);
  const own = settingsOf(spec.config, () => at);
  const declared = mergeSettings(folders, own);
  // As dbt has it: the definition's config() over the folders', the test's config: over both.
  const withCalls = (calls: ReadonlyMap<string, ConfigSetting>) => mergeSettings(mergeSettings(folders, calls), own);
  // Switched off where it is declared (its config:, or a folder's): never looked up, as in dbt,
  // so a test of a package not installed, or of no package, stops nothing.
  if (declared.get('enabled')?.value === false) return undefined;

  const impl = implementation(namespace, name, spec, ctx, diagnostics);
  if (!impl || (impl.kind === 'macro' && ctx.unrenderableMacro(impl.macro))) return undefined;

  const resolver = new ArgResolver(testName, at, ctx, diagnostics);
  const resolved = resolver.value(args) as Record<string, unknown>;
  if (!resolver.ok) return undefined;
  if (!checkArgs(impl, testName, column, resolved, at, ctx, diagnostics)) return undefined;

  // dbt renders a test knowing its config, which should_store_failures() reads: the folders' and
  // the properties file's, then (when the definition's config() changes the answer) its own.
  let stores = shouldStoreFailures(testConfig(declared, { test: testName, renderText: ctx.renderText, unused: () => undefined }, []), ctx.storeFailuresFlag);
  // config.get() in the definition reads the test's config, as in a singular test.
  const configReads = new TestConfigReads((calls) => withCalls(settingsOf(calls, () => at)));
  const render = () => (impl.kind === 'macro' ? renderDefinition(impl, column, resolved, spec.on.name, testName, stores, at, ctx, diagnostics, configReads.value) : BUILT_IN);
  let definition = render();
  if (!definition) return undefined;
  if (configReads.answerFinal(definition)) {
    definition = render();
    if (!definition) return undefined;
  }
  const settingsWith = (d: RenderedTest & { readonly configAt?: Location }) => withCalls(settingsOf(d.config, () => d.configAt ?? at));
  const rendered = testConfig(settingsWith(definition), { test: testName, renderText: ctx.renderText, unused: () => undefined }, []);
  if (rendered && shouldStoreFailures(rendered, ctx.storeFailuresFlag) !== stores) {
    stores = !stores;
    definition = render();
    if (!definition) return undefined;
  }
  const conflict = configReads.conflict(definition, definition.configAt ?? at);
  if (conflict) {
    diagnostics.push(conflict);
    return undefined;
  }
  // ref() and source() calls the definition makes are nodes the test reads, as dbt records them while parsing.
  for (const r of definition.refs) resolver.ref(undefined, r);
  for (const s of definition.sources) resolver.source(s.source, s.table);
  if (!resolver.ok) return undefined;
  const reads = [spec.on.name, ...resolver.reads.filter((r) => r !== spec.on.name)];

  const config = testConfig(settingsWith(definition), { test: testName, renderText: ctx.renderText, unused: ctx.unused }, diagnostics);
  if (!config || !config.enabled) return undefined;
  const failuresOf = { name: testName, fqn, file: spec.location.file, config: testNodeConfig(config) };
  const store = failuresStore(config, ctx.storeFailuresFlag, spec.name ?? names.alias, failuresOf, ctx.failuresSchema, ctx.ownRelation);

  const tested = refToken(spec.on.name);
  const model = config.where === undefined ? tested : `(select * from ${tested} where ${config.where}) dbt_subquery`;
  const sql = impl.kind === 'builtin' ? builtinSql(impl.test, model, column!, resolved, stores) : definition.sql.replaceAll(MODEL_PLACEHOLDER, model);
  // Its config is the parse render's, as in dbt: the render at run time is given the relation tested as it is then known.
  const atRun =
    impl.kind === 'macro' && definition.readsWarehouse
      ? (phase: RenderPhase) => queryAtRun(testName, at, callDefinition(impl, column, resolved, model, spec.on.name, stores, ctx, configReads.value, { phase, parse: definition }, at.file), config.limit)
      : undefined;
  return {
    on: spec.on,
    reads,
    check: {
      name: testName,
      kind: 'dbt_generic',
      severity: config.severity,
      scope: 'table',
      location: at,
      // Checked before the run where the query reads it: a test of its own (dbt_expectations'
      // expect_column_to_exist) may name a column that is not there on purpose.
      columns:
        spec.on.kind !== 'source' && spec.column !== undefined && (spec.quoteColumn || PLAIN_COLUMN_RE.test(spec.column)) && (impl.kind === 'builtin' || namesColumn(sql, spec.column))
          ? [spec.column]
          : [],
      refs: [],
      ...(impl.kind === 'builtin' && impl.test === 'relationships' ? comparedTo(resolved) : {}),
      sql: limited(sql, config.limit),
      threshold: config.threshold,
      tags: config.tags,
      ...(atRun ? { atRun } : {}),
      ...(store ? { storeFailures: store } : {}),
      dbt: {
        fqn,
        reads,
        alias: spec.name ?? names.alias,
        schema: store?.schema ?? ctx.failuresSchema(config.schema, failuresOf),
        macros: testMacros(impl, name, ctx.projectName),
        generic: {
          test: name,
          ...(namespace ? { namespace } : {}),
          ...(spec.column === undefined ? {} : { column: spec.column }),
          kwargs: { ...spec.args, ...(spec.column === undefined ? {} : { column_name: spec.column }), model: `{{ get_where_subquery(${spec.on.kind === 'source' ? `source('${spec.on.name.replace('.', "', '")}')` : `ref('${spec.on.name}')`}) }}` },
        },
      },
    },
  };
}

/** A test's query from its render when it runs, in the form of its parse render's; an error names the test. */
export function queryAtRun(test: string, at: Location, run: RenderedTest | Diagnostic, limit: number | undefined): string | Diagnostic {
  if ('severity' in run) {
    return { ...run, message: `test ${test}: ${run.message}`, location: run.location ?? at, related: [...(run.related ?? []), { message: `test ${test} is declared here`, location: at }] };
  }
  return limited(stripTrailingSemicolon(run.sql).trim(), limit);
}

/** A built-in test has no definition to render: its SQL is written once its config is known. */
const BUILT_IN: RenderedTest & { readonly configAt?: Location } = { sql: '', refs: [], sources: [], config: {}, readsWarehouse: false };

/**
 * The project's definition of a test rendered with the test's arguments, `model` standing in
 * for the relation tested until the test's `where` is known; a failure points at the
 * definition's line and at the test.
 */
function renderDefinition(
  impl: Extract<Implementation, { kind: 'macro' }>,
  column: string | undefined,
  args: Readonly<Record<string, unknown>>,
  on: string,
  test: string,
  stores: boolean,
  at: Location,
  ctx: GenericTestContext,
  diagnostics: Diagnostic[],
  configValue: TestConfigValue,
): (RenderedTest & { readonly configAt?: Location }) | undefined {
  const rendered = callDefinition(impl, column, args, MODEL_PLACEHOLDER, on, stores, ctx, configValue, undefined, at.file);
  if ('severity' in rendered) {
    diagnostics.push({ ...rendered, related: [...(rendered.related ?? []), { message: `test ${test} is declared here`, location: at }] });
    return undefined;
  }
  const signature = ctx.macro(impl.macro);
  const configAt = signature && { file: signature.file, line: signature.line };
  return { ...rendered, sql: stripTrailingSemicolon(rendered.sql).trim(), configAt };
}

/**
 * A test's definition called with its arguments, `model` the relation tested (the node `on`),
 * when it runs or (no `run`) at the parse; should_store_failures() answers `stores`.
 */
function callDefinition(
  impl: Extract<Implementation, { kind: 'macro' }>,
  column: string | undefined,
  args: Readonly<Record<string, unknown>>,
  model: string,
  on: string,
  stores: boolean,
  ctx: GenericTestContext,
  configValue: TestConfigValue,
  run?: TestRunPhase,
  /** The file declaring the test, whose package's vars it reads. */
  file?: string,
): RenderedTest | Diagnostic {
  const builtin = impl.positionalAs;
  // In a built-in's place, a definition is called as dbt calls the built-in's: by position.
  if (builtin) return ctx.renderMacro(impl.macro, [model, column, ...builtinArgs(builtin).map((a) => args[a] ?? defaultOf(builtin, a))], {}, stores, configValue, run, file);
  // The model tested and every ref() or source() among the arguments are relations, as dbt gives them.
  // (With a `where`, dbt's model is a subquery's text, as here.)
  const ofNode = (token: string, name: string) => DbtRelation.ofNode(token, name, () => ctx.identifierOf(name), ctx.placeOf && (() => ctx.placeOf!(name)));
  const relation = (v: unknown) => (typeof v === 'string' && isRefToken(v) ? ofNode(v, v.slice(1, -1)) : v);
  const tested = model === MODEL_PLACEHOLDER ? ofNode(model, on) : relation(model);
  const given = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, relation(v)]));
  return ctx.renderMacro(impl.macro, [], { model: tested, ...(column === undefined ? {} : { column_name: column }), ...given }, stores, configValue, run, file);
}

/**
 * The macros dbt's parse records a generic test as depending on: its test macro (dbt's own
 * `test_<name>` for a built-in, which a dispatched `default__test_<name>` is reached through;
 * else the definition's, under its package, the project's for an unqualified one), and
 * `get_where_subquery`, which renders the model it is given; dbt's `unique` and `not_null`
 * are not rendered while parsing, and record their macro alone.
 */
function testMacros(impl: Implementation, name: string, project: string): string[] {
  const id = impl.kind === 'builtin' || impl.positionalAs ? `macro.dbt.test_${name}` : impl.macro.includes('.') ? `macro.${impl.macro}` : `macro.${project}.${impl.macro}`;
  return id === 'macro.dbt.test_unique' || id === 'macro.dbt.test_not_null' ? [id] : [id, 'macro.dbt.get_where_subquery'];
}

/** The test's macro or built-in; an unknown test or one of a package is an error naming the tests there are. */
function implementation(namespace: string | undefined, name: string, spec: DbtTestSpec, ctx: GenericTestContext, diagnostics: Diagnostic[]): Implementation | undefined {
  const at = spec.location;
  if (namespace !== undefined && namespace !== ctx.projectName && namespace !== 'dbt') {
    // A package's test: its definition in the package (installed, or pipe's own).
    const macro = `${namespace}.test_${name}`;
    if (ctx.macro(macro)) return { kind: 'macro', macro };
    const ofPackage = ctx.customTests.filter((t) => t.startsWith(`${namespace}.`));
    diagnostics.push(
      ofPackage.length > 0
        ? error('unknown-test', `unknown test '${spec.test}': the package '${namespace}' has no test ${name}`, at, { hint: didYouMean(spec.test, ofPackage) ?? `its tests: ${ofPackage.join(', ')}` })
        : error('unknown-test', `test ${spec.test} comes from the package '${namespace}', which is not installed`, at, {
            hint: `install it (dbt deps) into dbt_packages/, or copy its definition into the project ({% test ${name}(model, ...) %} ... {% endtest %} in tests/generic/) and write the test as ${name}`,
          }),
    );
    return undefined;
  }
  // The project's own definition wins, as in dbt; of a built-in, so does its dispatched implementation.
  if (namespace !== 'dbt' && ctx.macro(`test_${name}`)) return { kind: 'macro', macro: `test_${name}` };
  // Then an installed package's (dbt: the root project's macros, then the packages', then its own), never one of two picked silently.
  const packaged = namespace === 'dbt' ? [] : ctx.installedPackages.filter((p) => ctx.macro(`${p}.test_${name}`));
  if (packaged.length === 1) return { kind: 'macro', macro: `${packaged[0]}.test_${name}` };
  if (packaged.length > 1) {
    diagnostics.push(
      error('unknown-test', `test ${spec.test} is defined by the packages ${packaged.join(' and ')}`, at, {
        hint: `name the one meant with its package, e.g. ${packaged[0]}.${name}`,
      }),
    );
    return undefined;
  }
  if ((BUILTIN_TESTS as readonly string[]).includes(name)) {
    const test = name as BuiltinTest;
    for (const prefix of ['duckdb__', 'default__']) {
      if (ctx.macro(`${prefix}test_${name}`)) return { kind: 'macro', macro: `${prefix}test_${name}`, positionalAs: test };
    }
    return { kind: 'builtin', test };
  }
  diagnostics.push(
    error('unknown-test', `unknown test '${spec.test}': neither a test built into dbt nor a {% test %} of the project`, at, {
      hint:
        didYouMean(name, [...BUILTIN_TESTS, ...ctx.customTests]) ??
        `pipe does not install dbt packages: a test of a package is defined in the project ({% test ${name}(model, column_name) %} under tests/generic/), or removed`,
    }),
  );
  return undefined;
}

function builtinArgs(test: BuiltinTest): string[] {
  return [...BUILTIN_ARGS[test].required, ...BUILTIN_ARGS[test].optional];
}

function defaultOf(test: BuiltinTest, arg: string): unknown {
  return test === 'accepted_values' && arg === 'quote' ? true : undefined;
}

/** The arguments a test is given against what it takes: Jinja refuses an argument a macro does not name, and so does pipe. */
function checkArgs(
  impl: Implementation,
  test: string,
  column: string | undefined,
  args: Readonly<Record<string, unknown>>,
  at: Location,
  ctx: GenericTestContext,
  diagnostics: Diagnostic[],
): boolean {
  const given = Object.keys(args);
  const fail = (message: string, extra: Partial<Pick<Diagnostic, 'hint' | 'related'>> = {}) => {
    diagnostics.push(error('bad-test', `test ${test}: ${message}`, at, extra));
    return false;
  };
  if (impl.kind === 'builtin' || impl.positionalAs) {
    const builtin = impl.kind === 'builtin' ? impl.test : impl.positionalAs!;
    const takes = builtinArgs(builtin);
    const extra = given.find((a) => !takes.includes(a));
    if (extra !== undefined) return fail(`${builtin} takes no argument '${extra}'`, { hint: takes.length > 0 ? `its arguments: ${takes.join(', ')}` : `${builtin} takes only the column it is declared under` });
    if (column === undefined) return fail(`${builtin} tests a column: declare it under the column's data_tests:, or give it column_name:`);
    const missing = BUILTIN_ARGS[builtin].required.find((a) => args[a] === undefined || args[a] === null);
    if (missing !== undefined) return fail(`${builtin} needs the argument '${missing}'`, { hint: BUILTIN_HINTS[builtin] });
    if (builtin === 'accepted_values') {
      const values = args.values;
      if (!Array.isArray(values) || values.length === 0) return fail('values must be a list of the accepted values, e.g. values: [placed, shipped]');
      if (args.quote !== undefined && typeof args.quote !== 'boolean') return fail('quote must be true or false');
    }
    if (builtin === 'relationships') {
      if (typeof args.to !== 'string') return fail("to must name the other model, e.g. to: ref('customers')");
      if (typeof args.field !== 'string' || args.field === '') return fail("field must name the other model's column, e.g. field: customer_id");
    }
    return true;
  }
  const signature = ctx.macro(impl.macro)!;
  const params = signature.params.map((p) => p.name);
  const defined = { message: `${impl.macro.replace(/^test_/, '')} is defined here`, location: { file: signature.file, line: signature.line } };
  if (column !== undefined && !params.includes('column_name') && !signature.takesKwargs) {
    return fail(`the test is declared under a column, but its definition takes no column_name`, { related: [defined] });
  }
  const extra = given.find((a) => !params.includes(a));
  if (extra !== undefined && !signature.takesKwargs) {
    return fail(`the test takes no argument '${extra}'`, { hint: `its arguments: ${params.join(', ')}`, related: [defined] });
  }
  return true;
}

/** The model and column a relationships test compares to, where `to:` is a ref() and `field:` a plain column (see Check.compared). */
function comparedTo(args: Readonly<Record<string, unknown>>): { compared?: Required<CheckRef>[] } {
  const to = String(args.to);
  const field = String(args.field);
  return isRefToken(to) && PLAIN_COLUMN_RE.test(field) ? { compared: [{ model: to.slice(1, -1), column: field }] } : {};
}

const BUILTIN_HINTS: Readonly<Record<BuiltinTest, string | undefined>> = {
  unique: undefined,
  not_null: undefined,
  accepted_values: 'e.g. accepted_values: {values: [placed, shipped]}',
  relationships: "e.g. relationships: {to: ref('customers'), field: customer_id}",
};

/**
 * A test's arguments as dbt renders them: a text that is a call of `ref()`, `source()`,
 * `var()` or `env_var()` is that call's value (a ref() is a ref token, a node the test reads),
 * text with Jinja in it is rendered, lists and mappings are rendered throughout.
 */
class ArgResolver {
  readonly reads: string[] = [];
  ok = true;

  constructor(
    private readonly test: string,
    private readonly at: Location,
    private readonly ctx: GenericTestContext,
    private readonly diagnostics: Diagnostic[],
  ) {}

  value(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    // A mapping's values; a value of its own (a float read from YAML, `1.0`) stays as it is.
    if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x)]));
    if (typeof v === 'object' && v !== null) return v;
    if (typeof v !== 'string') return v;
    const ref = /^\s*ref\s*\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(,[^)]*)?\)\s*$/.exec(v);
    if (ref) {
      const version = ref[5] === undefined ? undefined : /^,\s*(?:v|version)\s*=\s*(?:(['"])([^'"]*)\1|([\w.]+))\s*$/.exec(ref[5]);
      if (ref[5] !== undefined && !version) return this.fail(error('bad-test', `test ${this.test}: ${v.trim()} is not a ref() pipe reads: ref('model'), ref('package', 'model'), or ref('model', v=1)`, this.at));
      const target = refTarget(this.ctx.versioned, ref[4] ?? ref[2], version ? (version[2] ?? version[3]) : undefined);
      if (typeof target !== 'string') return this.fail(error('unknown-ref', `test ${this.test}: ${target.problem}`, this.at));
      return this.ref(ref[4] === undefined ? undefined : ref[2], target);
    }
    const source = /^\s*source\s*\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)\s*$/.exec(v);
    if (source) return this.source(source[2], source[4]);
    if (!/^\s*(var|env_var)\s*\(.+\)\s*$/s.test(v) && !/\{[{%]/.test(v)) return v;
    const text = /\{[{%]/.test(v) ? v : `{{ ${v} }}`;
    const native = this.native(text);
    if (native !== undefined) return native;
    const rendered = this.ctx.renderText(text, this.at);
    if (typeof rendered === 'string') return rendered;
    return this.fail(rendered);
  }

  /**
   * The value of a text that is one expression, when it is not text, as dbt renders test
   * arguments natively: `values: "{{ var('model_types') }}"` is the var's list. Undefined: the
   * text stands (it renders to text, or is no value JSON carries).
   */
  private native(text: string): unknown {
    const expr = /^\s*\{\{([\s\S]*)\}\}\s*$/.exec(text)?.[1];
    if (expr === undefined || expr.includes('}}') || expr.includes('{{')) return undefined;
    const json = this.ctx.renderText(`{{ (${expr}) | tojson }}`, this.at);
    if (typeof json !== 'string') return undefined;
    // Read as Python reads JSON: a float written whole (`[1.0]`) a float.
    const parsed = jsonLoads(json);
    return parsed === undefined || typeof parsed.value === 'string' ? undefined : parsed.value;
  }

  ref(project: string | undefined, name: string): string {
    // A package's model is a node of the one graph, as a model's ref('pkg', 'name') reads it.
    if (project !== undefined && project !== this.ctx.projectName && !this.ctx.installedPackages.includes(project)) {
      return this.fail(error('unknown-ref', `test ${this.test}: ref('${project}', '${name}') names the package '${project}': pipe does not install dbt packages`, this.at));
    }
    const node = this.ctx.node(name);
    if (node === 'node') {
      if (!this.reads.includes(name)) this.reads.push(name);
      return refToken(name);
    }
    if (node === 'unavailable') return this.fail(undefined);
    // dbt switches a test off, with a warning, when a node it reads is switched off.
    if (node === 'disabled') return this.fail(warning('disabled-ref', `test ${this.test} is left out: it reads ${name}, which is disabled (enabled: false)`, this.at));
    // dbt leaves out, with a warning, a test that reads a node the project does not have (a stale name): the rest runs.
    return this.fail(
      warning('unknown-ref', `test ${this.test} is left out: ref('${name}'): no model or seed is named '${name}'`, this.at, { hint: didYouMean(name, this.ctx.nodeNames) ?? 'correct the name, or remove the test' }),
    );
  }

  source(source: string, table: string): string {
    const node = this.ctx.source(source, table, this.at);
    if (typeof node === 'string') {
      if (!this.reads.includes(node)) this.reads.push(node);
      return refToken(node);
    }
    // As with a model switched off, a test reading a source table switched off is left out, with a warning.
    // And as dbt does, one reading a source table the project does not declare.
    if (node.code === 'disabled-source' || node.code === 'unknown-source') return this.fail({ ...node, severity: 'warning', message: `test ${this.test} is left out: ${node.message}` });
    return this.fail({ ...node, message: `test ${this.test}: ${node.message}` });
  }

  /** The test is left out; `d` says why, unless it is said already. */
  private fail(d: Diagnostic | undefined): string {
    if (d) this.diagnostics.push(d);
    this.ok = false;
    return '';
  }
}

/** The failing-rows query of a built-in test, as dbt's default macro writes it (`stores`: what should_store_failures() answers). */
function builtinSql(test: BuiltinTest, model: string, column: string, args: Readonly<Record<string, unknown>>, stores: boolean): string {
  switch (test) {
    case 'unique':
      return `select
    ${column} as unique_field,
    count(*) as n_records

from ${model}
where ${column} is not null
group by ${column}
having count(*) > 1`;
    case 'not_null':
      return `select ${stores ? '*' : column}
from ${model}
where ${column} is null`;
    case 'accepted_values': {
      // dbt puts each value between quotes as it is; a quote inside one is doubled here, so it stays one value.
      const quote = args.quote !== false;
      const values = (args.values as unknown[]).map((v) => (quote ? quoteLiteral(pyStr(v)) : pyStr(v)));
      return `with all_values as (

    select
        ${column} as value_field,
        count(*) as n_records

    from ${model}
    group by ${column}

)

select *
from all_values
where value_field not in (
    ${values.join(',')}
)`;
    }
    case 'relationships':
      return `with child as (
    select ${column} as from_field
    from ${model}
    where ${column} is not null
),

parent as (
    select ${String(args.field)} as to_field
    from ${String(args.to)}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null`;
    default: {
      const never: never = test;
      throw new Error(`internal error: test ${String(never)}`);
    }
  }
}

/** Whether `sql` reads `column`: a word of its code or a quoted identifier of that name, not text in a string or a comment. */
function namesColumn(sql: string, column: string): boolean {
  const wanted = column.toLowerCase();
  const word = new RegExp(`(?<![\\w$])${escapeRegExp(wanted)}(?![\\w$])`, 'i');
  return sqlPieces(sql).some((p) => {
    const text = sql.slice(p.start, p.end);
    if (p.kind === 'identifier') return text.slice(1, -1).replaceAll('""', '"').toLowerCase() === wanted;
    return p.kind === 'code' && word.test(text);
  });
}
