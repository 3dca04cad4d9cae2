import { warning, type Diagnostic } from '../../diagnostics/diagnostics.js';
import type { PipeNode } from '../analyze.js';
import { modelKind } from '../model-kinds.js';
import { hash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JinjaError } from './errors.js';
import type { ColumnProperties } from '../dbt/properties.js';
import type { Check, DbtTestNode } from '../checks.js';
import type { Exposure } from '../dbt/exposures.js';
import type { ProjectLayout } from '../../project/layout.js';
import type { RunHook, RunHooks } from '../dbt/dbt-project.js';
import { byCodeUnit } from '../../util/code-unit-order.js';
import { pyRepr, pyStr } from '../dbt/test-names.js';
import { quoteIdent, relationNameParts } from '../../sql/sql-text.js';

/**
 * dbt's `graph` variable at execution: the project's nodes and sources keyed by unique id,
 * with the fields of dbt's manifest that macros looping over them read (`resource_type`,
 * `name`, `config`, `depends_on`, `fqn`, `schema`, `relation_name`, ...). Models and seeds
 * are `nodes`, and so are dbt's tests (pipe runs each as a check of the node it tests);
 * source tables are `sources`.
 */

/** What `graph` lists besides the project's nodes. */
export interface GraphExtras {
  readonly exposures: ReadonlyMap<string, Exposure>;
  /** The tests of each source table, by `source.table` (Analysis.sourceChecks). */
  readonly sourceChecks: ReadonlyMap<string, readonly Check[]>;
  /** The singular tests that name no node, which pipe does not run: nodes of dbt's graph all the same. */
  readonly unrunTests?: readonly Check[];
  /** The folders of the project and of each installed package, by name: a node's paths are its package's, as in dbt. */
  readonly folders?: GraphFolders;
  /** The project's folder, which nodes' files are relative to: what their checksums are read from. */
  readonly root?: string;
  /** The on-run-start and on-run-end statements of the project and its packages (dbt's graph has each as a node), and the target's schema, theirs. */
  readonly runHooks?: { readonly hooks: RunHooks; readonly schema: string };
}

/** The whitespace Python's str.strip() removes (not the byte order mark JavaScript's trim() does). */
const PY_SPACE = '[\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');

/** dbt's size past which a seed's checksum is its path, not its content's hash. */
const MAXIMUM_SEED_SIZE = 1024 * 1024;

/**
 * dbt's checksum of a node's file: the sha256 of its text without the whitespace around it
 * (a seed over 1 MiB: its path), `none` where there is no file to read.
 */
function fileChecksum(root: string | undefined, file: string, originalFilePath: string, seed: boolean): { name: string; checksum: string } {
  if (root === undefined) return { name: 'none', checksum: '' };
  const path = join(root, file);
  try {
    if (seed && statSync(path).size > MAXIMUM_SEED_SIZE) return { name: 'path', checksum: originalFilePath };
    return { name: 'sha256', checksum: hash('sha256', readFileSync(path, 'utf8').replace(PY_STRIP, '')) };
  } catch {
    return { name: 'none', checksum: '' };
  }
}

/**
 * A node of the graph as dbt's manifest has it: its `checksum` (when it has one) read from its
 * file when first asked, not for every node of a large project whose templates never ask. The
 * keys dbt's nodes have and pipe's do not are there too, reading one an error that names it,
 * where a template would otherwise go on with an undefined value; they are not enumerable, so
 * that a node's keys, items and JSON are the keys pipe has.
 */
function dbtNode(node: Record<string, unknown>, checksum?: () => { name: string; checksum: string }): Record<string, unknown> {
  if (checksum) {
    Object.defineProperty(node, 'checksum', {
      enumerable: true,
      configurable: true,
      get() {
        const value = checksum();
        Object.defineProperty(node, 'checksum', { value, enumerable: true, writable: true, configurable: true });
        return value;
      },
    });
  }
  for (const [key, why] of UNKNOWN_KEYS) {
    if (Object.hasOwn(node, key)) continue;
    Object.defineProperty(node, key, {
      enumerable: false,
      get() {
        throw new JinjaError(`the graph's ${String(node.unique_id)} has no ${key} in pipe: ${why}`);
      },
    });
  }
  return node;
}

/**
 * A node of the graph as a result of `results` has it: a copy of its own (a template that
 * changes one changes neither the graph nor another result), its checksum read now, and the
 * keys pipe does not know an error to read, as in the graph.
 */
