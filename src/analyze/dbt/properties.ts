import { templateValue } from '../yaml-floats.js';
import { plainValues } from '../jinja/values.js';
import { error, warning, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { didYouMean } from '../../diagnostics/suggest.js';
import type { YamlSource } from '../../project/yaml-file.js';
import { settingsOf, type ConfigSetting } from './config-tree.js';
import { readUnitTests, type UnitTestSpec } from './unit-test-specs.js';
import { readVersions, type VersionedModel } from './model-versions.js';
import { readExposures, type ExposureSpec } from './exposures.js';

/**
 * dbt properties files (`version: 2` with `models:`, `seeds:`, `sources:`, ...), read into
 * typed values with the line of everything in them: descriptions, columns, config and tests of
 * models and seeds, and the sources with their tables. The sections pipe does not use
 * (exposures, metrics, semantic models, ...) are collected to be named in one notice.
 */

/** dbt's test configs, which may stand among a test's arguments or under its `config:`. */
export const TEST_CONFIG_KEYS = [
  'severity',
  'tags',
  'enabled',
  'where',
  'limit',
  'warn_if',
  'error_if',
  'fail_calc',
  'store_failures',
  'store_failures_as',
  'meta',
  'database',
  'schema',
  'alias',
] as const;

/** What a test is declared on. */
export type TestedKind = 'model' | 'seed' | 'source' | 'snapshot';

/** One test as a properties file declares it, not yet checked against the tests pipe knows. */
export interface DbtTestSpec {
  /** As written: `unique`, `accepted_values`, `positive` (a custom generic test), `dbt_utils.expression_is_true`. */
  readonly test: string;
  /** The node tested: a model or seed name, or `source.table`. */
  readonly on: { readonly kind: TestedKind; readonly name: string };
  /** The column it is declared under (or its `column_name:` argument); absent for a test of the whole node. */
  readonly column?: string;
  /** `quote: true` on the column: its name is quoted in the test's SQL. */
  readonly quoteColumn: boolean;
  /** The test's arguments (`values`, `to`, `field`, ...), without its config. */
  readonly args: Readonly<Record<string, unknown>>;
  /** Its config (`severity`, `where`, `error_if`, ...), from among its arguments and its `config:`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** A name the file gives it (`name:`). */
  readonly name?: string;
  readonly location: Location;
}

/** A constraint of a model's contract, on a column or on the model (`columns:`), as written. */
export interface ConstraintSpec {
  readonly type: string;
  readonly expression?: string;
  readonly name?: string;
  /** A model-level constraint's columns. */
  readonly columns: readonly string[];
  readonly location: Location;
}

export interface ColumnProperties {
  readonly name: string;
  readonly description?: string;
  readonly dataType?: string;
  /** `quote: true`: dbt quotes the name where it writes it. */
  readonly quote?: boolean;
  readonly constraints?: readonly ConstraintSpec[];
  /** Its `meta:` and `config: meta:` merged (the config's over), and its `tags:` and `config: tags:`, as dbt's node gives them to templates. */
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly tags?: readonly string[];
  readonly location: Location;
  /** Where its `data_type:` is written, when it is. */
  readonly dataTypeAt?: Location;
}

/** A model's, seed's or snapshot's entry in a properties file. */
export interface NodeProperties {
  readonly name: string;
  readonly location: Location;
  readonly description?: string;
  /** Its `config:`, by key. */
  readonly config: ReadonlyMap<string, ConfigSetting>;
  readonly columns: readonly ColumnProperties[];
  readonly tests: readonly DbtTestSpec[];
  /** Model-level constraints of its contract. */
  readonly constraints: readonly ConstraintSpec[];
  /** The semantic layer's `time_spine:` of a model, as written: pipe reads it for graph.nodes only. */
  readonly timeSpine?: Readonly<Record<string, unknown>>;
  /**
   * A snapshot the entry itself declares (dbt 1.9's `relation:`): what it snapshots, as
   * `ref('orders')` or `source('raw', 'orders')`; its query is `select * from` that relation.
   */
  readonly relation?: { readonly call: string; readonly location: Location };
}

export interface Freshness {
  readonly warnAfter?: { readonly count: number; readonly period: 'minute' | 'hour' | 'day' };
  readonly errorAfter?: { readonly count: number; readonly period: 'minute' | 'hour' | 'day' };
  readonly filter?: string;
}

/** One table of a declared source. */
export interface SourceTable {
  /** `source.table`, the node's name. */
  readonly name: string;
  readonly source: string;
  readonly table: string;
  readonly database?: string;
  /** The schema it is read from: the source's `schema:`, else the source's name. */
  readonly schema: string;
  /** The relation's name: `identifier:`, else the table's name. */
  readonly identifier: string;
  /** dbt-duckdb's `external_location` (from `meta:` or `config:`): a file path or a read_*() call. */
  readonly externalLocation?: string;
  /** Where that `external_location` is written (the table's config or meta, else its source's): what it renders to is reported there. */
  readonly externalLocationAt?: Location;
  /** Where its `database:`, `schema:` and `identifier:` are written (the table's, else its source's): what they render to is reported there. */
  readonly placeAt?: { readonly database?: Location; readonly schema?: Location; readonly identifier?: Location };
  /**
   * The `meta:` and the other `config:` keys of the source and the table, merged as dbt-duckdb
   * reads them: the table's over the source's, config over meta. `external_location` is
   * formatted with them (`{name}`, `{extra}`), and `formatter` and `plugin` are read there.
   */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly loadedAtField?: string;
  readonly freshness?: Freshness;
  /**
   * A freshness with Jinja in it (`count: "{{ env_var('WARN_DAYS', '2') | int }}"`): read once
   * rendered, as dbt renders it (setting-render.ts's withRenderedFreshness). One object for
   * every table that takes its source's, so that a problem is said once, at the source.
   */
  readonly freshnessTemplate?: FreshnessSpec;
  /** dbt's `event_time`: the column a microbatch model that reads the table filters its batch by. */
  readonly eventTime?: string;
  /**
   * What dbt's graph gives of the table besides what pipe reads (dbt-external-tables reads
   * `external`): `meta` (the source's, then its config's, the table's and its config's, merged),
   * `source_meta` (the source's and its config's), the table's `external:` mapping,
   * `loaded_at_query` and `static_analysis`.
   */
  readonly graph: SourceGraphFields;
  readonly description?: string;
  /** The source's own `description:` and `loader:`, beside the table's, as dbt's graph has them. */
  readonly sourceDescription?: string;
  readonly loader?: string;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  /** `enabled` as the properties file sets it (the table's config, else the source's), which wins over dbt_project.yml's. */
  readonly ownEnabled?: boolean;
  /** `enabled` written with Jinja, before it is rendered (see withRenderedEnabled): then it is `ownEnabled`. */
  readonly enabledTemplate?: { readonly text: string; readonly at: Location };
  /** dbt's qualified name of the table, with the folders of its properties file (a dbt project's; see source-folders.ts). */
  readonly fqn?: readonly string[];
  /** Where `enabled: false` comes from when it is not the table's entry (a folder config of dbt_project.yml). */
  readonly disabledAt?: Location;
  readonly columns: readonly ColumnProperties[];
  readonly tests: readonly DbtTestSpec[];
  readonly location: Location;
}

/** A freshness as written, with where it and its keys are written. */
export interface FreshnessSpec {
  readonly value: unknown;
  readonly at: FreshnessAt;
}

/** Where a freshness is written (`self`), and each of its keys. */
export interface FreshnessAt {
  readonly self: Location;
  readonly warn_after: Location;
  readonly error_after: Location;
}

/** See SourceTable.graph. */
export interface SourceGraphFields {
  readonly meta: Readonly<Record<string, unknown>>;
  readonly sourceMeta: Readonly<Record<string, unknown>>;
  readonly external?: Readonly<Record<string, unknown>>;
  readonly loadedAtQuery?: string;
  readonly staticAnalysis?: string;
  /** `freshness: null` switches the table's freshness off: dbt's graph then has none. */
  readonly noFreshness?: boolean;
}

export interface Properties {
  readonly models: ReadonlyMap<string, NodeProperties>;
  readonly seeds: ReadonlyMap<string, NodeProperties>;
  readonly snapshots: ReadonlyMap<string, NodeProperties>;
  readonly sources: readonly SourceTable[];
  /** The unit tests (`unit_tests:`), as written. */
  readonly unitTests: readonly UnitTestSpec[];
  /** Models with versions, by name; each version is a model of `models` (model-versions.ts). */
  readonly versioned: ReadonlyMap<string, VersionedModel>;
  /** The exposures (`exposures:`), as written. */
  readonly exposures: readonly ExposureSpec[];
  /** Sections read but not used, each where it stands. */
  readonly unused: readonly { readonly what: string; readonly location: Location }[];
}

export const NO_PROPERTIES: Properties = { models: new Map(), seeds: new Map(), snapshots: new Map(), sources: [], unitTests: [], unused: [], versioned: new Map(), exposures: [] };

/** Sections pipe reads past, and what each holds. */
const UNUSED_SECTIONS: Readonly<Record<string, string>> = {
  macros: 'macro documentation',
  analyses: 'analyses',
  metrics: 'metrics',
  semantic_models: 'semantic models',
  saved_queries: 'saved queries',
};

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** A node described by two entries, reported at the second. */
function twoEntries(kind: string, node: NodeProperties, before: NodeProperties): Diagnostic {
  return error('duplicate-properties', `${kind} '${node.name}' has properties in two places`, node.location, {
    related: [{ message: 'first declared here', location: before.location }],
    hint: 'keep one entry per node across the properties files',
  });
}

/** Reads every properties file; every problem is reported at its line, and the rest is still read. */
/** The sections readProperties reads, each a list of entries. */
const LIST_SECTIONS: ReadonlySet<string> = new Set(['models', 'seeds', 'snapshots', 'sources', 'unit_tests', 'exposures', 'data_tests']);

export function readProperties(
  files: readonly YamlSource[],
  diagnostics: Diagnostic[],
  /** An entry of a node left out of the project (see shadowed-nodes.ts), read past. */
  leftOut: (kind: 'model' | 'seed', name: string, file: string) => boolean = () => false,
  /** A dbt project's: a section dbt does not know is left out with a warning, as dbt does (its deprecation D025), not refused. */
  dbtProject = false,
): Properties {
  const models = new Map<string, NodeProperties>();
  const seeds = new Map<string, NodeProperties>();
  const snapshots = new Map<string, NodeProperties>();
  const sources: SourceTable[] = [];
  const unitTests: UnitTestSpec[] = [];
  const unused: { what: string; location: Location }[] = [];
  const versioned = new Map<string, VersionedModel>();
  const exposures: ExposureSpec[] = [];
  /** Entries of nodes left out, by section: they describe the node of that name the project builds, where it has no entry of its own. */
  const shadowedEntries: { readonly into: Map<string, NodeProperties>; readonly kind: string; readonly node: NodeProperties }[] = [];
  for (const y of files) {
    const at: At = Object.assign((path: (string | number)[]): Location => ({ file: y.file, line: lineOf(y, path) }), { yaml: y });
    for (const [section, value] of Object.entries(y.data)) {
      if (section === 'version') {
        // dbt 1.5+ reads past the value; a pipe project holds it to 2.
        if (!dbtProject && value !== 2 && value !== '2') diagnostics.push(error('bad-properties', `version must be 2, got ${JSON.stringify(value)}`, at([section])));
        continue;
      }
      // The groups models name (`group:`, read with their config: selected by group:, private access refused): their owners are documentation.
      if (section === 'groups') continue;
      if (Object.hasOwn(UNUSED_SECTIONS, section)) {
        unused.push({ what: UNUSED_SECTIONS[section], location: at([section]) });
        continue;
      }
      // A section of its own kind is a list; any other key is said below whatever it holds (an anchored mapping to merge elsewhere, too).
      const list = LIST_SECTIONS.has(section) ? listOf(value, section, at([section]), diagnostics) : [];
      switch (section) {
        case 'models':
        case 'seeds':
        case 'snapshots': {
          const into = section === 'models' ? models : section === 'seeds' ? seeds : snapshots;
          const kind = section === 'models' ? 'model' : section === 'seeds' ? 'seed' : 'snapshot';
          const add = (entry: unknown, i: number, at: At) => {
            const node = readNode(entry, kind, [section, i], at, diagnostics);
            if (!node) return;
            if (kind !== 'snapshot' && leftOut(kind, node.name, y.file)) {
              shadowedEntries.push({ into, kind, node });
              return;
            }
            const before = into.get(node.name);
            if (before) {
              diagnostics.push(twoEntries(kind, node, before));
              return;
            }
            into.set(node.name, node);
          };
          list.forEach((entry, i) => {
            if (isMapping(entry)) unknownNodeKeys(entry, kind, [section, i], at, diagnostics);
            if (kind !== 'model' || !isMapping(entry) || entry.versions === undefined || typeof entry.name !== 'string') return add(entry, i, at);
            // Each version is a model of its own, with the entry's properties and the version's over them.
            const model = readVersions(entry as Record<string, unknown> & { name: string }, [section, i], at, diagnostics, (merged, mapped) => add(merged, i, mapped));
            if (!model) return;
            const before = versioned.get(model.name);
            if (before) {
              diagnostics.push(error('duplicate-properties', `model '${model.name}' has versions in two places`, model.location, { related: [{ message: 'first declared here', location: before.location }] }));
            } else versioned.set(model.name, model);
          });
          break;
        }
        case 'sources':
          list.forEach((entry, i) => sources.push(...readSource(entry, [section, i], at, diagnostics)));
          break;
        case 'unit_tests':
          unitTests.push(...readUnitTests(list, at, diagnostics));
          break;
        case 'exposures':
          for (const e of readExposures(list, at, diagnostics)) {
            const before = exposures.find((x) => x.name === e.name);
            if (before) diagnostics.push(error('duplicate-properties', `exposure '${e.name}' is declared twice`, e.location, { related: [{ message: 'first declared here', location: before.location }] }));
            else exposures.push(e);
          }
          break;
        case 'data_tests':
          // Properties of singular tests (their description and config).
          unused.push({ what: 'singular test properties', location: at([section]) });
          break;
        default: {
          // What the file holds to repeat elsewhere (`x-columns: &columns`), which dbt leaves alone.
          if (y.anchored?.has(section)) break;
          const sections = 'sections: models, seeds, sources, snapshots, macros, exposures, metrics, semantic_models, saved_queries, unit_tests, groups';
          diagnostics.push(
            dbtProject
              ? warning('unknown-key', `unknown section '${section}' in a properties file: left out, as dbt leaves it`, at([section]), {
                  hint: section === 'tests' ? "these tests run on nothing: a model's tests go under its entry (models: - name: orders, data_tests: [...])" : sections,
                })
              : error('unknown-key', `unknown section '${section}' in a properties file`, at([section]), { hint: sections }),
          );
        }
      }
    }
  }
  // As dbt patches a node: an entry whose package's node is left out describes the node of
  // that name the project builds (its description, columns, config and tests), unless the
  // project describes it itself; two such entries are two descriptions of one node.
  for (const { into, kind, node } of shadowedEntries) {
    const before = into.get(node.name);
    if (!before) {
      into.set(node.name, node);
      continue;
    }
    if (shadowedEntries.some((e) => e.node === before)) diagnostics.push(twoEntries(kind, node, before));
  }
  const seen = new Map<string, SourceTable>();
  for (const s of sources) {
    const before = seen.get(s.name);
    if (before) {
      diagnostics.push(
        error('duplicate-properties', `source table '${s.name}' is declared twice`, s.location, {
          related: [{ message: 'first declared here', location: before.location }],
        }),
      );
    } else seen.set(s.name, s);
  }
  const names = new Map<string, UnitTestSpec>();
  for (const u of unitTests) {
    const before = names.get(`${u.model}.${u.name}`);
    if (before) {
      diagnostics.push(error('duplicate-properties', `model ${u.model} has two unit tests named ${u.name}`, u.location, { related: [{ message: 'first declared here', location: before.location }] }));
    } else names.set(`${u.model}.${u.name}`, u);
  }
  return { models, seeds, snapshots, sources: [...seen.values()], unitTests: [...names.values()], unused, versioned, exposures };
}

function lineOf(y: YamlSource, path: readonly (string | number)[]): number | undefined {
  // The deepest part of the path that has a line: a key's own, else its parent's.
  for (let n = path.length; n > 0; n--) {
    const line = y.pathLine(path.slice(0, n).map(String));
    if (line !== undefined) return line;
  }
  return undefined;
}

function listOf(value: unknown, what: string, at: Location, diagnostics: Diagnostic[]): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value;
  diagnostics.push(error('bad-properties', `${what} must be a list of entries, each with a name:`, at));
  return [];
}

