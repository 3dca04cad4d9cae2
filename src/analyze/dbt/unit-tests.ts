import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { refTarget, type VersionedModel } from './model-versions.js';
import { didYouMean } from '../../diagnostics/suggest.js';
import type { FixtureSource } from '../../project/load-project.js';
import type { FixtureSpec, UnitTestSpec } from './unit-test-specs.js';
import { hasJinja } from './properties.js';

/**
 * dbt's unit tests checked against the project: the model exists, each input is a ref() or
 * source() the model reads (or `this` of an incremental model), every input it reads is given,
 * fixture files exist and CSV parses. The result is what planning needs: the rows of each input
 * and of the expectation as literal values, typed only when the test runs (by the input
 * relation's columns, as dbt types them), and the render's overrides.
 */

/** Rows as written, not yet typed: literal values by column, or a query. */
export type FixtureRows =
  | { readonly kind: 'rows'; readonly columns: readonly string[]; readonly rows: readonly (readonly unknown[])[] }
  | { readonly kind: 'sql'; readonly sql: string };

export interface UnitInput {
  /** The node given: a model or seed, `source.table`, or the tested model itself for `this`. */
  readonly node: string;
  /** As written: `ref('stg_orders')`, `this`. */
  readonly label: string;
  readonly rows: FixtureRows;
  readonly location: Location;
}

export interface UnitTest {
  readonly name: string;
  readonly model: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly given: readonly UnitInput[];
  readonly expect: FixtureRows;
  /** `overrides: macros: is_incremental:`; absent: as the model's table stands. */
  readonly isIncremental?: boolean;
  /** `overrides: vars:`, over the project's. */
  readonly vars: Readonly<Record<string, unknown>>;
  /** `overrides: env_vars:`, what env_var() reads instead of the environment. */
  readonly envVars: Readonly<Record<string, unknown>>;
  /** `overrides: macros:` other than is_incremental: what each gives instead of running, by the name it is called by. */
  readonly macros: ReadonlyMap<string, unknown>;
  readonly location: Location;
}

/** What a unit test may name, as analysis knows it. */
export interface UnitTestContext {
  /** A model of the graph with what its template reads (ref()s by name, source()s as `source.table`); `disabled` when switched off. */
  /** `asksIsIncremental`: its render calls is_incremental(), so which build a test is of changes its query. */
  readonly model: (name: string) => { readonly incremental: boolean; readonly asksIsIncremental: boolean; readonly reads: readonly string[] } | 'disabled' | undefined;
  readonly modelNames: readonly string[];
  /** Models with versions: a unit test of one tests each version, and ref('m', v=1) gives version 1's rows. */
  readonly versioned: ReadonlyMap<string, VersionedModel>;
  readonly fixtures: readonly FixtureSource[];
  /** Whether a template can call a macro of that name (`name`, or `package.name`). */
  readonly callable: (name: string) => boolean;
  /** The project's macro names, for suggestions. */
  readonly macroNames: readonly string[];
  /** The macros a template can call as `namespace.name`, for suggestions (asked only when one is needed). */
  readonly namespacedMacroNames: () => readonly string[];
  /**
   * SQL rows with their Jinja rendered (var(), target); an error is reported at `at`. dbt renders
   * those written in the YAML as it parses it (`execute` false) and a fixture file's as it
   * compiles the test (`execute` true): `fromFile` says which.
   */
  readonly renderSql: (text: string, at: Location, fromFile: boolean) => string;
}