export function copyOfNode(node: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(node)) data[key] = node[key];
  return dbtNode(structuredClone(data));
}

/** dbt's keys of a node that pipe does not know as dbt does, and why. */
const UNKNOWN_KEYS: readonly (readonly [string, string])[] = [
  ['unrendered_config', "dbt's config as written, before rendering, is not kept"],
  ['patch_path', 'the properties file that describes a node is not kept as dbt names it'],
  ['doc_blocks', "the doc blocks a node's description reads are not kept"],
  ['docs', "a node's docs config is not kept"],
  ['primary_key', "dbt's inference of a primary key from tests and constraints is not made"],
];

/** A package's folder relative to the project (none for the project itself) and its folders of models, seeds and snapshots. */
export type GraphFolders = ReadonlyMap<string, { readonly dir?: string; readonly layout: Pick<ProjectLayout, 'models' | 'seeds' | 'snapshots' | 'tests'> }>;

function sourcePaths(file: string, pkg: string, folders: GraphFolders | undefined): { original_file_path: string; path: string } {
  const { original_file_path } = nodePaths(file, pkg, 'models', folders);
  return { original_file_path, path: original_file_path };
}

/**
 * dbt's `original_file_path` (from the root of the node's own package) and `path` (from the
 * model, seed or snapshot folder it is under) of a node's file, which pipe knows from the
 * project root.
 */
export function nodePaths(file: string, pkg: string, kind: 'models' | 'seeds' | 'snapshots' | 'tests', folders: GraphFolders | undefined): { original_file_path: string; path: string } {
  const where = folders?.get(pkg);
  const original = where?.dir !== undefined && file.startsWith(`${where.dir}/`) ? file.slice(where.dir.length + 1) : file;
  const root = where?.layout[kind].find((r) => original.startsWith(`${r}/`));
  return { original_file_path: original, path: root === undefined ? original : original.slice(root.length + 1) };
}

export interface GraphContext {
  readonly nodes: Readonly<Record<string, unknown>>;
  readonly sources: Readonly<Record<string, unknown>>;
  readonly exposures: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly groups: Readonly<Record<string, unknown>>;
  readonly semantic_models: Readonly<Record<string, unknown>>;
  readonly saved_queries: Readonly<Record<string, unknown>>;
}

/** A node's unique id as dbt writes it: `model.project.name`, `seed.project.name`, `source.project.src.table`. */
export function uniqueId(node: PipeNode, project: string): string {
  // A node of an installed package is that package's (the first part of its qualified name).
  const pkg = node.fqn[0] ?? project;
  if (node.kind === 'source') return `source.${pkg}.${node.source}.${node.table}`;
  // A version of a model is dbt's `model.shop.orders.v2`.
  if (node.kind === 'model' && node.version) return `model.${pkg}.${node.version.model}.v${node.version.v}`;
  return `${resourceType(node)}.${pkg}.${node.name}`;
}

/** dbt's resource type: a snapshot is a model of pipe's graph, and a snapshot of dbt's. */
export function resourceType(node: PipeNode): string {
  return node.kind === 'model' && node.config.materialized === 'snapshot' ? 'snapshot' : node.kind;
}

/** The columns a node's properties describe, as dbt's manifest lists them (by name). */
export function graphColumns(columns: readonly ColumnProperties[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    // One mapping for meta and config.meta, as dbt's node has (a macro that changes one changes both), its own copy.
    const meta = structuredClone(c.meta ?? {}) as Record<string, unknown>;
    const tags = [...(c.tags ?? [])];
    // dbt's keys, in its order (a constraint's `to` and `to_columns` are a foreign key's, which pipe refuses).
    out[c.name] = {
      name: c.name,
      description: c.description ?? '',
      meta,
      data_type: c.dataType ?? null,
      constraints: (c.constraints ?? []).map((k) => ({ type: k.type, name: k.name ?? null, expression: k.expression ?? null, warn_unenforced: true, warn_unsupported: true, to: null, to_columns: [] })),
      quote: c.quote ?? null,
      config: { meta, tags },
      tags,
      granularity: null,
    };
  }
  return out;
}