/** Where a path of a properties file is; `yaml`, the file, where the path is its own (not a version's entry mapped onto its model's). */
type At = ((path: (string | number)[]) => Location) & { readonly yaml?: YamlSource };

function readNode(entry: unknown, kind: TestedKind, path: (string | number)[], at: At, diagnostics: Diagnostic[]): NodeProperties | undefined {
  if (!isMapping(entry) || typeof entry.name !== 'string' || entry.name === '') {
    diagnostics.push(error('bad-properties', `each entry under ${path[0]} needs a name:`, at(path)));
    return undefined;
  }
  const name = entry.name;
  const config = isMapping(entry.config)
    ? settingsOf(entry.config, (k) => at([...path, 'config', k]), (k, i) => at([...path, 'config', k, i]))
    : new Map<string, ConfigSetting>();
  if (entry.config !== undefined && !isMapping(entry.config)) {
    diagnostics.push(error('bad-properties', `config of ${name} must be a mapping`, at([...path, 'config'])));
  }
  // dbt reads some keys beside config: as config too.
  for (const key of ['tags', 'docs', 'meta', 'access', 'group'] as const) {
    if (entry[key] !== undefined && !config.has(key)) config.set(key, { value: entry[key], location: at([...path, key]) });
  }
  const on = { kind, name };
  const columns = readColumns(entry, on, path, at, diagnostics);
  const relation = kind === 'snapshot' && entry.relation !== undefined ? snapshotRelation(entry.relation, at([...path, 'relation']), diagnostics) : undefined;
  return {
    ...(relation ? { relation } : {}),
    name,
    location: at(path),
    description: text(entry.description),
    config,
    columns: columns.columns,
    tests: [...columns.tests, ...readTests(entry, on, undefined, false, path, at, diagnostics)],
    constraints: readConstraints(entry.constraints, [...path, 'constraints'], at, diagnostics),
    ...(isMapping(entry.time_spine) ? { timeSpine: entry.time_spine } : {}),
  };
}