const INPUT_RE =
  /^(?:ref\s*\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(?:,\s*(?:v|version)\s*=\s*(?:(['"])([^'"]*)\5|([\w.]+))\s*)?\)|source\s*\(\s*(['"])([^'"]+)\8\s*,\s*(['"])([^'"]+)\10\s*\)|(this))$/;

export function unitTests(specs: readonly UnitTestSpec[], ctx: UnitTestContext, diagnostics: Diagnostic[]): UnitTest[] {
  return specs.flatMap((spec) => {
    // A unit test of a model with versions tests each version, as in dbt.
    const versions = ctx.versioned.get(spec.model)?.versions;
    if (!versions) {
      if (spec.versions) diagnostics.push(error('bad-unit-test', `unit test ${spec.name}: versions: is for a model with versions, and ${spec.model} has none`, spec.versions.location));
      return unitTest(spec, ctx, diagnostics) ?? [];
    }
    const { include, exclude } = spec.versions ?? {};
    const unknown = [...(include ?? []), ...(exclude ?? [])].filter((v) => !versions.some((x) => x.v === v));
    if (unknown.length > 0) {
      diagnostics.push(error('bad-unit-test', `unit test ${spec.name}: ${spec.model} has no version ${unknown.join(', ')} (its versions: ${versions.map((x) => x.v).join(', ')})`, spec.versions!.location));
      return [];
    }
    const tested = versions.filter((v) => (include === undefined || include.includes(v.v)) && !(exclude ?? []).includes(v.v));
    // Named as dbt names them: keeps_names_v2.
    return tested.flatMap((v) => unitTest({ ...spec, model: v.node, name: `${spec.name}_v${v.v}` }, ctx, diagnostics) ?? []);
  });
}

function unitTest(spec: UnitTestSpec, ctx: UnitTestContext, diagnostics: Diagnostic[]): UnitTest | undefined {
  let ok = true;
  /** Reports a mistake; the test is then left out, after every other mistake of it is reported. */
  const problem = (message: string, location: Location = spec.location, hint?: string): undefined => {
    diagnostics.push(error('bad-unit-test', `unit test ${spec.name}: ${message}`, location, hint ? { hint } : undefined));
    ok = false;
    return undefined;
  };
  if (!spec.enabled) return undefined;
  const model = ctx.model(spec.model);
  if (model === 'disabled') return undefined;
  if (!model) return problem(`the project has no model '${spec.model}'`, spec.location, didYouMean(spec.model, ctx.modelNames));
  const given: UnitInput[] = [];
  for (const g of spec.given) {
    const m = INPUT_RE.exec(g.input);
    if (!m) {
      problem(`input must be ref('model'), ref('model', v=1), source('source', 'table') or this, got ${JSON.stringify(g.input)}`, g.location);
      continue;
    }
    const version = m[6] ?? m[7];
    const target = m[2] === undefined ? undefined : refTarget(ctx.versioned, m[4] ?? m[2], version);
    if (target !== undefined && typeof target !== 'string') {
      problem(target.problem, g.location);
      continue;
    }
    const node = m[12] ? spec.model : (target ?? `${m[9]}.${m[11]}`);
    if (m[12] && !model.incremental) {
      problem(`this is an input of incremental models only; ${spec.model} is not incremental`, g.location);
      continue;
    }
    if (!m[12] && !model.reads.includes(node)) {
      problem(`${spec.model} does not read ${g.input}`, g.location, `its inputs: ${model.reads.join(', ') || 'none'}`);
      continue;
    }
    if (given.some((x) => x.node === node)) {
      problem(`${g.input} is given twice`, g.location);
      continue;
    }
    const rows = fixtureRows(g, spec.name, ctx, diagnostics);
    if (!rows) ok = false;
    else given.push({ node, label: g.input, rows, location: g.location });
  }
  const missing = model.reads.filter((r) => !given.some((g) => g.node === r));
  if (ok && missing.length > 0) {
    return problem(`${spec.model} reads ${missing.join(', ')}, which the unit test does not give`, spec.location, `add an input for each (rows: [] for none), e.g. - input: ref('${missing[0]}')`);
  }
  const isIncremental = spec.macros.is_incremental;
  const macros = new Map<string, unknown>();
  for (const [name, value] of Object.entries(spec.macros)) {
    if (name === 'is_incremental') {
      if (typeof value !== 'boolean') problem(`overrides.macros.is_incremental must be true or false`, spec.overridesAt);
    } else if (!ctx.callable(name)) {
      problem(`overrides.macros.${name}: no macro of that name is there to override`, spec.overridesAt, overrideHint(name, ctx));
    } else macros.set(name, value);
  }
  // An incremental model whose query asks is_incremental() has two queries: its unit test says
  // which it tests (dbt's answer would be whether the model's table exists in the warehouse the
  // test runs on); the incremental branch reads `this`. One that never asks has one query.
  if (model.incremental && model.asksIsIncremental && typeof isIncremental !== 'boolean') {
    problem(`${spec.model} is incremental: say which build the test is of with overrides: {macros: {is_incremental: true}} (or false)`);
  } else if (isIncremental === true && model.incremental && !given.some((g) => g.node === spec.model)) {
    problem(`a test of ${spec.model}'s incremental build needs the rows of its table: an input this`);
  }
  const expect = fixtureRows(spec.expect, spec.name, ctx, diagnostics);
  if (!ok || !expect) return undefined;
  return {
    name: spec.name,
    model: spec.model,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    tags: spec.tags,
    given,
    expect,
    ...(typeof isIncremental === 'boolean' ? { isIncremental } : {}),
    vars: spec.vars,
    envVars: spec.envVars,
    macros,
    location: spec.location,
  };
}

/**
 * What to key an override by instead. As in dbt, an override stands for calls by the name it is
 * keyed by: `cents` for `cents()`, `shop.cents` for `shop.cents()`; a bare name that only a
 * namespace has is pointed to the namespaced calls, which a bare key would leave running.
 */
function overrideHint(name: string, ctx: UnitTestContext): string | undefined {
  const namespaced = ctx.namespacedMacroNames();
  if (name.includes('.')) return didYouMean(name, namespaced);
  const as = namespaced.filter((q) => q.slice(q.indexOf('.') + 1) === name);
  if (as.length > 0) return `templates call it as ${as.join(' or ')}, and an override stands for calls by the name it is keyed by, as in dbt: key it ${as[0]}`;
  return didYouMean(name, ctx.macroNames);
}

/** The rows of an input or of the expectation: a fixture file read, CSV parsed, dict rows put in columns. */
function fixtureRows(spec: FixtureSpec, test: string, ctx: UnitTestContext, diagnostics: Diagnostic[]): FixtureRows | undefined {
  let text: string | undefined;
  let at = spec.location;
  if (spec.fixture !== undefined) {
    const file = ctx.fixtures.find((f) => f.name === spec.fixture && f.format === spec.format);
    if (!file) {
      diagnostics.push(
        error('bad-unit-test', `unit test ${test}: no fixture file ${spec.fixture}.${spec.format} under a fixtures folder of the test paths`, spec.location, {
          hint: didYouMean(spec.fixture, ctx.fixtures.map((f) => f.name)) ?? `put it in tests/fixtures/${spec.fixture}.${spec.format}`,
        }),
      );
      return undefined;
    }
    text = file.text;
    at = { file: file.file, line: 1 };
  } else if (typeof spec.rows === 'string') text = spec.rows;
  switch (spec.format) {
    case 'dict': {
      const list = spec.rows as readonly Record<string, unknown>[];
      const columns = [...new Set(list.flatMap((r) => Object.keys(r)))];
      return { kind: 'rows', columns, rows: list.map((r) => columns.map((c) => (Object.hasOwn(r, c) ? r[c] : null))) };
    }
    case 'csv': {
      const parsed = parseCsv(text ?? '');
      if ('error' in parsed) {
        diagnostics.push(error('bad-unit-test', `unit test ${test}: ${parsed.error}`, at));
        return undefined;
      }
      return parsed;
    }
    case 'sql': {
      const sql = text !== undefined && hasJinja(text) ? ctx.renderSql(text, at, spec.fixture !== undefined) : (text ?? '');
      return { kind: 'sql', sql: sql.trim().replace(/;\s*$/, '') };
    }
    default: {
      const never: never = spec.format;
      throw new Error(`internal error: format ${String(never)}`);
    }
  }
}

/** CSV text with a header line: every value is text, an empty one NULL (as dbt reads a CSV fixture). */
export function parseCsv(text: string): Extract<FixtureRows, { kind: 'rows' }> | { readonly error: string } {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let wasQuoted = false;
  const values: (string | null)[][] = [];
  const endField = () => {
    record.push(wasQuoted ? field : field.trim());
    field = '';
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    if (!(record.length === 1 && record[0] === '')) records.push(record);
    record = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      wasQuoted = true;
      field = '';
    } else if (c === ',') endField();
    else if (c === '\n') endRecord();
    else if (c !== '\r') field += c;
  }
  if (quoted) return { error: 'a quoted CSV value is not closed' };
  if (field !== '' || record.length > 0) endRecord();
  const [header, ...rest] = records;
  if (!header || header.every((h) => h === '')) return { error: 'CSV rows need a header line naming the columns' };
  for (const [i, r] of rest.entries()) {
    if (r.length !== header.length) return { error: `CSV line ${i + 2} has ${r.length} values for ${header.length} columns (${header.join(', ')})` };
    values.push(r.map((v) => (v === '' ? null : v)));
  }
  return { kind: 'rows', columns: header, rows: values };
}