export function graphContext(
  nodes: ReadonlyMap<string, PipeNode>,
  project: string,
  database: string,
  rawCode: (model: string) => string | undefined = () => undefined,
  { exposures, sourceChecks, unrunTests, folders, root, runHooks }: GraphExtras = { exposures: new Map(), sourceChecks: new Map() },
): GraphContext {
  // dbt's time of parsing each node, in seconds: here, of making the graph.
  const created_at = Date.now() / 1000;
  const byName = (name: string) => {
    const n = nodes.get(name);
    return n ? [uniqueId(n, project)] : [];
  };
  // dbt-duckdb's relation_name names the database too: `"warehouse"."main"."orders"`.
  const withDatabase = (relation: string) => (relationNameParts(relation).length === 3 ? relation : `${quoteIdent(database)}.${relation}`);
  const graph = { nodes: {} as Record<string, unknown>, sources: {} as Record<string, unknown>, exposures: {} as Record<string, unknown>, metrics: {}, groups: {}, semantic_models: {}, saved_queries: {} };
  for (const n of nodes.values()) {
    const unique_id = uniqueId(n, project);
    const package_name = n.fqn[0] ?? project;
    // A source's path is its properties file's, as its original_file_path.
    const paths = n.kind === 'source' ? sourcePaths(n.file, package_name, folders) : nodePaths(n.file, package_name, n.kind === 'seed' ? 'seeds' : resourceType(n) === 'snapshot' ? 'snapshots' : 'models', folders);
    const common = { unique_id, name: n.name, resource_type: resourceType(n), package_name, fqn: [...n.fqn], tags: [...n.tags], ...paths, database, meta: {}, created_at };
    const checksum = () => fileChecksum(root, n.file, paths.original_file_path, n.kind === 'seed');
    switch (n.kind) {
      case 'model': {
        // The config as dbt's: its kind (how pipe writes it) is pipe's own.
        const { tags, kind: _kind, ...set } = n.config;
        // Keys left unset are not in dbt's config (and an undefined value is no Python value: tojson refused the node).
        const config = Object.fromEntries(Object.entries(set).filter(([, v]) => v !== undefined));
        const identifier = n.config.alias ?? n.name;
        // What the model reads itself, as dbt's manifest lists it: not what its tests made it wait for.
        const own = n.ownUpstream ?? n.upstream;
        graph.nodes[unique_id] = dbtNode({
          ...common,
          // A version is named as its model, with its version beside it, as in dbt's manifest.
          ...(n.version ? { name: n.version.model } : {}),
          meta: { ...n.meta },
          schema: n.config.schema,
          alias: identifier,
          identifier,
          relation_name: n.config.materialized === 'ephemeral' ? null : withDatabase(n.relation),
          description: n.config.description ?? '',
          // dbt's raw_code is the file's text without the whitespace around it.
          raw_code: (rawCode(n.name) ?? '').trim(),
          language: 'sql',
          // dbt's defaults: a model is protected and in no group, and on_schema_change is dbt's 'ignore' but for an incremental model, where pipe's is 'fail'.
          access: n.access ?? 'protected',
          group: n.group ?? null,
          contract: { enforced: n.contract !== undefined, alias_types: true, checksum: null },
          config: {
            ...config,
            // dbt's config holds the schema and alias as set (null when not), which its naming macros made the relation of.
            ...n.configuredNames,
            // dbt's config holds the contract as a mapping (pipe's as whether it is enforced).
            contract: { enforced: n.config.contract === true, alias_types: true },
            on_schema_change: (config as { on_schema_change?: string }).on_schema_change ?? (modelKind(n.config.kind).isIncremental({ tableExists: true, fullRefresh: false }) ? 'fail' : 'ignore'),
            // dbt's None when not set: a macro asks `config.full_refresh is none` to fall back to flags.FULL_REFRESH.
            full_refresh: (config as { full_refresh?: boolean }).full_refresh ?? null,
            tags: [...tags],
            meta: { ...n.meta },
            enabled: true,
          },
          depends_on: { nodes: own.flatMap(byName), macros: [] },
          refs: own.filter((u) => nodes.get(u)?.kind !== 'source').map((name) => ({ name, package: null, version: null })),
          sources: own.flatMap((u) => {
            const s = nodes.get(u);
            return s?.kind === 'source' ? [[s.source, s.table]] : [];
          }),
          columns: graphColumns(n.columns),
          version: versionValue(n.version?.v),
          latest_version: versionValue(n.version?.latest),
          deprecation_date: deprecationDate(n.version?.deprecationDate),
          // The semantic layer's and dbt 1.11's functions, which pipe does not read (a snapshot has none).
          ...(resourceType(n) === 'model' ? { time_spine: n.timeSpine ? { standard_granularity_column: null, custom_granularities: [], ...n.timeSpine } : null, metrics: [], functions: [] } : {}),
        }, checksum);
        break;
      }
      case 'seed': {
        const identifier = n.alias ?? n.name;
        graph.nodes[unique_id] = dbtNode({
          ...common,
          schema: n.schema,
          alias: identifier,
          identifier,
          relation_name: withDatabase(n.relation),
          description: n.description ?? '',
          // dbt's seeds are in no group, as its models are by default.
          group: null,
          config: {
            materialized: 'seed',
            schema: n.schema,
            alias: n.alias ?? null,
            tags: [...n.tags],
            enabled: true,
            column_types: { ...n.columnTypes },
            delimiter: n.delimiter ?? ',',
            quote_columns: n.quoteColumns,
            // As a model's: the schema and alias as set (null when not).
            ...n.configuredNames,
            // dbt's default for every node, which packages read of seeds too.
            on_schema_change: 'ignore',
            full_refresh: null,
            meta: {},
          },
          depends_on: { nodes: [], macros: [] },
          columns: graphColumns(n.columns),
        }, checksum);
        break;
      }
      case 'source': {
        const freshness = n.graph?.noFreshness ? null : { warn_after: freshnessOf(n.freshness?.warnAfter), error_after: freshnessOf(n.freshness?.errorAfter), filter: n.freshness?.filter ?? null };
        const meta = { ...(n.graph?.meta ?? {}) };
        const loadedAtQuery = n.graph?.loadedAtQuery ?? null;
        graph.sources[unique_id] = dbtNode({
          ...common,
          meta,
          source_meta: { ...(n.graph?.sourceMeta ?? {}) },
          name: n.table,
          source_name: n.source,
          database: n.reads.database ?? database,
          identifier: n.reads.identifier,
          schema: n.reads.schema,
          relation_name: n.reads.kind === 'relation' ? withDatabase(n.relation) : n.relation,
          loaded_at_field: n.loadedAtField ?? null,
          loaded_at_query: loadedAtQuery,
          description: n.description ?? '',
          source_description: n.sourceDescription ?? '',
          loader: n.loader ?? '',
          freshness,
          // dbt-external-tables stages the sources whose node has an `external`.
          external: n.graph?.external ? { ...EXTERNAL_DEFAULTS, ...n.graph.external } : null,
          patch_path: null,
          config: {
            enabled: true,
            tags: [...n.tags],
            freshness: structuredClone(freshness),
            loaded_at_field: n.loadedAtField ?? null,
            loaded_at_query: loadedAtQuery,
            meta: { ...meta },
            event_time: n.eventTime ?? null,
            static_analysis: n.graph?.staticAnalysis ?? null,
          },
          columns: graphColumns(n.columns),
        });
        break;
      }
      default: {
        const never: never = n;
        throw new Error(`internal error: node ${JSON.stringify(never)}`);
      }
    }
  }
  if (runHooks) {
    const { hooks, schema } = runHooks;
    for (const [key, list] of [['on-run-start', hooks.start], ['on-run-end', hooks.end]] as const) addRunHooks(graph.nodes, key, list, { project, database, schema, created_at });
  }
  // dbt's tests are nodes of its graph: pipe runs each as a check of the node it is attached to.
  for (const n of nodes.values()) {
    const checks = n.kind === 'source' ? (sourceChecks.get(n.name) ?? []) : n.checks;
    for (const c of checks) if (c.dbt) addTest(graph.nodes, c, c.dbt, n, project, database, byName, (id) => nodes.get(id)?.kind === 'source', folders, { root, created_at });
  }
  // In the target's schema, as dbt places a test of no node.
  for (const c of unrunTests ?? []) if (c.dbt) addTest(graph.nodes, c, c.dbt, runHooks?.schema ?? 'main', project, database, byName, () => false, folders, { root, created_at });
  for (const e of exposures.values()) {
    const unique_id = `exposure.${project}.${e.name}`;
    graph.exposures[unique_id] = {
      unique_id,
      name: e.name,
      resource_type: 'exposure',
      package_name: project,
      fqn: [project, e.name],
      original_file_path: e.location.file,
      path: e.location.file,
      type: e.type,
      label: e.label ?? null,
      maturity: e.maturity ?? null,
      url: e.url ?? null,
      description: e.description,
      // In dbt's order (its Owner's fields): tojson of it is dbt's text.
      owner: { email: e.owner.email ?? null, name: e.owner.name ?? null },
      meta: e.meta,
      tags: [...e.tags],
      config: { enabled: true, tags: [...e.tags], meta: e.meta },
      depends_on: { nodes: e.nodes.flatMap(byName), macros: [] },
    };
  }
  return graph;
}