/** `constraints:` of a column or a model: a list of `{type, expression, name, columns}`. */
function readConstraints(value: unknown, path: (string | number)[], at: At, diagnostics: Diagnostic[]): ConstraintSpec[] {
  const out: ConstraintSpec[] = [];
  listOf(value, 'constraints', at(path), diagnostics).forEach((c, i) => {
    const location = at([...path, i]);
    if (!isMapping(c) || typeof c.type !== 'string') {
      diagnostics.push(error('bad-properties', 'a constraint is a mapping with a type: (not_null, unique, primary_key, check, foreign_key, custom)', location));
      return;
    }
    const columns = Array.isArray(c.columns) ? c.columns.filter((x): x is string => typeof x === 'string') : [];
    out.push({ type: c.type, expression: text(c.expression), name: text(c.name), columns, location });
  });
  return out;
}

/** `ref('name')` or `source('src', 'table')`, as dbt reads a snapshot's `relation:` without rendering it. */
const RELATION_CALL_RE = /^\s*(?:ref\s*\(\s*(['"])[^'"]+\1\s*\)|source\s*\(\s*(['"])[^'"]+\2\s*,\s*(['"])[^'"]+\3\s*\))\s*$/;

function snapshotRelation(value: unknown, location: Location, diagnostics: Diagnostic[]): NodeProperties['relation'] {
  if (typeof value === 'string' && RELATION_CALL_RE.test(value)) return { call: value.trim(), location };
  diagnostics.push(
    error('bad-properties', `relation must be ref('model') or source('source', 'table'), got ${JSON.stringify(value)}`, location, {
      hint: "the snapshot's query is select * from that relation; for any other query, write a {% snapshot %} block",
    }),
  );
  return undefined;
}

