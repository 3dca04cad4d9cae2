import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import type { YamlSource } from '../../project/yaml-file.js';
import { levelsFor, mergeSettings, type ConfigSetting } from './config-tree.js';

/**
 * dbt's unit tests (`unit_tests:` of a properties file) as written: the model, the rows given
 * for each input, the rows expected, overrides and config, each with its line. Whether the model
 * and its inputs exist, and fixture files, are unit-tests.ts's to check.
 */

/** How rows are written: dbt's `format:`. */
export type FixtureFormat = 'dict' | 'csv' | 'sql';

/** The rows of an input, or the rows expected, as written. */
export interface FixtureSpec {
  readonly format: FixtureFormat;
  /** `rows:` as written: a list of mappings (dict), CSV text (csv) or a query (sql). */
  readonly rows?: unknown;
  /** `fixture:`: a file under a `fixtures` folder of the test paths, by name. */
  readonly fixture?: string;
  readonly location: Location;
}

export interface GivenSpec extends FixtureSpec {
  /** `ref('x')`, `ref('pkg', 'x')`, `source('s', 't')` or `this`. */
  readonly input: string;
}

export interface UnitTestSpec {
  readonly name: string;
  /** The model's name (`model: orders`, or `ref('orders')`). */
  readonly model: string;
  readonly description?: string;
  readonly given: readonly GivenSpec[];
  readonly expect: FixtureSpec;
  /** `overrides: macros:` by macro name. */
  readonly macros: Readonly<Record<string, unknown>>;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly envVars: Readonly<Record<string, unknown>>;
  readonly overridesAt: Location;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  /** Whether the test's own config: says enabled (over what dbt_project.yml's unit_tests: says). */
  readonly enabledGiven?: true;
  /** `versions:` of a test of a model with versions: the versions it runs against (all by default). */
  readonly versions?: { readonly include?: readonly string[]; readonly exclude?: readonly string[]; readonly location: Location };
  readonly location: Location;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const FORMATS: readonly FixtureFormat[] = ['dict', 'csv', 'sql'];
const MODEL_REF_RE = /^\s*ref\s*\(\s*(['"])([^'"]+)\1\s*\)\s*$/;

/**
 * A unit test with what dbt_project.yml's `unit_tests:` says of it (`+enabled`, `+tags`), found
 * by dbt's qualified name of a unit test: the project, the folders of its properties file under
 * its top folder, its model and its name. Its own config: says last; tags add up.
 */
export function withProjectConfig(spec: UnitTestSpec, project: YamlSource, projectName: string): UnitTestSpec {
  const fqn = [projectName, ...spec.location.file.split('/').slice(1, -1), spec.model, spec.name];
  const merged = levelsFor(project, 'unit_tests', fqn).reduce((a, b) => mergeSettings(a, b), new Map<string, ConfigSetting>());
  if (merged.size === 0) return spec;
  const tags = merged.get('tags')?.value;
  const fromProject = typeof tags === 'string' ? [tags] : Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  const enabled = spec.enabledGiven ? spec.enabled : merged.get('enabled')?.value !== false;
  return { ...spec, tags: [...new Set([...fromProject, ...spec.tags])], enabled };
}

/** The unit tests under one properties file's `unit_tests:`; every problem is reported at its line. */
export function readUnitTests(list: readonly unknown[], at: (path: (string | number)[]) => Location, diagnostics: Diagnostic[]): UnitTestSpec[] {
  const out: UnitTestSpec[] = [];
  list.forEach((entry, i) => {
    const path = ['unit_tests', i];
    const bad = (message: string, where: (string | number)[] = []) => diagnostics.push(error('bad-unit-test', message, at([...path, ...where])));
    if (!isMapping(entry) || typeof entry.name !== 'string' || entry.name === '') return bad('each unit test needs a name:');
    const name = entry.name;
    const modelText = typeof entry.model === 'string' ? (MODEL_REF_RE.exec(entry.model)?.[2] ?? entry.model.trim()) : undefined;
    if (!modelText) return bad(`unit test ${name} needs the model it tests (model: orders)`);
    for (const key of Object.keys(entry)) {
      if (!['name', 'model', 'description', 'given', 'expect', 'overrides', 'config', 'versions'].includes(key)) {
        bad(`unknown key '${key}' in unit test ${name}`, [key]);
      }
    }
    const versions = entry.versions === undefined ? undefined : versionsSpec(entry.versions, name, at([...path, 'versions']), diagnostics);
    const given: GivenSpec[] = [];
    let givenOk = true;
    if (entry.given !== undefined && !Array.isArray(entry.given)) bad(`given of unit test ${name} must be a list of inputs, each with input: and rows:`, ['given']);
    (Array.isArray(entry.given) ? entry.given : []).forEach((g, j) => {
      const gp = ['given', j];
      if (!isMapping(g) || typeof g.input !== 'string') {
        givenOk = false;
        return bad(`each input of unit test ${name} needs input: (ref('x'), source('s', 't') or this)`, gp);
      }
      const fixture = fixtureSpec(g, name, [...path, ...gp], at, diagnostics);
      if (fixture) given.push({ ...fixture, input: g.input.trim() });
      else givenOk = false;
    });
    if (!isMapping(entry.expect)) return bad(`unit test ${name} needs expect: with the rows the model should give`, ['expect']);
    const expect = fixtureSpec(entry.expect, name, [...path, 'expect'], at, diagnostics);
    const overrides = entry.overrides ?? {};
    if (!isMapping(overrides)) bad(`overrides of unit test ${name} must be a mapping (macros:, vars:, env_vars:)`, ['overrides']);
    const part = (key: string): Record<string, unknown> => {
      const v = isMapping(overrides) ? overrides[key] : undefined;
      if (v === undefined || v === null) return {};
      if (isMapping(v)) return v;
      bad(`overrides.${key} of unit test ${name} must be a mapping`, ['overrides', key]);
      return {};
    };
    if (isMapping(overrides)) {
      for (const key of Object.keys(overrides)) if (!['macros', 'vars', 'env_vars'].includes(key)) bad(`unknown key '${key}' under overrides of unit test ${name}`, ['overrides', key]);
    }
    const config = isMapping(entry.config) ? entry.config : {};
    if (entry.config !== undefined && !isMapping(entry.config)) bad(`config of unit test ${name} must be a mapping`, ['config']);
    const tags = typeof config.tags === 'string' ? [config.tags] : Array.isArray(config.tags) ? config.tags.filter((t): t is string => typeof t === 'string') : [];
    // A test with an input left out is not checked further: it would seem not to give that input.
    if (!expect || !givenOk) return;
    out.push({
      name,
      model: modelText,
      ...(typeof entry.description === 'string' ? { description: entry.description } : {}),
      given,
      expect,
      macros: part('macros'),
      vars: part('vars'),
      envVars: part('env_vars'),
      overridesAt: at([...path, 'overrides']),
      tags,
      enabled: config.enabled !== false,
      ...(typeof config.enabled === 'boolean' ? { enabledGiven: true as const } : {}),
      ...(versions ? { versions } : {}),
      location: at(path),
    });
  });
  return out;
}

function fixtureSpec(
  value: Record<string, unknown>,
  test: string,
  path: (string | number)[],
  at: (path: (string | number)[]) => Location,
  diagnostics: Diagnostic[],
): FixtureSpec | undefined {
  const location = at(path);
  const format = value.format ?? 'dict';
  if (typeof format !== 'string' || !FORMATS.includes(format as FixtureFormat)) {
    diagnostics.push(error('bad-unit-test', `unit test ${test}: format must be dict, csv or sql, got ${JSON.stringify(format)}`, at([...path, 'format'])));
    return undefined;
  }
  const f = format as FixtureFormat;
  if (value.fixture !== undefined && value.rows !== undefined) {
    diagnostics.push(error('bad-unit-test', `unit test ${test}: give rows: or fixture:, not both`, location));
    return undefined;
  }
  if (value.fixture !== undefined) {
    if (typeof value.fixture !== 'string' || value.fixture === '') {
      diagnostics.push(error('bad-unit-test', `unit test ${test}: fixture: is the name of a file under tests/fixtures`, at([...path, 'fixture'])));
      return undefined;
    }
    if (f === 'dict') {
      diagnostics.push(error('bad-unit-test', `unit test ${test}: a fixture file is format csv or sql, not dict`, at([...path, 'fixture']), { hint: 'add format: csv (or sql)' }));
      return undefined;
    }
    return { format: f, fixture: value.fixture, location };
  }
  const rows = value.rows ?? (f === 'dict' ? [] : undefined);
  const rowsAt = at([...path, 'rows']);
  switch (f) {
    case 'dict':
      if (!Array.isArray(rows) || !rows.every(isMapping)) {
        diagnostics.push(error('bad-unit-test', `unit test ${test}: rows in format dict are a list of mappings, e.g. - {id: 1, name: a}`, rowsAt, { hint: 'for CSV text or a query, set format: csv or format: sql' }));
        return undefined;
      }
      return { format: f, rows, location };
    case 'csv':
    case 'sql':
      if (typeof rows !== 'string') {
        diagnostics.push(error('bad-unit-test', `unit test ${test}: rows in format ${f} are ${f === 'csv' ? 'CSV text with a header line' : 'a query'} (rows: |), or name a fixture: file`, rowsAt));
        return undefined;
      }
      return { format: f, rows, location };
    default: {
      const never: never = f;
      throw new Error(`internal error: format ${String(never)}`);
    }
  }
}

/** A unit test's `versions: {include: [2]}` or `{exclude: [1]}`: versions as text, as model-versions.ts has them. */
function versionsSpec(value: unknown, test: string, location: Location, diagnostics: Diagnostic[]): UnitTestSpec['versions'] {
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'number' || typeof x === 'string' ? String(x).trim() : undefined));
  if (!isMapping(value) || Object.keys(value).some((k) => k !== 'include' && k !== 'exclude') || (value.include === undefined) === (value.exclude === undefined)) {
    diagnostics.push(error('bad-unit-test', `versions of unit test ${test} is {include: [versions]} or {exclude: [versions]}`, location));
    return undefined;
  }
  const versions = list(value.include ?? value.exclude);
  if (versions.some((v) => v === undefined || v === '')) {
    diagnostics.push(error('bad-unit-test', `versions of unit test ${test} are numbers or names, e.g. {include: [2]}`, location));
    return undefined;
  }
  return value.include !== undefined ? { include: versions as string[], location } : { exclude: versions as string[], location };
}