/**
 * The run hooks of one key as dbt's graph has them: an `operation` node each, named by its
 * package, its key and its place in that package's list (`shop-on-run-end-0`), its text as
 * written in the package's dbt_project.yml.
 */
function addRunHooks(
  graphNodes: Record<string, unknown>,
  key: 'on-run-start' | 'on-run-end',
  hooks: readonly RunHook[],
  { project, database, schema, created_at }: { readonly project: string; readonly database: string; readonly schema: string; readonly created_at: number },
): void {
  const counts = new Map<string, number>();
  for (const h of hooks) {
    if (h.call) continue;
    const package_name = h.package ?? project;
    const index = counts.get(package_name) ?? 0;
    counts.set(package_name, index + 1);
    const name = `${package_name}-${key}-${index}`;
    const unique_id = `operation.${package_name}.${name}`;
    graphNodes[unique_id] = dbtNode({
      unique_id,
      name,
      resource_type: 'operation',
      package_name,
      fqn: [package_name, 'hooks', name],
      path: `hooks/${name}.sql`,
      original_file_path: './dbt_project.yml',
      database,
      schema,
      alias: name,
      relation_name: null,
      raw_code: h.sql,
      language: 'sql',
      description: '',
      tags: [key],
      meta: {},
      group: null,
      index,
      config: { enabled: true, materialized: 'view', tags: [], meta: {} },
      depends_on: { nodes: [], macros: [] },
      refs: [],
      sources: [],
      columns: {},
      created_at,
    });
  }
}