/** The `columns:` of an entry (a node's, a source table's). */
function readColumns(
  owner: Readonly<Record<string, unknown>>,
  on: DbtTestSpec['on'],
  path: (string | number)[],
  at: At,
  diagnostics: Diagnostic[],
): { columns: ColumnProperties[]; tests: DbtTestSpec[] } {
  const columns: ColumnProperties[] = [];
  const tests: DbtTestSpec[] = [];
  // Written with nothing after it: dbt refuses the file, as for tests (see readTests).
  if (Object.hasOwn(owner, 'columns') && owner.columns === null) {
    diagnostics.push(warning('empty-columns', "columns: is empty: dbt refuses this file for it (None is not of type 'array'); pipe reads no column there", at([...path, 'columns']), { hint: 'list the columns under it, or remove columns:' }));
  }
  const unread = new Map<string, { columns: string[]; path: (string | number)[] }>();
  listOf(owner.columns, 'columns', at([...path, 'columns']), diagnostics).forEach((c, i) => {
    const cp = [...path, 'columns', i];
    if (!isMapping(c) || typeof c.name !== 'string' || c.name === '') {
      diagnostics.push(error('bad-properties', 'each column needs a name:', at(cp)));
      return;
    }
    // A key dbt does not read (`data_test:`, whose tests would never run), said where the entry is the file's own:
    // once for the columns of the node that have it (a `type:` on every column is one warning).
    if (at.yaml !== undefined) {
      for (const key of Object.keys(c)) {
        if (COLUMN_KEYS.includes(key)) continue;
        const seen = unread.get(key);
        if (seen) seen.columns.push(c.name);
        else unread.set(key, { columns: [c.name], path: [...cp, key] });
      }
    }
    const constraints = c.constraints === undefined ? undefined : readConstraints(c.constraints, [...cp, 'constraints'], at, diagnostics);
    const config = isMapping(c.config) ? c.config : {};
    const meta = { ...mappingOf(c.meta), ...mappingOf(config.meta) };
    const tags = [...new Set([...tagList(c.tags), ...tagList(config.tags)])];
    columns.push({
      name: c.name,
      description: text(c.description),
      dataType: text(c.data_type),
      ...(c.quote === true ? { quote: true } : {}),
      ...(constraints === undefined ? {} : { constraints }),
      ...(Object.keys(meta).length > 0 ? { meta } : {}),
      ...(tags.length > 0 ? { tags } : {}),
      location: at(cp),
      ...(c.data_type === undefined ? {} : { dataTypeAt: at([...cp, 'data_type']) }),
    });
    tests.push(...readTests(c, on, c.name, c.quote === true, cp, at, diagnostics));
  });
  for (const [key, { columns: named, path: first }] of unread) {
    const which = named.length === 1 ? `column ${named[0]}` : `${named.length} columns (${named.slice(0, 5).join(', ')}${named.length > 5 ? ', …' : ''})`;
    diagnostics.push(
      warning('unknown-key', `${which} of ${on.kind} ${on.name} ${named.length === 1 ? 'has' : 'have'} a key dbt does not read, '${key}': it is left out, as dbt leaves it`, at(first), {
        hint: didYouMean(key, COLUMN_KEYS) ?? `a column's keys: ${COLUMN_KEYS.join(', ')}`,
      }),
    );
  }
  return { columns, tests };
}

