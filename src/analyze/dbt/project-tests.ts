import type { Diagnostic, Location } from '../../diagnostics/diagnostics.js';
import { bySameCause } from '../../diagnostics/same-cause.js';
import { dateVariables, type Interval } from '../../dates/dates.js';
import type { ProjectFiles, SingularTestSource } from '../../project/load-project.js';
import { packageOfFile } from '../../project/load-packages.js';
import { CHECK_TARGET, refToken, type Check } from '../checks.js';
import { TestRelation } from '../jinja/relation.js';
import { dbtSchemaName } from './dbt-config.js';
import { AUDIT_SCHEMA } from './test-config.js';
import { RenderFailure, type RenderHooks, type TemplateEngine } from '../template-engine.js';
import { TemplateFunctionError } from '../jinja/errors.js';
import type { DbtProject } from './dbt-project.js';
import { genericTests, unseenAtRun, type DbtTest, type FailuresOf, type GenericTestContext, type NodeState, type RenderedTest, type TestConfigValue, type TestRunPhase } from './dbt-tests.js';
import type { Properties, SourceTable } from './properties.js';
import { recordSource, sourceName, type SourceCall } from '../sources.js';
import { singularTests } from './singular-tests.js';
import { watchedParse } from '../jinja/introspection.js';
import { currentCallSite } from '../jinja/syntax.js';

/**
 * A dbt project's tests, read in one place for analysis: the generic tests of its models',
 * seeds' and sources' properties, and its singular test files, as checks. Their templates
 * (the project's `{% test %}` definitions, the singular test files, Jinja in a config) render
 * in the project's template engine, with the vars of the run.
 */

export interface ProjectTestsInput {
  readonly files: ProjectFiles;
  /** The singular tests to read: those pipe can render (the others' problems are reported elsewhere). */
  readonly singularTests: readonly SingularTestSource[];
  readonly properties: Properties;
  readonly dbt?: DbtProject;
  readonly projectName: string;
  readonly engine: TemplateEngine;
  readonly interval: Interval;
  readonly vars: Readonly<Record<string, unknown>>;
  /** The vars of a test declared in `file`: an installed package's test reads its package's (see var-scopes.ts); else `vars`. */
  readonly varsOf?: (file: string) => Readonly<Record<string, unknown>>;
  readonly node: (name: string) => NodeState | undefined;
  /** The table name of a node (its alias, else its name): a ref's `.identifier` in a test. */
  readonly identifierOf: (name: string) => string;
  /** Where a node is (its database and schema): a generic test's `model.schema` and `model.database`. */
  readonly placeOf?: (name: string) => { readonly database: string; readonly schema: string } | undefined;
  readonly nodeNames: readonly string[];
  /** A macro pipe cannot render yet (its problems are reported elsewhere): a test of it is left out. */
  readonly unrenderableMacro: (name: string) => boolean;
  /** Why a `source()` call, at `at`, reads nothing (see sources.ts); undefined when it reads a declared table. */
  readonly sourceProblem: (call: SourceCall, at: Location) => Diagnostic | undefined;
  readonly unused: (key: string, at: Location) => void;
  /** `--store-failures`: dbt's flags.STORE_FAILURES. */
  readonly storeFailures: boolean;
  /** The schema generate_schema_name makes of a test's custom schema, for its failing rows. */
  readonly failuresSchema: (custom: string, test: FailuresOf) => string;
  /** How pipe names a relation of the warehouse's own database (see ownRelationName). */
  readonly ownRelation: (schema: string, name: string) => string;
  /** dbt's target schema: a singular test's `this.schema` is its audit schema, as the test's node in `graph` has it. */
  readonly targetSchema: string;
}

export interface ProjectTests {
  /** Tests of models and seeds, and singular tests: each is attached to the task that runs it (attach-tests.ts). */
  readonly tests: readonly DbtTest[];
  /**
   * Tests of sources' tables, by `source.table`: a test names its table by the table's ref
   * token, as it names every node it reads, so ModelRenderer.checkSql(table, check, ...) reads
   * the table as the data checked. `pipe test` does not run them yet; they are checked here,
   * so that a mistake in one is reported.
   */
  readonly sourceTests: ReadonlyMap<string, readonly Check[]>;
  /** The qualified name of every test read, enabled or not: what `data_tests:` paths of dbt_project.yml apply to. */
  readonly fqns: readonly (readonly string[])[];
}