/**
 * A deprecation date as dbt's manifest has it: the date-time dbt reads the YAML's value as, in
 * ISO form with its zone (a value without one is in the machine's zone, which for pipe is UTC):
 * `2024-01-01` is `2024-01-01T00:00:00+00:00`. A form dbt would read otherwise stays as written.
 */
function deprecationDate(text: string | undefined): string | null {
  if (text === undefined) return null;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2}))?$/.exec(text.trim());
  return m ? `${m[1]}T${m[2] ?? '00:00:00'}+00:00` : text;
}

/** A version as dbt's manifest has it: a number when it is one (`v: 2`), else its text. */
function versionValue(v: string | undefined): number | string | null {
  if (v === undefined) return null;
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

const READS_GRAPH = /\bgraph\s*\.\s*(metrics|groups|semantic_models|saved_queries)\b/;
/** `node.depends_on.macros`, `node.get('depends_on', {}).get('macros', [])`. */
const READS_MACRO_DEPENDENCIES = /\bdepends_on\b[^\n]{0,40}?\bmacros\b/;

/**
 * Warnings where a template (the project's or an installed package's) reads what pipe's
 * `graph` has none of: metrics, semantic models, saved queries and groups, and the macros each
 * node calls (`depends_on.macros`, always empty): a macro that lists them would find none and
 * say so as a result. Each told once, at the first template that reads it.
 */
export function partialGraphNotice(
  /** Each template's text, and the line of its file it starts at (a macro's definition), 1 when absent. */
  templates: readonly { readonly file: string; readonly text: string; readonly line?: number }[],
): Diagnostic[] {
  let collections: Diagnostic | undefined;
  let macros: Diagnostic | undefined;
  const lineOf = (t: { readonly text: string; readonly line?: number }, at: number) => (t.line ?? 1) + t.text.slice(0, at).split('\n').length - 1;
  for (const t of templates) {
    if (collections === undefined && t.text.includes('graph')) {
      const m = READS_GRAPH.exec(t.text);
      if (m) {
        collections = warning('partial-graph', `graph.${m[1]} is read here: pipe has no metrics, semantic models, saved queries or groups, so it is empty`, { file: t.file, line: lineOf(t, m.index) }, {
          hint: "a macro that reads them finds none in pipe: its results differ from dbt's",
        });
      }
    }
    if (macros === undefined && t.text.includes('depends_on')) {
      const m = READS_MACRO_DEPENDENCIES.exec(t.text);
      if (m) {
        macros = warning('partial-graph', "a node's depends_on.macros is read here: pipe records a generic test's own macro there, not the macros a model or a singular test calls (their list is empty)", { file: t.file, line: lineOf(t, m.index) }, {
          hint: "a macro that reads it finds none in pipe: its results differ from dbt's",
        });
      }
    }
    if (collections && macros) break;
  }
  return [collections, macros].filter((d) => d !== undefined);
}

/** A freshness threshold as dbt's manifest has it: `{count, period}`, both null when unset. */
/** The keys dbt's ExternalTable always has, beside the ones a properties file adds. */
const EXTERNAL_DEFAULTS = { location: null, file_format: null, row_format: null, tbl_properties: null, partitions: null };

function freshnessOf(t: { readonly count: number; readonly period: string } | undefined): { count: number | null; period: string | null } {
  return { count: t?.count ?? null, period: t?.period ?? null };
}

/**
 * A dbt test's unique id, as dbt makes it: `test.<package>.<name>`, and for a generic test a
 * hash after it, the last 10 digits of the MD5 of its name and the Python repr of its
 * test_metadata with every key sorted and every value as Python's str() writes it. (A YAML
 * float with nothing after the point, `1.0`, is the number 1 here, where Python writes `1.0`.)
 */
export function testUniqueId(project: string, name: string, t: DbtTestNode | undefined): string {
  const prefix = `test.${t?.fqn[0] ?? project}.${name}`;
  if (!t?.generic) return prefix;
  const metadata = { name: t.generic.test, kwargs: t.generic.kwargs, namespace: t.generic.namespace ?? null };
  return `${prefix}.${hash('md5', `${name}${pyRepr(hashable(metadata))}`).slice(-10)}`;
}

/** dbt's get_hashable_md: mappings with their keys sorted, lists item by item, anything else as Python's str() writes it. */
function hashable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hashable);
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(v).sort(byCodeUnit).map((k) => [k, hashable(v[k])]));
  }
  return pyStr(value);
}