/** The tests under `tests:` and `data_tests:` of a node or a column. */
function readTests(
  owner: Record<string, unknown>,
  on: DbtTestSpec['on'],
  column: string | undefined,
  quoteColumn: boolean,
  path: (string | number)[],
  at: At,
  diagnostics: Diagnostic[],
): DbtTestSpec[] {
  const out: DbtTestSpec[] = [];
  for (const key of ['tests', 'data_tests']) {
    // Written with nothing after it: dbt refuses the file (None is not of type 'array'); pipe reads no test there, and says so.
    if (Object.hasOwn(owner, key) && owner[key] === null) {
      diagnostics.push(warning('empty-tests', `${key}: is empty: dbt refuses this file for it (None is not of type 'array'); pipe reads no test there`, at([...path, key]), { hint: `list the tests under it, or remove ${key}:` }));
    }
    listOf(owner[key], key, at([...path, key]), diagnostics).forEach((t, i) => {
      // Its arguments as the test's template reads them: `values: [1.0, 2.5]` floats, as in dbt.
      const exact = at.yaml ? templateValue(at.yaml, [...path, key, i].map(String)) : t;
      const spec = readTest(exact, on, column, quoteColumn, at([...path, key, i]), diagnostics);
      if (spec) out.push(spec);
    });
  }
  return out;
}

/**
 * One test: `unique`, `{accepted_values: {values: [...], config: {...}}}`, or dbt's other form
 * `{test_name: unique, name: ..., ...}`; config keys may stand among the arguments, and the
 * arguments under `arguments:`.
 */