export function projectTests(input: ProjectTestsInput, diagnostics: Diagnostic[]): ProjectTests {
  const { properties } = input;
  const specs = [...properties.models.values(), ...properties.seeds.values(), ...properties.snapshots.values()].flatMap((n) => n.tests);
  const fqns: (readonly string[])[] = [];
  const ctx = { ...genericContext(input), named: (fqn: readonly string[]) => fqns.push(fqn) };
  // A package test used in many places is one error with every place it is used.
  const found: Diagnostic[] = [];
  const tests = [...genericTests(specs, ctx, found), ...singular(input, ctx, found)];
  const forSources = sourceTests(properties.sources, ctx, found);
  diagnostics.push(...bySameCause(found));
  return { tests, sourceTests: forSources, fqns };
}

/** The checks of the sources' tests, by `source.table` (see ProjectTests.sourceTests). */
export function sourceTests(sources: readonly SourceTable[], ctx: GenericTestContext, diagnostics: Diagnostic[]): Map<string, Check[]> {
  const out = new Map<string, Check[]>();
  for (const table of sources) {
    if (!table.enabled || table.tests.length === 0) continue;
    const checks = genericTests(table.tests, ctx, diagnostics).map((t) => ({ ...t.check, refs: t.reads.filter((r) => r !== table.name).map((model) => ({ model })) }));
    out.set(table.name, checks);
  }
  return out;
}

function singular(input: ProjectTestsInput, ctx: GenericTestContext, diagnostics: Diagnostic[]): DbtTest[] {
  return singularTests(
    input.singularTests,
    {
      projectName: input.projectName,
      named: ctx.named,
      dbtProject: input.dbt?.file,
      testRoots: input.files.layout.tests,
      node: ctx.node,
      source: ctx.source,
      nodeNames: input.nodeNames,
      render: (test: SingularTestSource, stores: boolean, configValue: TestConfigValue, run?: TestRunPhase) => {
        const compiled = input.engine.compile(test.file, test.sql, test.package?.name);
        if ('severity' in compiled) return compiled;
        return rendering(input, (hooks) => input.engine.render(compiled, hooks), true, run, stores, configValue, test.file, { name: test.name, pkg: test.package?.name ?? input.projectName });
      },
      renderAt: (test: SingularTestSource, stores: boolean, configValue: TestConfigValue, interval: Interval) => {
        const compiled = input.engine.compile(test.file, test.sql, test.package?.name);
        if ('severity' in compiled) return compiled;
        return rendering({ ...input, interval }, (hooks) => input.engine.render(compiled, hooks), true, undefined, stores, configValue, test.file, { name: test.name, pkg: test.package?.name ?? input.projectName });
      },
      renderText: ctx.renderText,
      unused: ctx.unused,
      storeFailuresFlag: input.storeFailures,
      failuresSchema: input.failuresSchema,
      ownRelation: input.ownRelation,
    },
    diagnostics,
  );
}

function genericContext(input: ProjectTestsInput): GenericTestContext {
  const { engine } = input;
  return {
    projectName: input.projectName,
    dbtProject: input.dbt?.file,
    node: input.node,
    identifierOf: input.identifierOf,
    ...(input.placeOf ? { placeOf: input.placeOf } : {}),
    nodeNames: input.nodeNames,
    versioned: input.properties.versioned,
    packageOf: (file) => packageOfFile(input.files.packages?.installed, file),
    source: (source, table, at) => input.sourceProblem({ source, table }, at) ?? sourceName(source, table),
    macro: (name) => engine.macro(name),
    unrenderableMacro: input.unrenderableMacro,
    // `pkg.test_x` is the test pkg.x.
    customTests: engine.definedMacros().flatMap((n) => {
      const m = /^((?:\w+\.)?)test_(\w+)$/.exec(n);
      return m ? [`${m[1]}${m[2]}`] : [];
    }),
    installedPackages: (input.files.packages?.installed ?? []).map((p) => p.name),
    renderMacro: (name, positional, keywords, stores, configValue, run, file) => rendering(input, (hooks) => engine.renderMacroCall(name, positional, keywords, hooks), true, run, stores, configValue, file),
    storeFailuresFlag: input.storeFailures,
    failuresSchema: input.failuresSchema,
    ownRelation: input.ownRelation,
    renderText: (text, at) => {
      const compiled = engine.compile(at.file, text);
      if ('severity' in compiled) return { ...compiled, location: at };
      const r = rendering(input, (hooks) => engine.render(compiled, hooks), false, undefined, undefined, undefined, at.file);
      return 'severity' in r ? { ...r, location: at } : r.sql;
    },
    unused: input.unused,
  };
}