/**
 * A dbt test's node, as dbt's manifest has it (its unique id's hash is pipe's own). Its `path`
 * is dbt's: the compiled file of a generic test (`<alias>.sql`), a singular test's file from
 * its test folder.
 */
function addTest(
  into: Record<string, unknown>,
  c: Check,
  t: DbtTestNode,
  /** The node it runs with, or the schema of a test that runs with none. */
  on: PipeNode | string,
  project: string,
  database: string,
  byName: (name: string) => string[],
  isSource: (name: string) => boolean,
  folders: GraphFolders | undefined,
  /** The project's folder, which the test's file is read from for its checksum, and the graph's time of making. */
  { root, created_at }: { readonly root?: string; readonly created_at: number },
): void {
  const unique_id = testUniqueId(project, c.name, t);
  const schema = typeof on === 'string' ? on : on.kind === 'model' ? on.config.schema : on.kind === 'seed' ? on.schema : 'main';
  const alias = t.alias ?? c.name;
  // In the order dbt's render of the test meets them: a generic test's arguments (`to:`), then
  // the model it is given last; a singular test's in the order of its text.
  const reads = t.generic ? [...t.reads.slice(1), ...t.reads.slice(0, 1)] : t.reads;
  const paths = t.generic ? { original_file_path: c.location.file, path: `${alias}.sql` } : nodePaths(c.location.file, t.fqn[0] ?? project, 'tests', folders);
  // A generic test has no file of its own, as in dbt.
  const checksum = () => (t.generic ? { name: 'none', checksum: '' } : fileChecksum(root, c.location.file, paths.original_file_path, false));
  into[unique_id] = dbtNode({
    unique_id,
    name: c.name,
    resource_type: 'test',
    package_name: t.fqn[0] ?? project,
    fqn: [...t.fqn],
    ...paths,
    database,
    schema: t.schema ?? `${schema}_dbt_test__audit`,
    alias,
    group: null,
    relation_name: null,
    contract: { enforced: false, alias_types: true, checksum: null },
    refs: reads.filter((r) => !isSource(r)).map((name) => ({ name, package: null, version: null })),
    sources: reads.filter(isSource).map((r) => r.split('.')),
    raw_code: '',
    language: 'sql',
    description: '',
    columns: {},
    meta: {},
    tags: [...(c.tags ?? [])],
    config: { enabled: true, materialized: 'test', severity: c.severity.toUpperCase(), tags: [...(c.tags ?? [])], meta: {}, full_refresh: null },
    column_name: t.generic?.column ?? null,
    ...(t.generic ? { test_metadata: { name: t.generic.test, kwargs: { ...t.generic.kwargs }, namespace: t.generic.namespace ?? null } } : {}),
    // A test of a source is attached to no node, as in dbt.
    attached_node: t.generic && !isSource(t.reads[0]) ? (byName(t.reads[0])[0] ?? null) : null,
    depends_on: { nodes: reads.flatMap(byName), macros: [...(t.macros ?? [])] },
    created_at,
  }, checksum);
}