function readTest(
  value: unknown,
  on: DbtTestSpec['on'],
  column: string | undefined,
  quoteColumn: boolean,
  location: Location,
  diagnostics: Diagnostic[],
): DbtTestSpec | undefined {
  let test: string;
  let raw: Record<string, unknown>;
  if (typeof value === 'string') {
    test = value;
    raw = {};
  } else if (isMapping(value) && typeof value.test_name === 'string') {
    const { test_name, ...rest } = value;
    test = test_name as string;
    raw = rest;
  } else if (isMapping(value) && Object.keys(value).length === 1) {
    const [[name, args]] = Object.entries(value);
    test = name;
    if (args !== null && args !== undefined && !isMapping(args)) {
      diagnostics.push(error('bad-test', `the arguments of test ${name} must be a mapping, e.g. {values: [a, b]}`, location));
      return undefined;
    }
    raw = (args ?? {}) as Record<string, unknown>;
  } else {
    diagnostics.push(
      error('bad-test', 'a test is its name (unique) or a mapping of its name to its arguments ({accepted_values: {values: [a, b]}})', location),
    );
    return undefined;
  }
  const args: Record<string, unknown> = {};
  const config: Record<string, unknown> = {};
  let name: string | undefined;
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'config') {
      // Settings pipe reads: a whole float (`limit: 10.0`) its number.
      if (isMapping(v)) Object.assign(config, plainValues(v));
      else diagnostics.push(error('bad-test', `config of test ${test} must be a mapping`, location));
    } else if (k === 'arguments') {
      if (isMapping(v)) Object.assign(args, v);
      else diagnostics.push(error('bad-test', `arguments of test ${test} must be a mapping`, location));
    } else if (k === 'name') {
      name = typeof v === 'string' ? v : undefined;
    } else if ((TEST_CONFIG_KEYS as readonly string[]).includes(k)) {
      config[k] = plainValues(v);
    } else {
      args[k] = v;
    }
  }
  let col = column;
  if (typeof args.column_name === 'string') {
    col = args.column_name;
    delete args.column_name;
  }
  return { test, on, column: col, quoteColumn, args, config, name, location };
}