/**
 * One render of a test's template: its ref() and source() calls recorded (as ref tokens), its
 * config() calls collected. `refs: false` is a config value's render, where dbt has neither.
 * Without `run` it is dbt's parse, watched for whether the test renders differently when it
 * runs; when it runs, it may read only what its parse render read. `stores`: what
 * should_store_failures() answers for the test (a config value's render has no test: the flag).
 */
function rendering(
  input: ProjectTestsInput,
  render: (hooks: RenderHooks) => string,
  refs = true,
  run?: TestRunPhase,
  stores?: boolean,
  configValue?: TestConfigValue,
  /** The file that declares the test: its package's vars are the test's. */
  file?: string,
  /** A singular test: what its `this` names (see TestRelation), and its `model`, the test node as dbt's graph has it. */
  self?: { readonly name: string; readonly pkg: string },
): RenderedTest | Diagnostic {
  const parse = run ? undefined : watchedParse();
  const vars = file !== undefined && input.varsOf ? input.varsOf(file) : input.vars;
  const found: string[] = [];
  const configReads: { key: string; value: unknown }[] = [];
  const refSites = new Map<string, Location>();
  const sources: SourceCall[] = [];
  const config: Record<string, unknown> = {};
  const noRefs = (what: string) => {
    if (!refs) throw new TemplateFunctionError(`${what}() cannot be used in a test's config`);
  };
  const hooks: RenderHooks = {
    variables: {
      ...dateVariables(input.interval),
      this: self === undefined ? CHECK_TARGET : new TestRelation(dbtSchemaName(input.targetSchema, AUDIT_SCHEMA), self.name, CHECK_TARGET),
      ...(self === undefined ? {} : { model: singularTestNode(self, file) }),
    },
    ref: (name) => {
      noRefs('ref');
      if (run && !run.parse.refs.includes(name)) throw new TemplateFunctionError(unseenAtRun(`ref('${name}')`));
      if (!found.includes(name)) {
        found.push(name);
        const at = currentCallSite();
        if (at) refSites.set(name, at);
      }
      return refToken(name);
    },
    identifierOf: input.identifierOf,
    source: (source, table) => {
      noRefs('source');
      // A source is never built: one only the run's render reaches is read as it is then, as in
      // a model, once it is known to be declared.
      const problem = run && !run.parse.sources.some((s) => s.source === source && s.table === table) ? input.sourceProblem({ source, table }, { file: '' }) : undefined;
      if (problem) throw new TemplateFunctionError(problem.message);
      return recordSource(sources, source, table, refToken);
    },
    config: (o) => Object.assign(config, o),
    ...(configValue
      ? {
          configValue: (key: string) => {
            const value = configValue(config, key);
            configReads.push({ key, value });
            return value;
          },
        }
      : {}),
    var: (name, fallback, hasFallback) => {
      if (Object.hasOwn(vars, name)) return vars[name];
      if (hasFallback) return fallback;
      throw new Error(`var '${name}' is not set and has no default; pass --var ${name}=VALUE or set it under vars: in pipe.yaml or dbt_project.yml`);
    },
    isIncremental: () => false,
    ...(stores === undefined ? {} : { storeFailures: stores }),
    phase: run?.phase ?? parse,
    // When it runs, what it says is told then (see RenderPhase.report).
    ...(run?.phase.report ? { report: run.phase.report } : {}),
  };
  try {
    const sql = render(hooks);
    return { sql, refs: found, refSites, sources, config, readsWarehouse: parse?.differs ?? true, configReads };
  } catch (e) {
    if (e instanceof RenderFailure) return e.diagnostic;
    throw e;
  }
}

/** A singular test's `model`: the test node's fields dbt's graph gives that packages read (`model.package_name`, `model.unique_id`). */
function singularTestNode(self: { readonly name: string; readonly pkg: string }, file: string | undefined): Record<string, unknown> {
  return { name: self.name, unique_id: `test.${self.pkg}.${self.name}`, package_name: self.pkg, resource_type: 'test', original_file_path: file ?? null };
}