function readSource(entry: unknown, path: (string | number)[], at: At, diagnostics: Diagnostic[]): SourceTable[] {
  if (!isMapping(entry) || typeof entry.name !== 'string' || entry.name === '') {
    diagnostics.push(error('bad-properties', 'each source needs a name:', at(path)));
    return [];
  }
  const source = entry.name;
  unknownKeys(entry, SOURCE_KEYS, `source ${source}`, path, at, diagnostics, ' (dbt refuses the file)');
  const sourceConfig = isMapping(entry.config) ? entry.config : {};
  const sourceMeta = isMapping(entry.meta) ? entry.meta : {};
  if (entry.overrides !== undefined) {
    diagnostics.push(error('unsupported', `overrides: (of a package's source) is not supported`, at([...path, 'overrides'])));
  }
  const freshnessSpec = (value: unknown, p: (string | number)[]): FreshnessSpec => ({ value, at: { self: at(p), warn_after: at([...p, 'warn_after']), error_after: at([...p, 'error_after']) } });
  const readSpec = (f: FreshnessSpec): Freshness | undefined | typeof TEMPLATED => (hasJinja(f.value) ? TEMPLATED : readFreshness(f.value, f.at, diagnostics));
  // The source's freshness, which its tables take unless they set their own: read once, so that a problem is said once.
  const sourceFreshness = entry.freshness !== undefined && entry.freshness !== null ? freshnessSpec(entry.freshness, [...path, 'freshness']) : Object.hasOwn(sourceConfig, 'freshness') ? freshnessSpec(sourceConfig.freshness, [...path, 'config', 'freshness']) : Object.hasOwn(entry, 'freshness') ? freshnessSpec(entry.freshness, [...path, 'freshness']) : undefined;
  let sourceRead: { value: Freshness | undefined | typeof TEMPLATED } | undefined;
  const sourceFreshnessRead = () => (sourceRead ??= { value: readSpec(sourceFreshness!) }).value;
  const out: SourceTable[] = [];
  listOf(entry.tables, 'tables', at([...path, 'tables']), diagnostics).forEach((t, i) => {
    const tp = [...path, 'tables', i];
    if (!isMapping(t) || typeof t.name !== 'string' || t.name === '') {
      diagnostics.push(error('bad-properties', `each table of source ${source} needs a name:`, at(tp)));
      return;
    }
    unknownKeys(t, SOURCE_TABLE_KEYS, `table ${t.name} of source ${source}`, tp, at, diagnostics, ' (dbt refuses the file)');
    const config = isMapping(t.config) ? t.config : {};
    const meta = isMapping(t.meta) ? t.meta : {};
    const name = `${source}.${t.name}`;
    const on = { kind: 'source' as const, name };
    const columns = readColumns(t, on, tp, at, diagnostics);
    const location = at(tp);
    const merged = dbtDuckdbMeta(sourceMeta, sourceConfig, meta, config);
    const externalLocation = text(merged.external_location);
    // Written where the merge took it from: the table's config, its meta, the source's config, its meta.
    const written = (
      [
        [config, [...tp, 'config']],
        [meta, [...tp, 'meta']],
        [sourceConfig, [...path, 'config']],
        [sourceMeta, [...path, 'meta']],
      ] as const
    ).find(([m]) => Object.hasOwn(m, 'external_location'));
    // A table's freshness: null switches the source's off.
    const own = Object.hasOwn(t, 'freshness') ? freshnessSpec(t.freshness, [...tp, 'freshness']) : Object.hasOwn(config, 'freshness') ? freshnessSpec(config.freshness, [...tp, 'config', 'freshness']) : undefined;
    const spec = own ?? sourceFreshness;
    const freshnessValue = spec?.value;
    const freshness = spec === undefined ? undefined : own ? readSpec(own) : sourceFreshnessRead();
    const writtenEnabled = config.enabled ?? sourceConfig.enabled;
    // Jinja (a var() that switches the table off, as Fivetran's packages write it) is rendered once the engine is made (see withRenderedEnabled).
    const enabledTemplate = typeof writtenEnabled === 'string' && hasJinja(writtenEnabled) ? { text: writtenEnabled, at: at(Object.hasOwn(config, 'enabled') ? [...tp, 'config', 'enabled'] : [...path, 'config', 'enabled']) } : undefined;
    const ownEnabled = enabledTemplate ? undefined : writtenEnabled === undefined ? undefined : !isFalse(writtenEnabled);
    const enabled = ownEnabled ?? true;
    const tags = [...tagList(entry.tags ?? sourceConfig.tags), ...tagList(t.tags ?? config.tags)];
    out.push({
      name,
      source,
      table: t.name,
      database: text(t.database) ?? text(entry.database),
      schema: text(t.schema) ?? text(entry.schema) ?? source,
      identifier: text(t.identifier) ?? t.name,
      placeAt: Object.fromEntries(
        (['database', 'schema', 'identifier'] as const).flatMap((key) => (text(t[key]) !== undefined ? [[key, at([...tp, key])]] : key !== 'identifier' && text(entry[key]) !== undefined ? [[key, at([...path, key])]] : [])),
      ),
      externalLocation,
      ...(externalLocation !== undefined && written ? { externalLocationAt: at([...written[1], 'external_location']) } : {}),
      meta: merged,
      loadedAtField: text(t.loaded_at_field) ?? text(config.loaded_at_field) ?? text(entry.loaded_at_field) ?? text(sourceConfig.loaded_at_field),
      ...(freshness === TEMPLATED ? { freshnessTemplate: spec } : { freshness }),
      eventTime: text(config.event_time) ?? text(sourceConfig.event_time),
      graph: {
        meta: { ...sourceMeta, ...mappingOf(sourceConfig.meta), ...meta, ...mappingOf(config.meta) },
        sourceMeta: { ...sourceMeta, ...mappingOf(sourceConfig.meta) },
        ...(isMapping(t.external) ? { external: t.external } : {}),
        ...optional('loadedAtQuery', text(t.loaded_at_query) ?? text(config.loaded_at_query) ?? text(entry.loaded_at_query) ?? text(sourceConfig.loaded_at_query)),
        ...optional('staticAnalysis', text(config.static_analysis) ?? text(sourceConfig.static_analysis)),
        ...(freshnessValue === null ? { noFreshness: true } : {}),
      },
      description: text(t.description),
      ...(text(entry.description) === undefined ? {} : { sourceDescription: text(entry.description) }),
      ...(text(entry.loader) === undefined ? {} : { loader: text(entry.loader) }),
      tags: [...new Set(tags)],
      enabled,
      ...(ownEnabled === undefined ? {} : { ownEnabled }),
      ...(enabledTemplate ? { enabledTemplate } : {}),
      columns: columns.columns,
      tests: [...columns.tests, ...readTests(t, on, undefined, false, tp, at, diagnostics)],
      location,
    });
  });
  return out;
}

const mappingOf = (v: unknown): Record<string, unknown> => (isMapping(v) ? v : {});
const optional = <K extends string>(key: K, v: string | undefined): { [k in K]?: string } => (v === undefined ? {} : ({ [key]: v } as { [k in K]?: string }));

/** Config keys dbt itself reads on a source: the rest is what dbt-duckdb sees as the config's extras. */
/** The keys dbt reads of a source and of its tables (its schema refuses any other). */
const SOURCE_KEYS = ['name', 'description', 'meta', 'database', 'schema', 'loader', 'quoting', 'freshness', 'loaded_at_field', 'loaded_at_query', 'tables', 'tags', 'config', 'overrides'];
const SOURCE_TABLE_KEYS = ['name', 'description', 'meta', 'data_type', 'docs', 'constraints', 'columns', 'tests', 'data_tests', 'config', 'loaded_at_field', 'loaded_at_query', 'identifier', 'database', 'schema', 'quoting', 'freshness', 'external', 'tags'];

/**
 * A key of a source or source table that dbt does not read: dbt refuses the file, pipe reads
 * past it and says so at its line (a misspelt `shema:` would otherwise show only as a table not found).
 */
/** The keys dbt 1.11 reads in an entry of models:, seeds: or snapshots: of a properties file. */
const NODE_KEYS: Readonly<Record<'model' | 'seed' | 'snapshot', readonly string[]>> = (() => {
  const common = ['name', 'description', 'docs', 'meta', 'tags', 'config', 'columns', 'data_tests', 'tests', 'constraints', 'access', 'group', 'quote_columns'];
  return {
    model: [...common, 'latest_version', 'versions', 'deprecation_date', 'time_spine', 'semantic_model', 'primary_entity', 'agg_time_dimension', 'metrics', 'derived_semantics'],
    seed: common,
    snapshot: [...common, 'relation'],
  };
})();

/** The keys dbt 1.11 reads in a column's entry. */
const COLUMN_KEYS = ['name', 'description', 'data_type', 'meta', 'tags', 'tests', 'data_tests', 'constraints', 'quote', 'docs', 'config', 'policy_tags', 'granularity', 'dimension', 'entity'];

/**
 * A key of a node's entry that dbt does not read (`data_test:` for `data_tests:`, whose tests
 * would then never run): left out, as dbt leaves it, and said.
 */
function unknownNodeKeys(entry: Readonly<Record<string, unknown>>, kind: keyof typeof NODE_KEYS, path: (string | number)[], at: At, diagnostics: Diagnostic[]): void {
  unknownKeys(entry, NODE_KEYS[kind], `${kind}${typeof entry.name === 'string' ? ` ${entry.name}` : ''}`, path, at, diagnostics);
}

/** Each key of `entry` dbt does not read, said at its line with the key it may be a slip of; `dbt`: what dbt does with it. */
function unknownKeys(entry: Readonly<Record<string, unknown>>, known: readonly string[], what: string, path: (string | number)[], at: At, diagnostics: Diagnostic[], dbt = ', as dbt leaves it'): void {
  for (const key of Object.keys(entry)) {
    if (known.includes(key)) continue;
    diagnostics.push(
      warning('unknown-key', `${what} has a key dbt does not read, '${key}': it is left out${dbt}`, at([...path, key]), {
        hint: didYouMean(key, known) ?? `its keys: ${known.join(', ')}`,
      }),
    );
  }
}

const SOURCE_CONFIG_KEYS = new Set(['enabled', 'event_time', 'freshness', 'loaded_at_field', 'loaded_at_query', 'meta', 'tags']);

/**
 * What dbt-duckdb formats a source's `external_location` with: the meta of the source and of
 * the table (each with its `config: meta:`), then the extra config keys of both, which win
 * over meta (dbt-duckdb's SourceConfig updates the meta with them).
 */
function dbtDuckdbMeta(
  sourceMeta: Record<string, unknown>,
  sourceConfig: Record<string, unknown>,
  tableMeta: Record<string, unknown>,
  tableConfig: Record<string, unknown>,
): Record<string, unknown> {
  const extras = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([k]) => !SOURCE_CONFIG_KEYS.has(k)));
  const metaOf = (c: Record<string, unknown>) => (isMapping(c.meta) ? c.meta : {});
  return { ...sourceMeta, ...metaOf(sourceConfig), ...tableMeta, ...metaOf(tableConfig), ...extras(sourceConfig), ...extras(tableConfig) };
}

function tagList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const PERIODS = ['minute', 'hour', 'day'] as const;

/** Marks a freshness read once rendered (SourceTable.freshnessTemplate). */
const TEMPLATED = Symbol('templated');

/** Whether a YAML value holds Jinja in a text of it. */
/** Whether a config value switches a thing off: false, or text that says so once rendered ('False', 'false'). */
export function isFalse(value: unknown): boolean {
  return value === false || (typeof value === 'string' && value.trim().toLowerCase() === 'false');
}

export function hasJinja(value: unknown): boolean {
  if (typeof value === 'string') return /\{[{%#]/.test(value);
  if (Array.isArray(value)) return value.some(hasJinja);
  return isMapping(value) && Object.values(value).some(hasJinja);
}

/** A source's freshness, each problem said at the key it is in. */
export function readFreshness(value: unknown, at: FreshnessAt, diagnostics: Diagnostic[]): Freshness | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) {
    diagnostics.push(error('bad-properties', 'freshness must be a mapping with warn_after and/or error_after', at.self));
    return undefined;
  }
  const after = (key: 'warn_after' | 'error_after') => {
    const v = value[key];
    if (v === undefined || v === null) return undefined;
    if (isMapping(v) && typeof v.count === 'number' && v.count > 0 && PERIODS.includes(v.period as (typeof PERIODS)[number])) {
      return { count: v.count, period: v.period as (typeof PERIODS)[number] };
    }
    const got = isMapping(v) ? `count: ${JSON.stringify(v.count)}, period: ${JSON.stringify(v.period)}` : JSON.stringify(v);
    diagnostics.push(error('bad-properties', `${key} must be {count: N, period: minute|hour|day}, got {${got}}`, at[key]));
    return undefined;
  };
  const warnAfter = after('warn_after');
  const errorAfter = after('error_after');
  if (!warnAfter && !errorAfter) return undefined;
  return { warnAfter, errorAfter, filter: text(value.filter) };
}

/** A properties entry for a node the project does not have: dbt warns; so does pipe, at its line. */
export function unmatchedEntry(kind: string, name: string, location: Location, hint: string | undefined): Diagnostic {
  return warning('unmatched-properties', `properties for ${kind} '${name}', which the project does not have`, location, { hint });
}
