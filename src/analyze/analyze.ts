import { pythonConfig, pythonReads, type PythonReads } from './dbt/python-config.js';
import { keyJson } from './jinja/values.js';
import { hash } from 'node:crypto';
import { catalogName } from '../warehouse/warehouse-file.js';
import { LAKE_ALIAS } from '../warehouse/ducklake/ducklake-warehouse.js';
import { basename } from 'node:path';
import { DBT_PROJECT_FILE, nodeFqn, type ProjectLayout } from '../project/layout.js';
import { aliasProblem, schemaNameProblem } from '../project/names.js';
import { reservedSchema } from '../warehouse/reserved-schemas.js';
import { NO_RUN_HOOKS, checkPackageProjects, readDbtProject, runHooksWithPackages, type RunHook, type RunHooks } from './dbt/dbt-project.js';
import { varScopes, type VarScopes } from './dbt/var-scopes.js';
import { pastDeprecation, refTarget, versionSources, versionsByNode, type VersionOf } from './dbt/model-versions.js';
import { resolveExposures, type Exposure } from './dbt/exposures.js';
import { NO_PROPERTIES, readProperties, unmatchedEntry, type ColumnProperties, type NodeProperties, type Properties } from './dbt/properties.js';
import { modelContract, type ModelContract } from './dbt/contract.js';
import { baseConfig, baseValue, finalValue, mergeConfig, type BaseConfig, type DbtNames, type MergedConfig, type RenderSetting } from './dbt/node-config.js';
import { dbtSchemaName } from './dbt/dbt-config.js';
import { callsAny, macroFiles, macroProblems, reachedMacros, runtimeMacros } from './dbt/macro-reach.js';
import { settingRenderer, withRenderedDataTypes, withRenderedEnabled, withRenderedFreshness } from './dbt/setting-render.js';
import { notUsedNotice, UnusedSettings } from './dbt/not-used-notice.js';
import { ConfigDiagnostics } from './dbt/config-diagnostics.js';
import { unsupportedDiagnostics, unsupportedUses, type UnsupportedUse } from './dbt/unsupported-jinja.js';
import { projectNamespaces, standInNotice, type PackageScope } from './dbt/packages.js';
import { NO_PACKAGES, packageOfFile } from '../project/load-packages.js';
import { modelsReadAgain, seedHash, seedHashWithChecks, type MacroSource, type ProjectFiles, type ModelSource, type PythonModelFile, type SeedSource } from '../project/load-project.js';
import type { YamlSource } from '../project/yaml-file.js';
import { DATE_VARIABLE_NAMES, dateVariables, hourInterval, intervalLabel, isWholeDays, type Interval } from '../dates/dates.js';
import { makeGraph, reachable, type Graph } from '../graph/graph.js';
import { OverlayMap } from '../util/overlay-map.js';
import { findCycles } from '../graph/cycles.js';
import { error, hasErrors, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { CallSites } from './call-sites.js';
import { seedCsv } from './seed-csv.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { readHooks, readPersistDocs, validateModelConfig, DEFAULT_SCHEMA, type Hook, type ModelConfig, type OwnDefinitions, type PersistDocs } from './model-config.js';
import { secretVarNames, validateSettings, type Pipeline, type ProjectSettings, type ValidatedSettings } from './project-settings.js';
import { secrets } from '../secrets/secrets.js';
import { newRunId } from '../util/run-id.js';
import { foldedName, newlines, ownRelationName, quoteIdent, sqlPieces, statementStart, stripTrailingSemicolon, withCtes } from '../sql/sql-text.js';
import type { TemplateCodeCache } from './template-code-cache.js';
import { KeptRenders, type RenderKey } from './kept-renders.js';
import type { KeptRender } from './render-cache.js';
import { recordingNames } from './jinja/name-reads.js';
import { RenderFailure, TemplateEngine, UNSET_HOUR, type CompiledTemplate, type RenderHooks } from './template-engine.js';
import { TemplateFunctionError } from './jinja/errors.js';
import { DbtRelation, type Invocation, type RelationParts, type TemplateMessage } from './jinja/surface.js';
import { checkKeys, asStringList } from './validate-keys.js';
import { BARE, CHECK_TARGET, IN_DATABASE, checkSql, checksText, parseChecks, refToken, type Check } from './checks.js';
import { sameExternalFiles, type ExternalWriter } from './external-files.js';
import { DEFAULT_MATERIALIZATION, isBuilt, isIncrementalAs, modelKind, NO_TABLE, type Resource, type TableState } from './model-kinds.js';
import { declaredSnapshots } from './snapshots.js';
import { recordSource, renderedPlace, sourceCallProblem, sourceName, sourceNode, type SourceCall, type SourceNode } from './sources.js';
import { attachTests } from './dbt/attach-tests.js';
import type { DbtTest } from './dbt/dbt-tests.js';
import { projectTests } from './dbt/project-tests.js';
import { unitTests, type UnitTest } from './dbt/unit-tests.js';
import { withProjectConfig } from './dbt/unit-test-specs.js';
import { DocBlocks, withDocs } from './dbt/doc-blocks.js';
import { decideShadowed, shadowedNodes, type PendingShadowed } from './dbt/shadowed-nodes.js';
import { enabledBeforeRender, sameNamedFiles } from './same-named-models.js';
import { askedAt, executionPhase, FIXTURE_PHASE, usesIntrospection, type RenderPhase } from './jinja/introspection.js';
import { invocationArgsDict, metadataEnvs } from './dbt/invocation-args.js';
import { copyOfNode, graphColumns, graphContext, nodePaths, partialGraphNotice, uniqueId, type GraphContext, type GraphExtras, type GraphFolders } from './jinja/graph-context.js';
import { ModelVariable } from './jinja/model-variable.js';
import { PyDateTime, UTC } from './jinja/datetime.js';
import { currentCallSite, withCallsOfNothing } from './jinja/syntax.js';
import { unusedConfigPaths, type ConfigSection } from './dbt/unused-config-paths.js';
import { withSourceFolderConfigs } from './dbt/source-folders.js';
import type { Answer, Question } from '../warehouse/introspection.js';
import { byCodeUnit } from '../util/code-unit-order.js';

/**
 * Analysis turns loaded files into a validated graph: it renders every model once (at the
 * run's first interval), collects its config() and ref() calls, checks them and builds the
 * graph. Every problem found is returned at once as a Diagnostic.
 */

export interface RefSite {
  readonly name: string;
  readonly location: Location;
}

/** The hash of a model's rendered SQL, as run state and data versions record it (one call, no Hash object: one per task). */
export function sqlHashOf(sql: string): string {
  return hash('sha256', sql).slice(0, 16);
}

export interface ModelNode {
  readonly kind: 'model';
  readonly name: string;
  readonly file: string;
  readonly config: ModelConfig;
  readonly tags: readonly string[];
  readonly relation: string;
  /** Where it reads each node of its upstream: ref() calls, source() calls (named `src.table`) and relationships checks. */
  readonly refs: readonly RefSite[];
  readonly upstream: readonly string[];
  /** Its upstream before its tests added what they read (dbt's depends_on); left out where they added nothing. */
  readonly ownUpstream?: readonly string[];
  /** dbt's qualified name: project, folders under the model folder, name (see layout.ts). */
  readonly fqn: readonly string[];
  /** The dbt properties file with its entry, if it has one. */
  readonly propertiesFile?: string;
  /** Data checks from the YAML beside the model, and the dbt tests it runs, before each publication. */
  readonly checks: readonly Check[];
  /** The columns its properties file describes (descriptions for persist_docs, declared types). */
  readonly columns: readonly ColumnProperties[];
  /** Its enforced contract, when it has one. */
  readonly contract?: ModelContract;
  /** Where its hooks read other models (built before it). */
  readonly hookRefs?: readonly RefSite[];
  /** Its query reads its own table (`{{ this }}`): a microbatch model's batches then run one after another, as in dbt. */
  readonly readsItself: boolean;
  /** dbt's unit tests of the model (see dbt/unit-tests.ts): they run before it is built, and in `pipe test`. */
  readonly unitTests?: readonly UnitTest[];
  /** A version of a model with versions (`m_v2` is version 2 of m; see dbt/model-versions.ts). */
  readonly version?: VersionOf;
  /** Where its unique_key is set (config(), properties file or dbt_project.yml): a key that names no single row is reported there. */
  readonly uniqueKeyAt?: Location;
  /** Where the column that dates its rows is set (partition_by, or a microbatch's event_time): rows outside the run's interval are reported there. */
  readonly partitionByAt?: Location;
  /** Where a snapshot's updated_at is set: a column its query does not give is reported there. */
  readonly snapshotTimeAt?: Location;
  /** An incremental model's `on_schema_change` (else its config() call): a query whose columns no longer match its table is reported there. */
  readonly schemaChangeAt?: Location;
  /** Where an external model's file is set (its `location`, else its materialization): another model writing the same file is reported there. */
  readonly externalFileAt?: Location;
  /** dbt's `access` and `group` when set: shown by the graph's nodes, they change nothing pipe builds. */
  readonly access?: ModelAccess;
  readonly group?: string;
  /** dbt's `meta` of its config when set: `model.meta` and its node of `graph` show it; it changes nothing pipe builds. */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** Its properties' `time_spine:` (the semantic layer's), for graph.nodes. */
  readonly timeSpine?: Readonly<Record<string, unknown>>;
  /**
   * In a dbt project, its schema and alias as its config sets them (null: not set), before dbt's
   * naming macros made `config.schema` and the relation of them, and its incremental_strategy
   * and unique_key as set: what dbt's `config.schema:` selectors and its graph's `config` read.
   */
  readonly configuredNames?: ConfiguredNames;
}

export interface ConfiguredNames {
  readonly schema: unknown;
  readonly alias: unknown;
  /** As set too (pipe's config keeps the strategy as the model's kind, and no unique_key for append, which ignores it). */
  readonly incremental_strategy: unknown;
  readonly unique_key: unknown;
}

export type ModelAccess = 'private' | 'protected' | 'public';
const ACCESS: readonly ModelAccess[] = ['private', 'protected', 'public'];

export interface SeedNode {
  readonly kind: 'seed';
  readonly name: string;
  readonly file: string;
  readonly absPath: string;
  /** The file's hash with what in its YAML changes the table, and its checks: the seed is reloaded when it changes. */
  readonly hash: string;
  /** `hash` without the checks (see seedHashWithChecks), where the seed has any. */
  readonly loadHash?: string;
  readonly schema: string;
  readonly relation: string;
  readonly tags: readonly string[];
  /** Column name -> DuckDB type, declared (`column_types`), overriding inference. */
  readonly columnTypes: Readonly<Record<string, string>>;
  /**
   * In a dbt project, the types dbt-duckdb gives the columns `columnTypes` leaves out (see
   * seed-inference.ts); empty in a pipe project, whose seeds DuckDB's inference types.
   */
  readonly inferredTypes: Readonly<Record<string, string>>;
  /** The field separator when it is not a comma (`delimiter:`). */
  readonly delimiter?: string;
  /** dbt's `event_time`: a microbatch model that reads the seed reads the rows of its batch. */
  readonly eventTime?: string;
  /** The table's name when it is not the seed's (`alias:`). */
  readonly alias?: string;
  /** In a dbt project, its schema and alias as set (`+schema: raw`), which dbt's `config.` selectors read, not as its naming macros made them. */
  readonly configuredNames?: { readonly schema: unknown; readonly alias: unknown };
  /** dbt's `quote_columns`: false creates the columns with bare names, so a keyword cannot be one. */
  readonly quoteColumns: boolean;
  /** A dbt project's seed, which dbt-duckdb loads with the quote and escape DuckDB's CSV sniffer finds in it. */
  readonly sniffedByDbt?: true;
  /** Where quote_columns is set. */
  readonly quoteColumnsAt: Location;
  /** Where each of `columnTypes` is declared in the seed's YAML. */
  readonly columnTypeLocations: Readonly<Record<string, Location>>;
  /** The names in the CSV's header line, and whether rows follow it (none and false when it has none). */
  readonly header: { readonly names: readonly string[]; readonly rows: boolean; readonly renamed?: true };
  readonly upstream: readonly string[];
  /** Its upstream before its tests added what they read; left out where they added nothing. */
  readonly ownUpstream?: readonly string[];
  /** dbt's qualified name: project, folders under the seed folder, name. */
  readonly fqn: readonly string[];
  /** The dbt properties file with its entry, if it has one. */
  readonly propertiesFile?: string;
  /** The dbt tests it runs before it is published. */
  readonly checks: readonly Check[];
  /** dbt's pre- and post-hooks, run when the seed is loaded (an unchanged seed is not). */
  readonly pre_hook: readonly Hook[];
  readonly post_hook: readonly Hook[];
  readonly persist_docs: PersistDocs;
  readonly description?: string;
  /** The columns its properties file describes. */
  readonly columns: readonly ColumnProperties[];
}

export type { SourceNode } from './sources.js';

/** A node of the graph: models and seeds are built; sources are only read. */
export type PipeNode = ModelNode | SeedNode | SourceNode;

export interface AnalyzeOptions {
  /** The interval templates are first rendered at (the run's date, or its first date). */
  readonly interval: Interval;
  /** Pipeline whose vars apply; validated separately by the caller. */
  readonly pipeline?: string;
  /** The vars are a run's whole root vars as resolved then (a retry's): the files' do not add to them (see VarSources.exact). */
  readonly varsAsRun?: boolean;
  /** With varsAsRun: each package's nodes' vars as the run resolved them (see VarSources.exactPackages). */
  readonly packageVarsAsRun?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** `--var` values; they win over pipeline and project vars. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Relations that exist in the warehouse (`"schema"."name"`), for is_incremental(). */
  readonly existingRelations?: { has(relation: string): boolean };
  /** Rebuild incremental models from nothing: is_incremental() is false. */
  readonly fullRefresh?: boolean;
  /** pipe.yaml and the pipelines as the caller validated them; validated here when absent. */
  readonly validated?: ValidatedSettings;
  /** The run templates render for (invocation_id, run_started_at); a fresh one when absent. */
  readonly invocation?: Invocation;
  /** Where compiled templates are kept between processes; absent, every template is compiled. */
  readonly templateCache?: TemplateCodeCache;
}

export interface Analysis {
  readonly root: string;
  /** The project's name: dbt_project.yml's, pipe.yaml's, else its folder's; the first part of every qualified name. */
  readonly projectName: string;
  readonly settings: ProjectSettings;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly nodes: ReadonlyMap<string, PipeNode>;
  readonly graph: Graph;
  readonly vars: Readonly<Record<string, unknown>>;
  /** The vars of each installed package's nodes, by package (see VarScopes.packageScopes). */
  readonly packageVars: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly renderer: ModelRenderer;
  /** Models, seeds and source tables switched off with `enabled: false`, and where: they are not in the graph. */
  readonly disabled: ReadonlyMap<string, Location>;
  /** Those of `disabled` that are model files with nothing in them (no model is built from them, as in dbt). */
  readonly emptyFiles?: ReadonlySet<string>;
  /** The tags of each Python model not switched off (pipe builds none): what a selection by tag tells of them. */
  readonly pythonTags?: ReadonlyMap<string, readonly string[]>;
  /** What each of those reads (its dbt.ref() and dbt.source() calls): whether a selection of what is upstream reaches it. */
  readonly pythonReads?: ReadonlyMap<string, PythonReads>;
  /** The tests of a dbt project's sources, by `source.table` (see dbt/project-tests.ts); no task runs them yet. */
  readonly sourceChecks: ReadonlyMap<string, readonly Check[]>;
  /**
   * dbt's singular tests that name no model, seed or source (`from {{ target.schema }}.orders`):
   * no node's build runs them; a run of the whole project, or a `pipe test` that names them, runs
   * each on its own after every other task (see plan.ts freeTestTasks).
   */
  readonly freeTests: readonly Check[];
  /** dbt_project.yml's on-run-start and on-run-end. */
  readonly runHooks: RunHooks;
  /** The database models are written to, as dbt's `target.database` and `this.database` name it. */
  readonly database: string;
  readonly diagnostics: readonly Diagnostic[];
  /** What templates said with log(msg, info=True) and print(msg) as they were rendered, in order. */
  readonly messages: readonly string[];
  /** dbt's exposures, by name, with the nodes each depends on: what `--select +exposure:name` builds. */
  readonly exposures: ReadonlyMap<string, Exposure>;
}

/** A hook or sql_header of a model, rendered: its SQL and the models it reads. */
export interface RenderedHookSql {
  readonly sql: string;
  readonly refs: readonly string[];
}

/** A hook's render that needs the warehouse's answer first: it is rendered again as it runs (see RenderAtRun). */
export interface HookAsks {
  readonly asks: Question;
  /** Where the template asks it, when that is known (a macro run-operation calls: the call in the macro). */
  readonly at?: Location;
}

/** What `this` is in a model's hook: the relation, with dbt's parts of it. */
export interface HookRelation {
  readonly schema: string;
  readonly identifier: string;
  readonly database: string;
}

export const SEED_KEYS = ['column_types', 'description', 'tags', 'schema', 'alias', 'delimiter', 'enabled', 'quote_columns', 'pre_hook', 'post_hook', 'persist_docs', 'event_time'] as const;
const EPHEMERAL_PREFIX = '__pipe_ephemeral__';
const REF_TOKEN_RE = /\u0000([^\u0000]*)\u0000/g;
/** A relation named by its schema and name only (`"main"."orders"`), with no database before them. */
const TWO_PART_RELATION = /^"(?:[^"]|"")*"\."(?:[^"]|"")*"$/;
/** The node a ref token names, a bare one's too (see bareRefToken). */
const refName = (token: string): string => (token.startsWith(BARE) ? token.slice(BARE.length) : token);

function refLocation(model: ModelSource, sites: CallSites, name: string): Location {
  return { file: model.file, ...sites.ref(name) };
}

/** One key given two different values by two config() calls of a model. */
interface ConfigConflict {
  readonly key: string;
  readonly first: unknown;
  readonly second: unknown;
  /** Which setting of the key (0-based) gave the second value; the one before it gave the first. */
  readonly setting: number;
  /** Where the calls that gave the second and the first value were made: in a macro the model calls, that macro's line. */
  readonly at?: Location;
  readonly firstAt?: Location;
}

/** The keys of config() whose values add up from call to call (dbt appends hooks), in both spellings. */
const HOOK_CALL_KEYS: ReadonlySet<string> = new Set(['pre_hook', 'post_hook', 'pre-hook', 'post-hook']);
/** A hook setting as a list of hooks: one statement (or `{sql, transaction}`) or a list of them. */
const hookList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

const NO_STALE_READS: ReadonlyMap<string, unknown> = new Map();
/** Whether a config() value holds a none anywhere (a var nobody sets, read as dbt's parse reads it). */
function holdsNone(v: unknown): boolean {
  if (v === null) return true;
  if (Array.isArray(v)) return v.some(holdsNone);
  return typeof v === 'object' && v !== undefined && Object.getPrototypeOf(v) === Object.prototype && Object.values(v as Record<string, unknown>).some(holdsNone);
}

/** A source no seed or model of the project writes. */
const unwrittenSource = (n: PipeNode | undefined): boolean => n?.kind === 'source' && n.upstream.length === 0;

/** What reading `name` outside the graph would do to the task (see ModelRenderer.readOutsideGraph): a source or an ephemeral model has no build to wait for. */
function readOutsideConsequence(n: PipeNode | undefined, name: string): string {
  const built = n !== undefined && (n.kind === 'seed' || (n.kind === 'model' && isBuilt(n.config.kind)));
  return built ? `its task would not wait for ${name}'s build, nor be out of date when ${name} changes` : `its task would not be out of date when ${name} changes`;
}

/** How a model's error for a var nobody sets reads after its name (see ModelRenderer.varsUnsetRender). */
const VAR_UNSET = 'is not set and has no default;';

/** The date variables' names, as a kept render's names are checked against them. */
const DATE_NAMES: ReadonlySet<string> = new Set(DATE_VARIABLE_NAMES);

function sameConfigValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

const configValue = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

/** A model that renders to nothing: no query to run, or (an ephemeral model) to inline where `readBy` reads it. */
function emptyModel(name: string, interval: Interval, file: string, readBy?: string): Diagnostic {
  const where = readBy === undefined ? '' : `, and ${readBy} reads it`;
  return error('empty-model', `${name} renders to no SQL (only whitespace or comments) for ${intervalLabel(interval)}${where}`, { file }, {
    hint: 'a model is one query: select ... (or with ... select ...)',
  });
}

function configConflict(file: string, sites: CallSites, c: ConfigConflict): Diagnostic {
  const first = configValue(c.first);
  const second = configValue(c.second);
  // A call of a macro the model calls is not in the model's text: said at the macro's line.
  const secondAt = c.at && c.at.file !== file ? c.at : { file, ...sites.configSetting(c.key, c.setting) };
  return error('config-conflict', `config() sets '${c.key}' twice, to ${first} and then to ${second}; set it once`, secondAt, {
    related: [{ message: `${c.key}=${first} set here`, location: c.firstAt && c.firstAt.file !== file ? c.firstAt : { file, ...sites.configSetting(c.key, c.setting - 1) } }],
  });
}

/**
 * dbt's `model.batch` in a microbatch model's render: the batch it is rendered for (pipe renders
 * each batch apart, for its interval), its id as dbt formats it (`20241209`, hourly
 * `2024120913`) and its bounds as UTC datetimes; undefined for any other model.
 */
function microbatchOf(base: BaseConfig, calls: Readonly<Record<string, unknown>>, interval: Interval): Record<string, unknown> | undefined {
  if (finalValue(base, calls, 'incremental_strategy') !== 'microbatch') return undefined;
  const hourly = finalValue(base, calls, 'batch_size') === 'hour';
  const start = new Date(interval.start).toISOString();
  const id = start.slice(0, 4) + start.slice(5, 7) + start.slice(8, 10) + (hourly ? start.slice(11, 13) : '');
  return { id, event_time_start: PyDateTime.fromEpochMs(interval.start, UTC), event_time_end: PyDateTime.fromEpochMs(interval.end, UTC) };
}

/** The keys whose values dbt merges from config() call to config() call rather than replaces. */
const APPENDED_CALL_KEYS: ReadonlySet<string> = new Set(['tags', 'packages']);
const UPDATED_CALL_KEYS: ReadonlySet<string> = new Set(['meta', 'docs', 'quoting', 'column_types', 'contract', 'grants']);
const MERGED_CALL_KEYS: ReadonlySet<string> = new Set([...APPENDED_CALL_KEYS, ...UPDATED_CALL_KEYS]);

/** A key's value after a later config() call in a dbt project, as dbt's parser merges calls: lists add up, mappings update, the rest is replaced. */
function laterConfigCall(key: string, before: unknown, value: unknown): unknown {
  if (APPENDED_CALL_KEYS.has(key)) return [...hookList(before), ...hookList(value)];
  const mapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (UPDATED_CALL_KEYS.has(key) && mapping(before) && mapping(value)) return { ...before, ...value };
  return value;
}

/** The notice that a later config() call replaced a key's value, at the later call, naming where the first was set (and that a SQL comment hides no Jinja). */
function configOverride(model: ModelSource, sites: CallSites, c: ConfigConflict): TemplateMessage {
  const file = model.file;
  const secondAt = c.at && c.at.file !== file ? c.at : { file, ...sites.configSetting(c.key, c.setting) };
  const firstAt = c.firstAt && c.firstAt.file !== file ? c.firstAt : { file, ...sites.configSetting(c.key, c.setting - 1) };
  const commented = [firstAt, secondAt].some((l) => l.file === file && l.line !== undefined && inLineComment(model.sql, l.line, l.column ?? 1));
  const where = firstAt.line === undefined ? firstAt.file : `${firstAt.file}:${firstAt.line}`;
  return {
    kind: 'warn',
    message: `config() sets '${c.key}' again, to ${configValue(c.second)}, after ${configValue(c.first)} at ${where}: the later call wins, as in dbt${commented ? ' (Jinja inside a -- comment renders all the same)' : ''}`,
    at: secondAt,
  };
}

/** Whether the text at a 1-based line and column follows `--` on its line. */
function inLineComment(text: string, line: number, column: number): boolean {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return false;
    start = next + 1;
  }
  return text.slice(start, start + column - 1).includes('--');
}

/** The lines of ephemeral models inlined into a query, and where each one's own SQL is among them. */
export interface Inserted {
  readonly atLine: number;
  readonly by: number;
  /** Each ephemeral model's SQL as inlined, from line `atLine` of the query, with its file and template text. */
  readonly ctes?: readonly { readonly file: string; readonly source: string; readonly sql: string; readonly atLine: number }[];
}

export interface RenderedSql {
  readonly sql: string;
  readonly hash: string;
  readonly refs: readonly string[];
  /** The model's template text, to map database errors back to its lines. */
  readonly source: string;
  /** Lines added by inlining ephemeral models. */
  readonly inserted?: Inserted;
}

/**
 * A model's execution render (see sqlAtRun): its SQL, or the question to the warehouse that
 * stopped it, with where the template asks it.
 */
export type RunRender = RenderedSql | { readonly asked: Question; readonly location: Location; readonly related?: Diagnostic['related'] } | Diagnostic;

/** A dbt test's render as it runs (see checkSqlAtRun): its SQL, the question that stopped it, or why it failed. */
export type CheckRunRender = string | { readonly asked: Question; readonly location: Location; readonly related?: Diagnostic['related'] } | Diagnostic;

/** What a unit test sets for its model's render: `overrides:` of vars, env_vars and macros (by the name a template calls them by). */
export interface UnitTestOverrides {
  readonly vars: Readonly<Record<string, unknown>>;
  readonly envVars: Readonly<Record<string, unknown>>;
  readonly macros: ReadonlyMap<string, unknown>;
}

/** A unit test's renders of its model (see ModelRenderer.unitTestRenders). */
export interface UnitTestRenders {
  parse(): RenderedSql | Diagnostic;
  atRun(answers: ReadonlyMap<string, Answer>): RunRender;
}

/** Model name → the `"schema"."name"` its ref() (and its own `this`) resolves to instead of its published relation. */
export type RelationOverrides = ReadonlyMap<string, string>;

/** One render of a model's template: what the analysis reads of it (kept between processes as it is, see render-cache.ts). */
type RawRender = KeptRender;

/** The values dbt's config of a model holds for these keys where nothing sets them, as config.get() and model.config read them. */
const DBT_CONFIG_DEFAULTS: Readonly<Record<string, unknown>> = {
  tags: [],
  meta: {},
  persist_docs: {},
  grants: {},
  column_types: {},
  quoting: {},
  packages: [],
  docs: { show: true },
  contract: { enforced: false, alias_types: true },
};

/** The table name of the node named `name` (its alias, else its name), as a ref's `.identifier` says it. */
export function nodeIdentifier(node: PipeNode | undefined, name: string): string {
  if (node?.kind === 'model') return node.config.alias ?? node.name;
  if (node?.kind === 'seed') return node.alias ?? node.name;
  // A source's table as it is read (its `identifier`, else its name).
  if (node?.kind === 'source') return node.reads.kind === 'relation' ? node.reads.identifier : node.table;
  return name;
}

/** The database and schema a node is in, once placed: what a generic test's `model.database` and `model.schema` say. */
function nodePlace(node: PipeNode | undefined, warehouse: string): { database: string; schema: string } | undefined {
  if (node?.kind === 'model') return { database: warehouse, schema: node.config.schema };
  if (node?.kind === 'seed') return { database: warehouse, schema: node.schema };
  if (node?.kind === 'source' && node.reads.kind === 'relation') return { database: node.reads.database ?? warehouse, schema: node.reads.schema };
  return undefined;
}

/** A model's relation as `this` names it, given the config() calls of its template. */
export type RelationOf = (model: string, configCalls: Readonly<Record<string, unknown>>) => RelationParts;

const sameParts = (a: RelationParts, b: RelationParts) => a.database === b.database && a.schema === b.schema && a.identifier === b.identifier;

/** The CTE a check reads a view's query through (see ModelRenderer.checkSql). */
const CHECKED_CTE = '__pipe_checked';

/**
 * The renders of one model a renderer keeps, the latest: a model is asked again for a render
 * it just made (what it reads outside the graph, an ephemeral model it inlines, its first date
 * in two states), not for another date long after. Every render kept, a backfill's plan held
 * each date's of each model to its end: ~1-2 KB a task, a sixth of the plan.
 */
const RENDERS_KEPT = 8;

/**
 * Renders models for any interval, keeping each model's latest renders by (interval, what exists). The plan
 * phase asks it for each task's final SQL; ephemeral models are injected as CTEs here.
 */
export class ModelRenderer {
  private nodes: ReadonlyMap<string, PipeNode> = new Map();
  /** dbt's `graph` at execution, made when the first execution render needs it. */
  private graph: GraphContext | undefined;
  /** dbt's exposures and the tests of sources, for `graph` (see knowGraph). */
  private extras: GraphExtras = { exposures: new Map(), sourceChecks: new Map() };
  /** Whether any model is rendered again when its task runs. */
  private anyRuntime: boolean | undefined;

  constructor(
    private readonly engine: TemplateEngine,
    private readonly models: ReadonlyMap<string, RenderModel>,
    /** The vars of each package's nodes and of the project's own. */
    private readonly vars: VarScopes,
    /**
     * The project's name and the target's database, for dbt's `graph`; the text of its macro
     * files and singular tests, to find where one asks the warehouse.
     */
    private readonly project: { readonly name: string; readonly database: string; readonly templates: readonly MacroSource[]; readonly dbt: boolean },
    /** Where a model is written, as `this` names it, given its template's config() calls. */
    private readonly relationOf: RelationOf,
  ) {}

  /**
   * What `last`, a renderer of the same models but `replaced`, found of models rendered at run
   * time, when it holds for this one: none there and none among `replaced` is none here, known
   * without looking at every model again (a save in watch mode renders a few).
   */
  knowRuntimeFrom(last: ModelRenderer, replaced: Iterable<RenderModel>): void {
    if (last.anyRuntime !== false) return;
    for (const m of replaced) if (m.runtime) return;
    this.anyRuntime = false;
  }

  setNodes(nodes: ReadonlyMap<string, PipeNode>): void {
    this.nodes = nodes;
    this.graph = undefined;
    this.engine.shown = (text) => this.shownText(text);
  }

  /**
   * What dbt's `model` holds in a model's render: its node of `graph` when executing, else
   * what is known of it before its render ends (its config is read as config.get() reads it).
   */
  private modelFields(model: RenderModel, name: string, parts: RelationParts, phase: RenderPhase | undefined, batch: Record<string, unknown> | undefined): Record<string, unknown> {
    const built = this.nodes.get(name);
    const unique_id = built ? uniqueId(built, this.project.name) : `${model.resource}.${model.fqn[0] ?? this.project.name}.${name}`;
    const node = phase?.execute ? (phase.graph.nodes as Readonly<Record<string, Record<string, unknown>>> | undefined)?.[unique_id] : undefined;
    if (node) return batch ? { ...node, batch } : node;
    const file = model.source.file;
    const package_name = model.fqn[0] ?? this.project.name;
    return {
      unique_id,
      name,
      resource_type: model.resource,
      package_name,
      fqn: [...model.fqn],
      ...nodePaths(file, package_name, model.resource === 'snapshot' ? 'snapshots' : 'models', this.extras.folders),
      raw_code: model.source.sql.trim(),
      language: 'sql',
      database: parts.database,
      schema: parts.schema,
      alias: parts.identifier,
      identifier: parts.identifier,
      description: model.properties?.description ?? '',
      columns: graphColumns(model.properties?.columns ?? []),
      // Known once the graph is: what the parse render reads of them is a placeholder, as
      // dbt's parse render has, and a template that reads them renders again when its task
      // runs (usesIntrospection), with its node of the graph.
      refs: [],
      sources: [],
      depends_on: { nodes: [], macros: [] },
      relation_name: [parts.database, parts.schema, parts.identifier].map(quoteIdent).join('.'),
      ...(batch ? { batch } : {}),
    };
  }

  /** dbt's `graph` at execution, with each model's text as its raw_code. */
  private graphContext(): GraphContext {
    return (this.graph ??= graphContext(this.nodes, this.project.name, this.project.database, (name) => this.models.get(name)?.source.sql, this.extras));
  }

  /** The graph's node of unique id `id`, as a result of `results` has it (see copyOfNode); undefined when the graph has none. */
  resultNode(id: string): Record<string, unknown> | undefined {
    const node = this.graphContext().nodes[id];
    return node === undefined ? undefined : copyOfNode(node as Record<string, unknown>);
  }

  /** A node's entry of dbt's graph (`graph.nodes`, a source's `graph.sources`), as the project's manifest would hold it. */
  graphEntry(name: string): Readonly<Record<string, unknown>> | undefined {
    const n = this.nodes.get(name);
    if (!n) return undefined;
    const graph = this.graphContext();
    const id = uniqueId(n, this.project.name);
    return (n.kind === 'source' ? graph.sources[id] : graph.nodes[id]) as Readonly<Record<string, unknown>> | undefined;
  }

  /** What the graph is made with besides the nodes. */
  get graphExtras(): GraphExtras {
    return this.extras;
  }

  knowGraph(extras: GraphExtras): void {
    this.extras = extras;
    this.graph = undefined;
  }

  /**
   * Whether a model's SQL is rendered again when its task runs (dbt's execution render): its
   * template, a macro it calls, or an ephemeral model it inlines reads the warehouse while
   * rendering, or tells the phases apart (`execute`, `graph`).
   */
  rendersAtRun(name: string, seen?: Set<string>): boolean {
    // Most projects have no such model: planning ten thousand tasks asks this ten thousand times.
    this.anyRuntime ??= [...this.models.values()].some((m) => m.runtime);
    if (!this.anyRuntime) return false;
    seen ??= new Set<string>();
    if (seen.has(name)) return false;
    seen.add(name);
    if (this.models.get(name)?.runtime) return true;
    const node = this.nodes.get(name);
    if (node?.kind !== 'model') return false;
    return node.upstream.some((u) => {
      const n = this.nodes.get(u);
      return n?.kind === 'model' && !isBuilt(n.config.kind) && this.rendersAtRun(u, seen);
    });
  }

  /**
   * The execution render of a model, with the warehouse's answers so far (by questionKey):
   * its final SQL, or the first question it has no answer to. The graph was built from the
   * parse render, so a ref() that only the execution render reaches is an error, as in dbt.
   * What the model's template (and the ephemeral models it inlines) say with log(), print() and
   * exceptions.warn() goes to `report`, in order, however the render ends.
   */
  sqlAtRun(
    name: string,
    interval: Interval,
    state: TableState,
    relations: RelationOverrides | undefined,
    answers: ReadonlyMap<string, Answer>,
    inputs?: RelationOverrides,
    report?: (message: TemplateMessage) => void,
  ): RunRender {
    const graph = this.graphContext();
    const parsed = this.renderRaw(name, interval, state);
    const parsedRefs = new Set('severity' in parsed ? [] : parsed.refs);
    // The ephemeral models it inlines render with it: what they read is upstream of it too.
    for (const stack = [...parsedRefs]; stack.length > 0; ) {
      const n = this.nodes.get(stack.pop()!);
      if (n?.kind !== 'model' || isBuilt(n.config.kind)) continue;
      for (const u of n.upstream) {
        if (parsedRefs.has(u)) continue;
        parsedRefs.add(u);
        stack.push(u);
      }
    }
    const unseenError = (unseen: string) => {
      const model = this.models.get(name)!;
      return error('ref-at-run', `ref('${unseen}') is reached only when ${name} runs (execute is true): its upstream comes from the render with execute false`, { file: model.source.file, ...model.sites.ref(unseen) }, {
        hint: `name it where both renders see it, e.g. a comment: -- depends_on: {{ ref('${unseen}') }}`,
      });
    };
    // A query naming such a ref would read a table that may not be built yet: refused before it
    // runs. A source's token is its name too; a source is not built, and dbt reads one at run
    // time whichever render named it.
    let unseenInQuery: string | undefined;
    const notParsed = (token: string) => token !== name && !parsedRefs.has(token) && this.nodes.get(token)?.kind !== 'source';
    const resolve = (text: string) => {
      if (!('severity' in parsed)) for (const [, token] of text.matchAll(REF_TOKEN_RE)) if (!token.startsWith(IN_DATABASE) && notParsed(refName(token))) unseenInQuery ??= refName(token);
      return this.resolveRefs(text, relations);
    };
    const phase = executionPhase(answers, resolve, { ...graph }, report);
    const r = this.sql(name, interval, state, relations, phase, inputs);
    if (unseenInQuery !== undefined) return unseenError(unseenInQuery);
    if (phase.asked) {
      const model = this.models.get(name)!;
      const d = 'severity' in r ? r : undefined;
      // Nunjucks does not always say where a call stopped it: the first place the file asks.
      const file = d?.location?.file ?? model.source.file;
      const source = file === model.source.file ? model.source.sql : this.sourceOf(file);
      const location = d?.location?.line !== undefined ? d.location : { file, ...(source === undefined ? {} : askedAt(source, phase.asked)) };
      return { asked: phase.asked, location, related: d?.related };
    }
    if ('severity' in r) return r;
    const unseen = 'severity' in parsed ? undefined : r.refs.find((ref) => !parsedRefs.has(ref));
    return unseen === undefined ? r : unseenError(unseen);
  }


  /**
   * A model's query for one of its unit tests, rendered as dbt renders it: what it reads
   * resolved to `inputs` (the names the given rows are read by), is_incremental() answering
   * `incremental`, the test's vars over the project's, its env_vars and macro overrides. `parse`
   * is the render with execute false; a model rendered again when it runs (see rendersAtRun) is
   * rendered for its test as it runs too, `atRun` with the warehouse's answers so far.
   */
  unitTestRenders(name: string, interval: Interval, incremental: boolean, inputs: RelationOverrides, overrides: UnitTestOverrides): UnitTestRenders {
    const state = { tableExists: incremental, fullRefresh: false };
    const renderer = this.withOverrides(overrides);
    return {
      parse: () => renderer.sql(name, interval, state, inputs),
      atRun: (answers) => renderer.sqlAtRun(name, interval, state, inputs, answers),
    };
  }

  /** This renderer, or, when a unit test sets vars, env_vars or macros, one of its own, whose renders are not the model's. */
  private withOverrides(overrides: UnitTestOverrides): ModelRenderer {
    if (Object.keys(overrides.vars).length === 0 && Object.keys(overrides.envVars).length === 0 && overrides.macros.size === 0) return this;
    const models = new Map([...this.models].map(([n, m]) => [n, { ...m, renders: new Map<string, RawRender | Diagnostic>() }]));
    const renderer = new ModelRenderer(this.engine, models, this.vars.with(overrides.vars), this.project, this.relationOf);
    renderer.setNodes(this.nodes);
    renderer.setDisabledSources(this.disabledSources);
    renderer.knowGraph(this.extras);
    renderer.envVars = overrides.envVars;
    renderer.macroOverrides = overrides.macros;
    return renderer;
  }

  /** Environment variables a unit test sets for its render (see unitTestRenders). */
  private envVars: Readonly<Record<string, unknown>> | undefined;
  /** What macros a unit test overrides give in its render (see unitTestRenders). */
  private macroOverrides: ReadonlyMap<string, unknown> | undefined;

  /**
   * What config.get(key) reads in a model given its config() calls so far: the value that
   * dbt_project.yml, its properties and those calls give the key together (a custom schema as
   * written, not the schema it makes), the materialization it is built as when none is named,
   * and undefined for a key nothing sets.
   */
  private configValueOf(model: RenderModel, calls: Readonly<Record<string, unknown>>, key: string): unknown {
    // In a dbt project, merged as dbt merges (tags add up), the schema and alias left as written.
    const asWritten: DbtNames | undefined = this.project.dbt ? { database: this.project.database, schema: (custom) => custom as string, alias: (custom) => custom } : undefined;
    const merged = mergeConfig(model.resource, model.base, calls, () => ({ file: model.source.file }), asWritten, []);
    const { record } = merged;
    const value = Object.hasOwn(record, key) ? record[key] : record[key.replaceAll('-', '_')];
    if (value !== undefined && value !== null) return value;
    // A key pipe leaves aside (meta, grants, docs, ...) reads as dbt's config.get() reads it.
    const aside = merged.setting?.(key) ?? merged.setting?.(key.replaceAll('-', '_'));
    if (aside !== undefined && aside !== null) return aside;
    if (key === 'materialized') return model.resource === 'snapshot' ? 'snapshot' : this.project.dbt ? 'view' : DEFAULT_MATERIALIZATION;
    if (key === 'enabled') return true;
    // What dbt's model config holds where nothing sets it: a package reading model.config.tags gets a list.
    if (this.project.dbt && Object.hasOwn(DBT_CONFIG_DEFAULTS, key)) return structuredClone(DBT_CONFIG_DEFAULTS[key]);
    // dbt's 'ignore', but for an incremental model, where pipe's is 'fail' (as graph.nodes says).
    if (this.project.dbt && key === 'on_schema_change') return record.materialized === 'incremental' ? 'fail' : 'ignore';
    return undefined;
  }

  /** The models whose table name is being found by rendering them (see refIdentifier): one asking its own is a cycle. */
  private readonly identifying = new Set<string>();

  /**
   * The table name of the node `ref(name)` reads, as dbt's relation gives it (`.identifier`,
   * `.name`): its alias, else its name. Once the analysis made its node, the node's; while the
   * models are being rendered, a model's is found from its own render (its config() may set
   * the alias), for the same interval.
   */
  private refIdentifier(name: string, interval: Interval, state: TableState): string {
    const node = this.nodes.get(name);
    if (node || !this.models.has(name)) return nodeIdentifier(node, name);
    if (this.identifying.has(name)) {
      throw new TemplateFunctionError(`the table name of ${name} is not known while a template renders in pipe: it is asked while ${name} itself renders (ref('${name}').identifier)`);
    }
    this.identifying.add(name);
    try {
      const raw = this.renderRaw(name, interval, state);
      return this.relationOf(name, 'severity' in raw ? {} : raw.configCalls).identifier;
    } finally {
      this.identifying.delete(name);
    }
  }

  /** Where the model a ref names lives, as its config places it (see refIdentifier); undefined for another node, or while it renders itself. */
  private refPlace(name: string, interval: Interval, state: TableState): { database: string; schema: string } | undefined {
    // A seed's stays unknown (asking is an error, as before): models are what templates look up.
    if (!this.models.has(name) || this.identifying.has(name)) return undefined;
    this.identifying.add(name);
    try {
      const raw = this.renderRaw(name, interval, state);
      const { database, schema } = this.relationOf(name, 'severity' in raw ? {} : raw.configCalls);
      return { database, schema };
    } finally {
      this.identifying.delete(name);
    }
  }

  /** One render of a model's template; its materialization answers is_incremental() from `state`. */
  renderRaw(name: string, interval: Interval, state: TableState, phase?: RenderPhase): RawRender | Diagnostic {
    // An execution render reads the warehouse as it is now: never kept.
    if (phase && this.models.get(name)?.runtime) return this.renderUncached(name, interval, state, phase);
    const key = `${interval.start}|${interval.end}|${state.tableExists ? 1 : 0}${state.fullRefresh ? 1 : 0}`;
    const cache = this.models.get(name)?.renders;
    const hit = cache?.get(key);
    if (hit) return hit;
    const result = this.renderKept(name, interval, state);
    if (cache) {
      cache.set(key, result);
      // The oldest goes (a Map keeps the order of insertion).
      if (cache.size > RENDERS_KEPT) cache.delete(cache.keys().next().value!);
    }
    return result;
  }

  /** Set while varsUnsetRender renders: var() of a var nobody sets gives none. */
  private unsetVarsAsNone = false;

  /**
   * A render of `name` that failed on a var nobody sets, again as dbt's parse renders it (the
   * var as none): what it reads and how it is configured, for the graph, so that the commands
   * which do not build it go on (dbt ls, parse, a run of other models), the error stopping those
   * that do. Never kept: no task is made from it.
   */
  varsUnsetRender(name: string, interval: Interval, state: TableState, failed: Diagnostic): RawRender | undefined {
    if (failed.code !== 'template-render' || !failed.message.startsWith("var '") || !failed.message.includes(VAR_UNSET)) return undefined;
    this.unsetVarsAsNone = true;
    try {
      const r = this.renderUncached(name, interval, state);
      // A none in its config (tags=['daily', var('x')]) would decide what selects or builds it: the error stands for every command, as dbt's parse refuses it.
      if ('severity' in r || holdsNone(r.configCalls)) return undefined;
      // What it says of the none it read (a None printed) is not said: the error is.
      return { ...r, messages: [] };
    } finally {
      this.unsetVarsAsNone = false;
    }
  }

  /**
   * A render of `name` that failed on a call of a function nothing defines (a macro of a package
   * not installed, a misspelt one), again as dbt's parse renders it (the call gives nothing):
   * what it reads and how it is configured, for the graph, so that the commands which do not
   * build it go on, the error stopping those that do. Never kept: no task is made from it.
   */
  undefinedCallsRender(name: string, interval: Interval, state: TableState, failed: Diagnostic): RawRender | undefined {
    if (failed.code !== 'template-render' || !/^\S+\(\) is not defined$/.test(failed.message)) return undefined;
    const r = withCallsOfNothing('', () => this.renderUncached(name, interval, state));
    if ('severity' in r) return undefined;
    // What the call would give decides what it reads or how it is configured (config(tags=[missing()])):
    // the error stands for every command, as a selection by it would leave the model out without a word.
    const other = withCallsOfNothing('\u0000', () => this.renderUncached(name, interval, state));
    if ('severity' in other || JSON.stringify([r.refs, r.sources, r.configCalls]) !== JSON.stringify([other.refs, other.sources, other.configCalls])) return undefined;
    return { ...r, messages: [] };
  }

  /** Renders kept between processes (see kept-renders.ts); none for a unit test's renderer. */
  private kept: KeptRenders | undefined;

  keepRenders(kept: KeptRenders | undefined): void {
    this.kept = kept;
  }

  /** The key of a model's render among those kept between processes; undefined when it is not kept (a package's, one rendered again at run). */
  keptKey(name: string, interval: Interval, state: TableState): RenderKey | undefined {
    const model = this.models.get(name);
    if (!this.kept || !model || model.runtime || model.source.package) return undefined;
    return this.kept.key({ name, file: model.source.file, sql: model.source.sql, base: model.base }, interval, state);
  }

  /** A render read back from those kept between processes, or made, and kept when its key decides it. */
  private renderKept(name: string, interval: Interval, state: TableState): RawRender | Diagnostic {
    const key = this.keptKey(name, interval, state);
    if (key === undefined) return this.renderUncached(name, interval, state);
    const kept = this.kept!.load(key, (calls) => this.relationOf(name, calls));
    if (kept) return kept;
    const { value, names } = recordingNames(() => this.renderUncached(name, interval, state));
    // What another node's config decides is not in the key: made again every time.
    if ('severity' in value || value.readsIdentifiers) return value;
    // Every date variable's value, set or not, is decided by the interval, which the key holds.
    this.kept!.keep(key, value, names, DATE_NAMES, this.relationOf(name, value.configCalls));
    return value;
  }

  private renderUncached(name: string, interval: Interval, state: TableState, phase?: RenderPhase): RawRender | Diagnostic {
    const model = this.models.get(name);
    if (!model) throw new Error(`internal error: no model ${name}`);
    // Asked while the template renders: the materialization may not be validated yet (a bad one is reported later).
    const incrementalAs = (mat: unknown) => isIncrementalAs(mat, state);
    // A package's models read its vars, as in dbt.
    const vars = this.vars.of(model.source.package?.name);
    /** What the last attempt said: the render that stands, when a first one is rendered again. */
    let said: readonly TemplateMessage[] = [];
    const attempt = (forced: boolean | undefined, parts: RelationParts, known?: ReadonlyMap<string, unknown>) => {
      const refs: string[] = [];
      /** What config.get() and config.require() answered, in order. */
      const reads: { key: string; value: unknown }[] = [];
      const sources: SourceCall[] = [];
      const configCalls: Record<string, unknown> = {};
      const messages: TemplateMessage[] = [];
      said = messages;
      let thisRead = false;
      /** Whether it read the table name of a node it refs (`ref('b').identifier`), which that node's config decides. */
      let identifiersRead = false;
      /** How many config() calls have set each key, to find those calls in the text. */
      const settings = new Map<string, number>();
      /** Where the call that last set each key was made. */
      const settingSites = new Map<string, Location>();
      let conflict: ConfigConflict | undefined;
      let answered: boolean | undefined;
      // Object.assign, not spreads followed by properties, which V8 defines on a slow path (a
      // microsecond or two per property, for every render of every model).
      const hooks: RenderHooks = {
        // `{{ this }}` resolves after rendering, like ref(), so config(schema=...) anywhere in the file counts.
        variables: Object.assign({} as Record<string, unknown>, dateVariables(interval), {
          this: new DbtRelation(refToken(name), () => {
            thisRead = true;
            return parts;
          }),
          model: new ModelVariable(
            () => this.modelFields(model, name, parts, phase, microbatchOf(model.base, configCalls, interval)),
            (key) => hooks.configValue!(key),
          ),
        }),
        report: (m) => messages.push(m),
        envVars: this.envVars,
        macros: this.macroOverrides,
        relationTokens: true,
        ref: (n) => {
          if (!refs.includes(n)) refs.push(n);
          return refToken(n);
        },
        identifierOf: (n) => {
          identifiersRead = true;
          return this.refIdentifier(n, interval, state);
        },
        // As its task runs, every node is placed: a ref's database and schema are known (adapter.get_relation(database=ref(m).database, ...)).
        placeOf: phase?.execute ? (n) => this.refPlace(n, interval, state) : undefined,
        source: (src, table) => {
          // The run's render may reach a source its parse render did not: it must be declared all the same.
          const problem = phase?.execute ? this.sourceProblem({ source: src, table }, { file: model.source.file }) : undefined;
          if (problem) throw new TemplateFunctionError(problem.message);
          return recordSource(sources, src, table, refToken);
        },
        config: (o) => {
          for (const [key, value] of Object.entries(o)) {
            const n = settings.get(key) ?? 0;
            settings.set(key, n + 1);
            // Hooks add up from call to call, in the order the calls render, as dbt appends them.
            if (n > 0 && HOOK_CALL_KEYS.has(key)) {
              configCalls[key] = [...hookList(configCalls[key]), ...hookList(value)];
              continue;
            }
            const at = currentCallSite();
            // A dbt project's calls merge as dbt merges them: tags add up, meta and the like
            // update, any other key takes the later value (said, as it is seldom meant).
            if (n > 0 && this.project.dbt) {
              const before = configCalls[key];
              configCalls[key] = laterConfigCall(key, before, value);
              if (!MERGED_CALL_KEYS.has(key) && !sameConfigValue(before, value) && !phase?.execute) {
                messages.push(configOverride(model.source, model.sites, { key, first: before, second: value, setting: n, ...(at ? { at } : {}), ...(settingSites.has(key) ? { firstAt: settingSites.get(key)! } : {}) }));
              }
              if (at) settingSites.set(key, at);
              continue;
            }
            // The same value twice is harmless; a different one would make the last call win unseen.
            if (n > 0 && !conflict && !sameConfigValue(configCalls[key], value)) {
              const firstAt = settingSites.get(key);
              conflict = { key, first: configCalls[key], second: value, setting: n, ...(at ? { at } : {}), ...(firstAt ? { firstAt } : {}) };
            }
            if (at) settingSites.set(key, at);
            configCalls[key] = value;
          }
        },
        var: (n, fallback, hasFallback) => {
          if (Object.hasOwn(vars, n)) return vars[n];
          if (hasFallback) return fallback;
          // dbt's parse reads a var nobody sets as none (see varsUnsetRender).
          if (this.unsetVarsAsNone) return null;
          throw new Error(
            `var '${n}' ${VAR_UNSET} ${this.project.dbt ? `pass --vars '{${n}: VALUE}' or set it under vars: in dbt_project.yml` : `pass --var ${n}=VALUE or set it under vars: in pipe.yaml or the pipeline`}`,
          );
        },
        isIncremental: () => {
          const mat = finalValue(model.base, configCalls, 'materialized');
          answered = forced ?? incrementalAs(mat);
          return answered;
        },
        configValue: (key) => {
          const value = known?.has(key) ? known.get(key) : this.configValueOf(model, configCalls, key);
          reads.push({ key, value });
          return value;
        },
        phase,
        discardsText: model.runtime && !phase?.execute,
        configAtParse: this.project.dbt && model.runtime && !phase?.execute,
        fullRefresh: state.fullRefresh,
      };
      let sql: string;
      try {
        sql = this.engine.render(model.compiled, hooks);
      } catch (e) {
        // Switched off by a config() call before what failed (a var a disabled model reads and
        // nobody sets): never compiled, as in dbt, whose parse reads a missing var as none.
        if (!(e instanceof RenderFailure) || finalValue(model.base, configCalls, 'enabled') !== false) throw e;
        sql = '';
      }
      return { sql, refs, sources, configCalls, messages, answered, conflict, thisRead, reads, identifiersRead };
    };
    /** The config.get() answers a later config() call changed: key -> the value it ends with. */
    const staleReads = (r: ReturnType<typeof attempt>): ReadonlyMap<string, unknown> => {
      if (r.reads.length === 0) return NO_STALE_READS;
      const stale = new Map<string, unknown>();
      for (const { key, value } of r.reads) {
        const final = this.configValueOf(model, r.configCalls, key);
        if (!sameConfigValue(value, final)) stale.set(key, final);
      }
      return stale;
    };
    try {
      const before = this.relationOf(name, {});
      let r = attempt(undefined, before);
      let readsState = r.answered !== undefined;
      const finalMat = finalValue(model.base, r.configCalls, 'materialized');
      const right = incrementalAs(finalMat);
      const parts = r.thisRead ? this.relationOf(name, r.configCalls) : before;
      const stale = staleReads(r);
      // config() may come after is_incremental(), `this.schema` or config.get() in the template; render again with the right answers.
      if ((r.answered !== undefined && r.answered !== right) || !sameParts(parts, before) || stale.size > 0) {
        r = attempt(r.answered === undefined ? undefined : right, parts, stale);
        readsState ||= r.answered !== undefined;
      }
      if (r.conflict) return configConflict(model.source.file, model.sites, r.conflict);
      const [still] = staleReads(r);
      if (still) {
        const [key, final] = still;
        const read = r.reads.find((x) => x.key === key)!;
        return error('config-conflict', `config.get('${key}') is read before config() sets '${key}', and what it reads changes what config() sets (${configValue(read.value)} read, ${configValue(final)} set): set '${key}' without reading it first`, {
          file: model.source.file,
          ...model.sites.config(),
        });
      }
      const twice = model.sites.configKeywordTwice();
      if (twice && Object.hasOwn(r.configCalls, twice.key)) {
        const { key, first, second, ...at } = twice;
        return error('config-conflict', `config() sets '${key}' twice in one call, to ${first} and then to ${second}; set it once`, { file: model.source.file, ...at });
      }
      const body = stripTrailingSemicolon(r.sql);
      const enabled = finalValue(model.base, r.configCalls, 'enabled');
      // dbt_utils' union_relations and unpivot render nothing at parse time: only the run's render must be a query.
      const parseOfRuntime = model.runtime && !phase?.execute;
      // An ephemeral model is a query only where it is inlined: nothing reading it, it may be empty, as in dbt.
      if (enabled !== false && !parseOfRuntime && finalMat !== 'ephemeral' && statementStart(body) >= body.length) return emptyModel(name, interval, model.source.file);
      return {
        sql: r.sql,
        refs: r.refs,
        sources: r.sources,
        configCalls: r.configCalls,
        messages: r.messages,
        ...(readsState ? { readsState: true as const } : {}),
        ...(r.identifiersRead ? { readsIdentifiers: true as const } : {}),
      };
    } catch (e) {
      if (e instanceof RenderFailure) return e.diagnostic;
      throw e;
    } finally {
      // An execution render tells what it said when its task runs, up to where it stopped.
      if (phase?.report) for (const m of said) phase.report(m);
    }
  }

  /**
   * The final SQL of a model: refs resolved, ephemeral models inlined as CTEs. `relations`
   * resolves some models (and `this`) to another relation than their published one: in a
   * backfill's full refresh, the dates read the staging table their upstream is rebuilt in.
   * `inputs`, over `relations`, is what the model's own ref()s and source()s read, not those of
   * the ephemeral models it inlines: a microbatch model's batch of each input.
   */
  sql(name: string, interval: Interval, state: TableState, relations?: RelationOverrides, phase?: RenderPhase, inputs?: RelationOverrides): RenderedSql | Diagnostic {
    const raw = this.renderRaw(name, interval, state, phase);
    if ('severity' in raw) return raw;
    const ctes = this.ephemeralCtes(raw.refs, interval, [name], relations, phase);
    if (!Array.isArray(ctes)) return ctes;
    const outside = this.readOutsideGraph(name, raw, ctes, interval, state, phase);
    if (outside) return outside;
    // Only the end is trimmed: line N of the rendered SQL stays line N of the file, which lets
    // database errors be mapped back to the model's source.
    const own = inputs === undefined ? relations : new Map([...(relations ?? []), ...inputs]);
    const body = this.resolveRefs(stripTrailingSemicolon(raw.sql), own).trimEnd();
    const sql = withCtes(body, ctes);
    // Lines counted, not split into arrays: this runs for every task of a plan.
    const by = sql === body ? 0 : newlines(sql) - newlines(body);
    return {
      sql,
      hash: sqlHashOf(sql),
      refs: raw.refs,
      source: this.models.get(name)!.source.sql,
      inserted: by > 0 ? { atLine: newlines(body, statementStart(body)) + 1, by, ctes: this.inlinedPlaces(sql, ctes) } : undefined,
    };
  }

  /** The interval of the renders the graph was made from (see graphMadeAt); unset, what a render reads is not compared with it. */
  private graphRender: { readonly interval: Interval } | undefined;

  /**
   * Says that the nodes' upstream lists come from renders at `interval`: a model's render for
   * another date or state of its table that reads a node outside them is refused (see sql()).
   */
  graphMadeAt(interval: Interval): void {
    this.graphRender = { interval };
  }

  /**
   * `judge` run with renders that read outside the graph allowed: what judges builds already
   * made (pipe status, over dates whose runs each took their graph from their own date) runs
   * nothing, so nothing waits wrongly; a run refuses them (see readOutsideGraph).
   */
  judgingBuilds<T>(judge: () => T): T {
    const made = this.graphRender;
    this.graphRender = undefined;
    try {
      return judge();
    } finally {
      this.graphRender = made;
    }
  }

  /**
   * A render that reads (itself or through the ephemeral models it inlines) a node that is not
   * upstream of the model in the graph: refused, as its task would not wait for that node's
   * build, nor be out of date when the node changes (a template choosing its ref() by date, or
   * in an is_incremental() branch the graph's render did not take). dbt refuses a ref() its parse
   * render did not see the same way.
   */
  private readOutsideGraph(
    name: string,
    raw: RawRender,
    ctes: readonly { readonly model: string }[],
    interval: Interval,
    state: TableState,
    phase: RenderPhase | undefined,
  ): Diagnostic | undefined {
    const made = this.graphRender;
    const node = this.nodes.get(name);
    // An execution render is compared with the parse render of its own interval (see sqlAtRun), which this compared with the graph.
    if (made === undefined || phase !== undefined || node?.kind !== 'model') return undefined;
    const allowed = this.readsInGraph(node);
    const renders: RawRender[] = [raw];
    for (const c of ctes) {
      const eph = this.renderRaw(c.model, interval, NO_TABLE, phase);
      if (!('severity' in eph)) renders.push(eph);
    }
    for (const r of renders) {
      const read = [...r.refs.map((ref) => ({ name: ref, at: (m: RenderModel) => m.sites.ref(ref), call: `ref('${ref}')` })), ...r.sources.map((s) => ({ name: sourceName(s.source, s.table), at: (m: RenderModel) => m.sites.sourceCall(s.source, s.table), call: `source('${s.source}', '${s.table}')` }))];
      // A source nothing of the project writes has no build to wait for, and dbt reads one whichever render named it (its currency is judged from the next run's graph).
      const unseen = read.find((x) => x.name !== name && !allowed.has(x.name) && !unwrittenSource(this.nodes.get(x.name)));
      if (unseen === undefined) continue;
      const model = this.models.get(r === raw ? name : ctes[renders.indexOf(r) - 1].model)!;
      const incremental = r.readsState ? ` (is_incremental() ${state.tableExists && !state.fullRefresh ? 'true' : 'false'})` : '';
      return error(
        'ref-by-date',
        `${unseen.call} is read by ${name}${model.source.name === name ? '' : ` through ${model.source.name}`} when its task of ${intervalLabel(interval)} renders${incremental}, but not in its render for ${intervalLabel(made.interval)}, which its upstream was taken from: ${readOutsideConsequence(this.nodes.get(unseen.name), unseen.name)}`,
        { file: model.source.file, ...unseen.at(model) },
        { hint: `name it where every render sees it, e.g. a comment at the top of ${model.source.file}: -- depends_on: {{ ${unseen.call} }}` },
      );
    }
    return undefined;
  }

  /** What each model's graph render read, by node: made once, not for each of its tasks (see readsInGraph). */
  private readonly graphReads = new WeakMap<ModelNode, ReadonlySet<string>>();

  /** What the graph's render of `node` read, upstream or not (a Python model's ref is refused on its own), and what the ephemeral models it inlines read. */
  private readsInGraph(node: ModelNode): ReadonlySet<string> {
    const kept = this.graphReads.get(node);
    if (kept) return kept;
    const allowed = new Set(node.refs.map((r) => r.name));
    for (const stack = [...allowed]; stack.length > 0; ) {
      const n = this.nodes.get(stack.pop()!);
      if (n?.kind !== 'model' || isBuilt(n.config.kind)) continue;
      for (const u of n.refs) if (!allowed.has(u.name)) stack.push(u.name), allowed.add(u.name);
    }
    this.graphReads.set(node, allowed);
    return allowed;
  }

  /** A hook's render for another date or state that refs a node its model's graph render did not (see readOutsideGraph): refused. */
  private hookReadsOutsideGraph(model: string, refs: readonly string[], interval: Interval, at: Location): Diagnostic | undefined {
    const made = this.graphRender;
    const node = this.nodes.get(model);
    if (made === undefined || node?.kind !== 'model') return undefined;
    const reads = this.readsInGraph(node);
    const unseen = refs.find((r) => r !== model && !reads.has(r));
    if (unseen === undefined) return undefined;
    return error(
      'ref-by-date',
      `ref('${unseen}') is read by a hook of ${model} when its task of ${intervalLabel(interval)} renders, but not in its render for ${intervalLabel(made.interval)}, which its upstream was taken from: ${readOutsideConsequence(this.nodes.get(unseen), unseen)}`,
      at,
      { hint: `name it where every render sees it, e.g. a comment at the top of ${this.models.get(model)?.source.file ?? node.file}: -- depends_on: {{ ref('${unseen}') }}` },
    );
  }

  /** Where each ephemeral model's SQL stands in `sql`, which withCtes made of `ctes`, with its file: a database error in it is at that file's line. */
  private inlinedPlaces(sql: string, ctes: readonly { name: string; sql: string; model: string }[]): NonNullable<Inserted['ctes']> {
    let from = 0;
    return ctes.map((c) => {
      const head = `${quoteIdent(c.name)} as (\n`;
      const at = sql.indexOf(head, from) + head.length;
      from = at + c.sql.length;
      const { file, sql: source } = this.models.get(c.model)!.source;
      return { file, source, sql: c.sql, atLine: newlines(sql, at) + 1 };
    });
  }

  /**
   * The ephemeral models that `refs` reach (directly or through each other), rendered for the
   * interval as common table expressions, dependencies first.
   */
  private ephemeralCtes(
    refs: readonly string[],
    interval: Interval,
    trail: readonly string[],
    relations?: RelationOverrides,
    phase?: RenderPhase,
  ): { name: string; sql: string; model: string }[] | Diagnostic {
    const ctes: { name: string; sql: string; model: string }[] = [];
    const added = new Set<string>();
    const add = (refs: readonly string[], trail: readonly string[]): Diagnostic | undefined => {
      for (const r of refs) {
        const node = this.nodes.get(r);
        if (node?.kind !== 'model' || isBuilt(node.config.kind) || added.has(r)) continue;
        if (trail.includes(r)) return error('cycle', `ephemeral models ref each other: ${[...trail, r].join(' → ')}`, { file: node.file });
        const eph = this.renderRaw(r, interval, NO_TABLE, phase);
        if ('severity' in eph) return eph;
        const body = stripTrailingSemicolon(eph.sql);
        if (!(this.models.get(r)?.runtime && !phase?.execute) && statementStart(body) >= body.length) return emptyModel(r, interval, node.file, trail[trail.length - 1]);
        const problem = add(eph.refs, [...trail, r]);
        if (problem) return problem;
        added.add(r);
        ctes.push({ name: EPHEMERAL_PREFIX + r, sql: this.resolveRefs(stripTrailingSemicolon(eph.sql), relations), model: r });
      }
      return undefined;
    };
    return add(refs, trail) ?? ctes;
  }

  /**
   * The failing-rows query of a check for one interval, `target` standing for the data
   * checked. Query checks are templates like models (`{{ this }}` is the target).
   */
  checkSql(model: string, given: Check, interval: Interval, target: string, relations?: RelationOverrides, phase?: RenderPhase): string | Diagnostic {
    // A test that reads the date is rendered for the interval it checks.
    const dated = given.dated?.(interval);
    if (dated !== undefined && typeof dated !== 'string') return dated;
    const check = dated === undefined ? given : { ...given, sql: dated, dated: undefined };
    // A dbt test names the node it runs with by its ref token, as it names every node it reads:
    // that node is the data checked (and so it is for an ephemeral model the test reads).
    const dbt = check.kind === 'dbt_generic' || check.kind === 'dbt_singular';
    // The data checked of a view is its query, over several lines: a test written by hand reads
    // it through a CTE of its own, so that a reference in a `--` comment (dbt's `-- depends_on: {{ ref('m') }}`) stays
    // one line, and the comment does not end inside the query.
    const query = target.includes('\n') && (dbt || check.kind === 'query');
    const checked = query ? quoteIdent(CHECKED_CTE) : target;
    const reading = dbt ? new Map([...(relations ?? []), [model, checked]]) : relations;
    // A check may read an ephemeral model: it is inlined, as in a model's query.
    const inlined = (sql: string, refs: readonly string[]): string | Diagnostic => {
      const ctes = this.ephemeralCtes(refs, interval, [model], reading, phase);
      if (!Array.isArray(ctes)) return { ...ctes, location: ctes.location ?? check.location };
      return withCtes(sql, query ? [{ name: CHECKED_CTE, sql: `select * from ${target}` }, ...ctes] : ctes);
    };
    if (check.template === undefined) {
      return inlined(
        checkSql(check, checked, (m) => (m === model ? checked : this.resolveRefs(refToken(m), reading))),
        check.refs.map((r) => r.model),
      );
    }
    const rendered = this.renderQueryCheck(model, check, check.template, interval);
    if ('severity' in rendered) return rendered;
    const unreadable = rendered.sources.map((c) => this.sourceProblem(c, check.location)).find((d) => d !== undefined);
    if (unreadable) return { ...unreadable, message: `check ${check.name}: ${unreadable.message}` };
    return inlined(this.resolveRefs(rendered.sql.replaceAll(CHECK_TARGET, checked), relations), rendered.refs);
  }

  /**
   * Whether a query check, rendered for the interval, reads nothing but the data it checks (no
   * `ref()`, no `source()`): then what it can name is the model's columns alone, and it can be
   * bound before the run against the model's query (see CheckStep.checked).
   */
  readsOnlyChecked(model: string, check: Check, interval: Interval): boolean {
    if (check.template === undefined) return false;
    const rendered = this.renderQueryCheck(model, check, check.template, interval);
    return !('severity' in rendered) && rendered.refs.length === 0 && rendered.sources.length === 0;
  }

  /** A query check's template rendered for an interval, CHECK_TARGET for `this`, with the refs and sources it calls. */
  private renderQueryCheck(model: string, check: Check, template: string, interval: Interval): { sql: string; refs: string[]; sources: SourceCall[] } | Diagnostic {
    const key = `${model}\u0000${check.name}`;
    let compiled = this.checkTemplates.get(key);
    if (!compiled) {
      compiled = this.engine.compile(check.location.file, template);
      this.checkTemplates.set(key, compiled);
    }
    if ('severity' in compiled) return { ...compiled, message: `check ${check.name}: ${compiled.message}`, location: check.location };
    try {
      const refs: string[] = [];
      const sources: SourceCall[] = [];
      const sql = this.engine.render(compiled, {
        variables: { ...dateVariables(interval), this: CHECK_TARGET },
        ref: (n) => {
          refs.push(n);
          return refToken(n);
        },
        identifierOf: (n) => this.refIdentifier(n, interval, NO_TABLE),
        source: (src, table) => recordSource(sources, src, table, refToken),
        config: () => {
          throw new Error('config() belongs in the model, not in a check');
        },
        var: (n, fallback, hasFallback) => {
          if (Object.hasOwn(this.vars.root, n)) return this.vars.root[n];
          if (hasFallback) return fallback;
          throw new Error(`var '${n}' is not set and has no default`);
        },
        isIncremental: () => false,
      });
      return { sql: stripTrailingSemicolon(sql), refs, sources };
    } catch (e) {
      if (e instanceof RenderFailure) return { ...e.diagnostic, message: `check ${check.name}: ${e.diagnostic.message}`, location: check.location };
      throw e;
    }
  }

  private readonly checkTemplates = new Map<string, CompiledTemplate | Diagnostic>();

  /** The text of a macro file or a singular test. */
  private sourceOf(file: string): string | undefined {
    return this.project.templates.find((m) => m.file === file)?.source;
  }

  /**
   * A dbt test's query rendered again as it runs (see Check.atRun), with the warehouse's
   * answers so far: its final SQL, as checkSql gives it, or the first question it has no
   * answer to. What the test asks of the relation it tests is asked of `target`, the data the
   * check reads: the staged table, or the table as publishing leaves it, read inside the
   * publishing transaction.
   */
  checkSqlAtRun(
    model: string,
    check: Check,
    interval: Interval,
    target: string,
    relations: RelationOverrides | undefined,
    answers: ReadonlyMap<string, Answer>,
    /** Where what the test's templates say with log(), print() and exceptions.warn() goes. */
    report?: (message: TemplateMessage) => void,
  ): CheckRunRender {
    if (!check.atRun && !this.checkReadsAtRun(check)) throw new Error(`internal error: check ${check.name} is rendered once`);
    const reading = new Map([...(relations ?? []), [model, target]]);
    const graph = this.graphContext();
    const phase = executionPhase(answers, (text) => this.resolveRefs(text.replaceAll(CHECK_TARGET, target), reading), { ...graph }, report);
    const own = check.atRun ? check.atRun(phase) : (check.sql ?? '');
    // An ephemeral model the test reads renders as it runs too: inlined with the same answers.
    const r = typeof own === 'string' && !phase.asked ? this.checkSql(model, { ...check, sql: own, atRun: undefined, dated: undefined }, interval, target, relations, phase) : own;
    if (phase.asked) {
      const d = typeof r === 'string' ? undefined : r;
      // Nunjucks does not always say where a call stopped it: the first place the file asks.
      const file = d?.location?.file ?? check.location.file;
      const source = this.sourceOf(file);
      const location = d?.location?.line !== undefined ? d.location : { file, ...(source === undefined ? {} : askedAt(source, phase.asked)) };
      return { asked: phase.asked, location, related: d?.related };
    }
    // An error of a template is at its line; one of pipe's own macros (dbt_utils') at the test.
    if (typeof r !== 'string') return r.location && this.sourceOf(r.location.file) !== undefined ? r : { ...r, location: check.location };
    return r;
  }

  /**
   * Whether a check reads an ephemeral model that is rendered again as it runs (see
   * rendersAtRun): inlined as first rendered, it would hold the parse render's stand-ins
   * (`None` for a value run_query gives), so the check is rendered as it runs.
   */
  checkReadsAtRun(check: Check): boolean {
    return check.refs.some(({ model }) => {
      const n = this.nodes.get(model);
      return n?.kind === 'model' && !isBuilt(n.config.kind) && this.rendersAtRun(model);
    });
  }

  /**
   * A hook or sql_header of a model, rendered for an interval as dbt renders it when the model
   * runs: `this` is the model's relation (`{{ this }}`, `{{ this.schema }}`), ref() and
   * source() read what they read in the model, is_incremental() answers as in the model. An
   * error is reported where the hook is written.
   */
  hook(
    model: string,
    template: { readonly sql: string; readonly location: Location },
    interval: Interval,
    state: TableState,
    relation: HookRelation,
    relations?: RelationOverrides,
    /** dbt's parse render (analysis, for what the hook reads), or the render as the model runs: `execute` is true, `graph` is there. */
    at: 'parse' | 'run' = 'run',
    /** The warehouse's answers so far, by questionKey, as the hook runs. */
    answers: ReadonlyMap<string, Answer> = new Map(),
    /** Where what the hook says with log(), print() and exceptions.warn() as the model runs goes. */
    report?: (message: TemplateMessage) => void,
  ): RenderedHookSql | Diagnostic | HookAsks {
    const self = new DbtRelation(refToken(model), () => relation);
    const refs: string[] = [];
    const sources: SourceCall[] = [];
    const phase = at === 'run' ? executionPhase(answers, (text) => this.resolveRefs(text, relations), () => ({ ...this.graphContext() }), report) : undefined;
    const m = this.models.get(model);
    const configValue = (key: string) => {
      if (!m) return undefined;
      const raw = this.renderRaw(model, interval, state);
      return this.configValueOf(m, 'severity' in raw ? {} : raw.configCalls, key);
    };
    const variables: Record<string, unknown> = { ...dateVariables(interval), this: self };
    if (m) {
      const batch = () => {
        const raw = this.renderRaw(model, interval, state);
        return microbatchOf(m.base, 'severity' in raw ? {} : raw.configCalls, interval);
      };
      variables.model = new ModelVariable(() => this.modelFields(m, model, { database: relation.database, schema: relation.schema, identifier: relation.identifier }, phase, batch()), configValue);
    }
    const rendered = this.renderAt(template, variables, {
      ...(phase ? { phase, report: phase.report } : {}),
      ref: (n) => {
        if (!refs.includes(n)) refs.push(n);
        return refToken(n);
      },
      identifierOf: (n) => this.refIdentifier(n, interval, state),
      // As a task runs (an execution render), every node is placed: a ref's database and schema are known.
      ...(phase ? { placeOf: (n: string) => this.refPlace(n, interval, state) } : {}),
      source: (src, table) => recordSource(sources, src, table, refToken),
      isIncremental: () => {
        const node = this.nodes.get(model);
        return node?.kind === 'model' && modelKind(node.config.kind).isIncremental(state);
      },
      configValue,
      fullRefresh: state.fullRefresh,
      // A package's model's or seed's hook is rendered as the package's node: its macros unqualified, its vars.
    }, this.packageOfNode(model, m));
    if (phase?.asked) return { asks: phase.asked };
    if (typeof rendered !== 'string') return rendered;
    const unreadable = sources.map((c) => this.sourceProblem(c, template.location)).find((d) => d !== undefined);
    if (unreadable) return unreadable;
    const outside = this.hookReadsOutsideGraph(model, refs, interval, template.location);
    if (outside) return outside;
    return { sql: this.resolveRefs(rendered, relations), refs };
  }

  /**
   * An on-run-start or on-run-end statement, rendered with `context` (dbt's `schemas`,
   * `results`, ...). ref() and source() name the relations as they are, as in dbt (`--
   * depends_on: {{ ref('log') }}`): a hook is no node of the graph, and waits for none.
   */
  runHook(
    hook: RunHook,
    interval: Interval,
    context: Readonly<Record<string, unknown>>,
    fullRefresh = false,
    answers: ReadonlyMap<string, Answer> = new Map(),
    /** Where what the hook says with log(), print() and exceptions.warn() goes. */
    report?: (message: TemplateMessage) => void,
  ): string | Diagnostic | HookAsks {
    // It reads the relations as they are, as in dbt: it builds nothing first (nor does a macro run-operation calls).
    const read = {
      ref: (n: string) => {
        if (!this.nodes.has(n) || this.nodes.get(n)?.kind === 'source') throw new TemplateFunctionError(`ref('${n}'): no model or seed is named '${n}'`);
        return refToken(n);
      },
      identifierOf: (n: string) => this.refIdentifier(n, interval, NO_TABLE),
      source: (src: string, table: string) => {
        const problem = this.sourceProblem({ source: src, table }, hook.location);
        if (problem) throw new TemplateFunctionError(problem.message);
        return recordSource([], src, table, refToken);
      },
    };
    // As dbt renders them when they run: execute is true, and a query they run (run_query) runs then.
    const phase = executionPhase(answers, (text) => this.resolveRefs(text), () => ({ ...this.graphContext() }), report);
    const rendered = this.renderAt(hook, { ...dateVariables(interval), ...context }, { ...read, isIncremental: () => false, fullRefresh, phase, report }, hook.package, hook.call);
    if (!phase.asked) return typeof rendered === 'string' ? this.resolveRefs(rendered) : rendered;
    // A hook's own lines are not its file's; a macro's call keeps the macro's, and so does a
    // question a macro the hook calls asks (dbt_artifacts' run_query in a package's macro).
    const inMacro = phase.askedAt !== undefined && phase.askedAt.file !== hook.location.file ? phase.askedAt : undefined;
    const at = inMacro ?? (hook.call ? this.askedInMacro(hook.location, phase.asked) : undefined);
    return { asks: phase.asked, ...(at ? { at } : {}) };
  }

  /** Where the macro defined at `def` first asks a question of the kind of `q` (Nunjucks does not always say where a call stopped it). */
  private askedInMacro(def: Location, q: Question): Location | undefined {
    const source = this.sourceOf(def.file);
    if (source === undefined || def.line === undefined) return undefined;
    let start = 0;
    for (let line = 1; line < def.line && start >= 0; line++) start = source.indexOf('\n', start) + 1;
    const found = askedAt(source.slice(start), q);
    // The text is cut at the start of a line: its columns are the file's.
    return found ? { file: def.file, line: found.line + def.line - 1, column: found.column } : undefined;
  }

  private readonly hookTemplates = new Map<string, CompiledTemplate | Diagnostic>();

  /** The installed package a model or seed is of; undefined for the project's own. */
  private packageOfNode(name: string, model: RenderModel | undefined): string | undefined {
    if (model) return model.source.package?.name;
    const node = this.nodes.get(name);
    return node?.kind === 'seed' && node.fqn[0] !== undefined && node.fqn[0] !== this.project.name ? node.fqn[0] : undefined;
  }

  /** A statement of the project's config rendered with `variables`: errors are reported at its place, with what the template says. */
  private renderAt(
    template: { readonly sql: string; readonly location: Location },
    variables: Readonly<Record<string, unknown>>,
    fns: Pick<RenderHooks, 'ref' | 'identifierOf' | 'source' | 'isIncremental' | 'configValue' | 'fullRefresh' | 'phase' | 'report'>,
    /** An installed package's statement (its run hooks): its macros are called unqualified, its vars read. */
    pkg?: string,
    /** pipe's own call of a macro, at the macro's place: what it says, and its errors, stay where they are in the macro. */
    call?: true,
  ): string | Diagnostic {
    const at = template.location;
    // One hook of dbt_project.yml may run for the project's models and for a package's, compiled for each.
    const key = `${pkg ?? ''}\u0000${at.file}:${at.line}\u0000${template.sql}`;
    let compiled = this.hookTemplates.get(key);
    if (!compiled) {
      compiled = this.engine.compile(at.file, template.sql, pkg);
      this.hookTemplates.set(key, compiled);
    }
    const vars = this.vars.of(pkg);
    if ('severity' in compiled) return { ...compiled, location: at };
    // What the statement's own text says is at the statement, as its errors are: its lines
    // are not the file's (a hook written in YAML, or in a config() call); a macro's keeps its own.
    const { report } = fns;
    const located = report && ((m: TemplateMessage) => report(m.at?.file === at.file && !call ? { ...m, at } : m));
    try {
      return this.engine.render(compiled, {
        variables,
        ...fns,
        ...(located ? { report: located } : {}),
        config: () => {
          throw new TemplateFunctionError('config() cannot be used in a hook');
        },
        var: (n, fallback, hasFallback) => {
          if (Object.hasOwn(vars, n)) return vars[n];
          if (hasFallback) return fallback;
          throw new TemplateFunctionError(`var '${n}' is not set and has no default`);
        },
      });
    } catch (e) {
      if (!(e instanceof RenderFailure)) throw e;
      const d = e.diagnostic;
      if (call) return { ...d, location: d.location ?? at };
      // Places in the statement's own text are the statement's; an error in a macro it calls stays at the macro.
      const own = (l: Location | undefined): boolean => l === undefined || l.file === at.file;
      return { ...d, location: own(d.location) ? at : d.location, ...(d.related ? { related: d.related.map((r) => (own(r.location) ? { ...r, location: at } : r)) } : {}) };
    }
  }

  private disabledSources: ReadonlyMap<string, Location> = new Map();

  /** dbt's `selected_resources` for the renders of the run about to start (see TemplateEngine.setSelectedResources). */
  setSelectedResources(ids: () => readonly string[]): void {
    this.engine.setSelectedResources(ids);
  }

  setDisabledSources(disabled: ReadonlyMap<string, Location>): void {
    this.disabledSources = disabled;
  }

  /** Why a source() call cannot be read, at `at`: a table that is not declared, or disabled. */
  private sourceProblem(call: SourceCall, at: Location): Diagnostic | undefined {
    return sourceCallProblem(call, at, this.nodes, this.disabledSources);
  }

  private resolveRefs(sql: string, relations?: RelationOverrides): string {
    // In a dbt project a relation printed inside a string literal ('{{ this }}' as data, dbt_utils'
    // _dbt_source_relation) reads as dbt-duckdb prints it: with the database before the schema.
    const literals = this.project.dbt && sql.includes("'") ? sqlPieces(sql).filter((p) => p.kind === 'string') : [];
    const inLiteral = (at: number) => literals.some((p) => p.start < at && at < p.end);
    return sql.replace(REF_TOKEN_RE, (_, token: string, at: number) => this.tokenText(token, inLiteral(at), relations));
  }

  /**
   * What a template says as text (an error it raises, what it logs or warns), its relations
   * named as in a string literal of its SQL: dbt's `"warehouse"."main"."orders"` in a dbt
   * project, never pipe's tokens.
   */
  shownText(text: string): string {
    return text.includes('\u0000') ? text.replace(REF_TOKEN_RE, (_, token: string) => this.tokenText(token, this.project.dbt)) : text;
  }

  /** The relation a ref token stands for; `literal`: inside a string literal of a dbt project's SQL (see resolveRefs). */
  private tokenText(token: string, literal: boolean, relations?: RelationOverrides): string {
    if (token.startsWith(IN_DATABASE)) {
      const [, database, relation] = token.split(IN_DATABASE);
      return literal && TWO_PART_RELATION.test(relation!) ? `${database}.${relation}` : relation!;
    }
    const n = refName(token);
    const node = this.nodes.get(n);
    if (!node) return quoteIdent(n);
    const override = relations?.get(n);
    if (override !== undefined) return override;
    if (node.kind === 'model' && !isBuilt(node.config.kind)) return quoteIdent(EPHEMERAL_PREFIX + n);
    return literal && token === n && TWO_PART_RELATION.test(node.relation) ? `${quoteIdent(this.project.database)}.${node.relation}` : node.relation;
  }
}

/**
 * What analysis keeps between calls in watch mode: compiled templates and renders of every
 * model, valid while the model's text, its YAML, the macros and the vars stay the same. A
 * save of one model then renders one model.
 */
export class AnalysisCache {
  key?: string;
  engine?: TemplateEngine;
  /** The project's model and seed names, and a number that changes when they do. */
  names?: { readonly key: string; readonly version: number };
  readonly models = new Map<string, CachedModel>();
  /** The last graph, its cycles, and each node's upstream list it was made from. */
  graph?: { readonly graph: Graph; readonly cycles: string[][]; readonly upstream: Map<string, readonly string[]> };
  /** The disabled models the cached nodes were built with. */
  disabled = '';
  /** The last whole analysis, when a save of a few models can be analyzed from it (see reanalyzeSaved). */
  saved?: SavedAnalysis;
  /**
   * The analysis the last one was made from, when it analyzed only the saved models again
   * (nothing but their nodes changed, see reanalyzeSaved); undefined after a whole analysis.
   */
  reusedFrom?: Analysis;
}

/**
 * What the last whole analysis made and read, kept to analyze a save of a few models' text
 * alone (see reanalyzeSaved); kept only when nothing in the project is wrong and nothing makes
 * one model's text matter to the others beyond its ref() calls and config (dbt tests attached
 * across models, unit tests, macros pipe cannot render, packages' stand-ins).
 */
interface SavedAnalysis {
  readonly files: ProjectFiles;
  /** The options and settings it was made with (see reuseKey). */
  readonly key: string;
  readonly analysis: Analysis;
  readonly models: ReadonlyMap<string, RenderModel>;
  readonly existingRelations: AnalyzeOptions['existingRelations'];
  /**
   * Whether the table existed as they were rendered, for the models whose render or hooks
   * ask is_incremental(): the others render the same whatever the warehouse holds.
   */
  readonly existing: ReadonlyMap<string, boolean>;
  /** Files a diagnostic points at: a save of one is analyzed whole. */
  readonly diagnosed: ReadonlySet<string>;
  readonly engine: TemplateEngine;
  readonly vars: VarScopes;
  readonly project: ConstructorParameters<typeof ModelRenderer>[3];
  readonly relationOf: RelationOf;
  readonly disabledSources: ReadonlyMap<string, Location>;
  readonly packages: PackageScope;
  readonly callsRuntimeMacro: (text: string) => boolean;
  readonly dbtContext: DbtContext;
  readonly nameSet: ReadonlySet<string>;
  readonly names: number;
  readonly nodeContext: NodeContext;
  readonly lake: boolean;
}

/** A save of more models than this is analyzed whole: one pass over all is then as quick. */
const SAVED_AT_ONCE = 64;

/** What analysis knows of one model's text: its template, renders, call sites and last node. */
interface CachedModel {
  readonly sql: string;
  /** The file the text came from: diagnostics name it, so a moved model compiles again. */
  readonly file: string;
  readonly yaml: unknown;
  readonly compiled: CompiledTemplate | Diagnostic;
  /** What in the text pipe cannot render yet (then it is not rendered). */
  readonly unsupported: readonly UnsupportedUse[];
  /** Whether it is rendered again when its task runs (see ModelRenderer.rendersAtRun). */
  readonly runtime: boolean;
  readonly renders: Map<string, RawRender | Diagnostic>;
  readonly sites: CallSites;
  analyzed?: AnalyzedModel;
}

/**
 * The node built from one render, and the diagnostics found on the way. It stands as long
 * as the render (same text, interval and is_incremental()), the YAML beside the model, its
 * path and the project's names are the same: in watch mode, every model but the saved one.
 */
interface AnalyzedModel {
  readonly raw: RawRender;
  readonly yaml: unknown;
  /** Its config from dbt_project.yml and properties files (BaseConfig.key). */
  readonly base: string;
  readonly file: string;
  /** The version of the project's names it was built with. */
  readonly names: number;
  readonly config: ModelConfig;
  /** dbt settings of the model that pipe leaves aside. */
  readonly unused: readonly { readonly key: string; readonly location: Location }[];
  /** Where `enabled: false` is set, for the error of a ref to a disabled model; absent for an enabled one. */
  readonly disabledAt?: Location;
  readonly checks: Check[];
  readonly configDiagnostics: readonly Diagnostic[];
  /** Where `contract` is set, when it is. */
  readonly contractLocation?: Location;
  /** Where `unique_key` is set, when it is. */
  readonly uniqueKeyLocation?: Location;
  /** Where `partition_by` (else `event_time`) is set, when it is. */
  readonly partitionByLocation?: Location;
  /** Where `updated_at` is set, when it is (a snapshot's). */
  readonly updatedAtLocation?: Location;
  /** Where `on_schema_change` is set (else config()), for an incremental model. */
  readonly schemaChangeLocation?: Location;
  /** Where an external model's `location` is set (else its materialization). */
  readonly externalFileLocation?: Location;
  readonly access?: ModelAccess;
  readonly group?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly configuredNames?: ConfiguredNames;
  node?: ModelNode;
  refDiagnostics?: readonly Diagnostic[];
}

/** A model as the renderer needs it. */
interface RenderModel {
  readonly source: ModelSource;
  readonly compiled: CompiledTemplate;
  /** Its relation as known before rendering (config() may still move it). */
  readonly relation: string;
  readonly renders: Map<string, RawRender | Diagnostic>;
  readonly sites: CallSites;
  readonly entry: CachedModel;
  /** Rendered again when its task runs: it reads the warehouse while rendering. */
  readonly runtime: boolean;
  readonly fqn: readonly string[];
  /** Its config from everything but config(). */
  readonly base: BaseConfig;
  /** A model, or a snapshot (declared apart, and configured under `snapshots:`). */
  readonly resource: Resource;
  /** Its entry in a properties file, if it has one. */
  readonly properties?: NodeProperties;
}

export function analyze(files: ProjectFiles, options: AnalyzeOptions, cache?: AnalysisCache): Analysis {
  const from = cache?.saved?.analysis;
  const again = cache && reanalyzeSaved(files, options, cache);
  if (cache) cache.reusedFrom = again ? from : undefined;
  return again || analyzeWhole(files, options, cache);
}

/** The options and settings an analysis depends on, as one string to compare. */
function reuseKey(options: AnalyzeOptions, validated: ValidatedSettings): string {
  const { interval, pipeline, vars, varsAsRun, packageVarsAsRun, fullRefresh, invocation } = options;
  return keyJson([interval.start, interval.end, pipeline ?? null, vars ?? null, varsAsRun ?? false, packageVarsAsRun ?? null, fullRefresh ?? false, invocation ?? null, validated.settings, validated.settingsDiagnostics]);
}

/**
 * The analysis after a save that changed only the text of a few models (the files otherwise
 * the very values of the last whole analysis, as loadProject gives them through a CachedFs),
 * or of models whose table appeared or went: those are rendered, configured and given nodes
 * again, and everything else is the last analysis'. Its result is the whole analysis' as long
 * as each saved model keeps its config and its upstream and has nothing to report: anything
 * else (a ref added, a config changed, an error made) may change other nodes, the graph or the
 * diagnostics, and undefined sends the save to the whole analysis.
 */
function reanalyzeSaved(files: ProjectFiles, options: AnalyzeOptions, cache: AnalysisCache): Analysis | undefined {
  const last = cache.saved;
  if (!last) return undefined;
  const was = last.files;
  const keys = Object.keys(files) as (keyof ProjectFiles)[];
  if (keys.length !== Object.keys(was).length || keys.some((k) => k !== 'models' && files[k] !== was[k])) return undefined;
  if (files.models.length !== was.models.length) return undefined;
  if (reuseKey(options, options.validated ?? validateSettings(files)) !== last.key) return undefined;
  const saved = new Map<string, ModelSource>();
  // Told by loading which models it read again; else each is compared.
  const readAgain = modelsReadAgain(files, was) ?? files.models.keys();
  for (const i of readAgain) {
    const [now, before] = [files.models[i], was.models[i]];
    if (now === before) continue;
    if (now.name !== before.name || now.file !== before.file || now.absPath !== before.absPath || now.yaml !== before.yaml || now.package !== before.package) return undefined;
    saved.set(now.name, now);
  }
  const exists = (name: string) => options.existingRelations?.has(last.models.get(name)!.relation) ?? false;
  const existing = new Map<string, boolean>();
  if (options.existingRelations !== last.existingRelations) {
    for (const [name, existed] of last.existing) {
      const now = exists(name);
      if (now !== existed && !saved.has(name)) saved.set(name, last.models.get(name)!.source);
    }
  }
  if (saved.size > SAVED_AT_ONCE) return undefined;
  const replaced = new Map<string, RenderModel>();
  for (const [name, source] of saved) {
    const before = last.models.get(name);
    const analyzed = before?.entry.analyzed;
    if (!before || !analyzed || last.diagnosed.has(source.file) || !quiet(analyzed)) return undefined;
    if (source === before.source) continue;
    // Another file of its name, not the one built: which is built is decided by the whole analysis.
    if (source.file !== before.source.file) return undefined;
    const entry = modelEntry(source, before.entry.yaml, last.engine, last.packages, last.callsRuntimeMacro);
    if (entry.unsupported.length > 0 || 'severity' in entry.compiled) return undefined;
    replaced.set(name, { ...before, source, compiled: entry.compiled, renders: entry.renders, sites: entry.sites, entry, runtime: entry.runtime });
  }
  const models = OverlayMap.of(last.models, replaced);
  const renderer = new ModelRenderer(last.engine, models, last.vars, last.project, last.relationOf);
  renderer.knowGraph({ ...last.analysis.renderer.graphExtras, exposures: last.analysis.exposures, sourceChecks: last.analysis.sourceChecks });
  renderer.knowRuntimeFrom(last.analysis.renderer, replaced.values());
  renderer.setDisabledSources(last.disabledSources);
  const newNodes = new Map<string, PipeNode>();
  const nodeContext = { ...last.nodeContext, nodes: last.analysis.nodes, models };
  for (const name of saved.keys()) {
    const m = models.get(name)!;
    const node = last.analysis.nodes.get(name);
    const state = { tableExists: exists(name), fullRefresh: options.fullRefresh ?? false };
    const raw = analysisRender(renderer, name, options.interval, state);
    // A table name read through a ref is the other node's: found by a whole analysis.
    if ('severity' in raw || raw.readsIdentifiers || node?.kind !== 'model') return undefined;
    const analyzed = analyzedModel(m, raw, last.names, last.dbtContext, (checks, at, found) => parseChecks(checks, at, last.nameSet, found));
    const config = analyzed.config;
    if (!quiet(analyzed) || !config.enabled || JSON.stringify(config) !== JSON.stringify(node.config)) return undefined;
    const found: Diagnostic[] = [];
    const contract = modelContract(name, config, m.properties, analyzed.contractLocation ?? { file: m.source.file }, found, last.lake);
    const hookRefs = isBuilt(config.kind) ? hookSites(renderer, name, config, options.interval, state, last.analysis.database, found) : [];
    const columns = m.properties?.columns ?? [];
    const made = modelNode({ source: m.source, sites: m.sites, config, refs: [...raw.refs], sources: raw.sources, checks: analyzed.checks, analyzed, contract, hookRefs, columns }, nodeContext);
    if (found.length > 0 || made.refDiagnostics.length > 0 || !sameNames(made.node.upstream, node.upstream)) return undefined;
    analyzed.node = made.node;
    analyzed.refDiagnostics = made.refDiagnostics;
    m.entry.analyzed = analyzed;
    newNodes.set(name, made.node);
    if (raw.readsState || hasHooks(config)) existing.set(name, state.tableExists);
  }
  // Committed once every saved model got through.
  for (const name of saved.keys()) cache.models.set(name, models.get(name)!.entry);
  const nodes = OverlayMap.of(last.analysis.nodes, newNodes);
  renderer.setNodes(nodes);
  renderer.graphMadeAt(options.interval);
  const analysis: Analysis = { ...last.analysis, nodes, renderer };
  const stateful = new Map(last.existing);
  for (const name of saved.keys()) {
    if (existing.has(name)) stateful.set(name, existing.get(name)!);
    else stateful.delete(name);
  }
  cache.saved = { ...last, files, models, existing: stateful, existingRelations: options.existingRelations, analysis };
  return analysis;
}

/** A model's analysis that reports nothing and says nothing: its save changes no diagnostic and no message. */
const quiet = (a: AnalyzedModel) => a.configDiagnostics.length === 0 && a.unused.length === 0 && a.raw.messages.length === 0 && (a.refDiagnostics?.length ?? 0) === 0;

/** Hooks and sql_header render with the table's state too. */
const hasHooks = (config: ModelConfig) => config.pre_hook.length > 0 || config.post_hook.length > 0 || config.sql_header !== undefined;

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function analyzeWhole(files: ProjectFiles, options: AnalyzeOptions, cache?: AnalysisCache): Analysis {
  const diagnostics: Diagnostic[] = [...files.diagnostics];
  const validated = options.validated ?? validateSettings(files);
  const { settings, pipelines, settingsDiagnostics } = validated;
  diagnostics.push(...settingsDiagnostics);
  const pipeline = options.pipeline ? pipelines.get(options.pipeline) : undefined;
  const dbt = files.dbtProject ? readDbtProject(files.dbtProject, diagnostics) : undefined;
  const pendingShadowed: PendingShadowed[] = [];
  const shadowed = shadowedNodes(files.shadowed ?? [], dbt, diagnostics, pendingShadowed);
  const read = files.properties.length > 0 ? readProperties(files.properties, diagnostics, shadowed, dbt !== undefined) : NO_PROPERTIES;
  // Descriptions that name a docs block are given its text, as dbt renders them.
  const documented = read === NO_PROPERTIES ? read : withDocs(read, DocBlocks.read(files.docs ?? [], diagnostics), diagnostics);
  const targetSchema = settings.targetSchema ?? DEFAULT_SCHEMA;
  /** dbt settings pipe leaves aside, by key, for the notice. */
  const unusedSettings = new UnusedSettings();
  // pipe.yaml's vars win over dbt_project.yml's (and those over a package's, for its nodes); a pipeline's and --var over both.
  checkPackageProjects(files.packages?.installed ?? [], diagnostics);
  const projectName = dbt?.name ?? settings.name ?? basename(files.root);
  const over = options.varsAsRun ? { ...(options.vars ?? {}) } : { ...settings.vars, ...(pipeline?.vars ?? {}), ...(options.vars ?? {}) };
  const scopes = varScopes({ project: projectName, vars: dbt?.vars, packages: files.packages?.installed ?? [], over, exact: options.varsAsRun, exactPackages: options.packageVarsAsRun });
  const vars = scopes.root;
  for (const name of secretVarNames(settings, pipeline)) secrets.record(vars[name]);

  const packageNodes = new Map<string, { built: Set<string>; shadowed: Set<string> }>();
  const ofPackage = (name: string) => packageNodes.get(name) ?? packageNodes.set(name, { built: new Set(), shadowed: new Set() }).get(name)!;
  for (const n of [...files.models, ...files.seeds, ...files.snapshots]) if (n.package) ofPackage(n.package.name).built.add(n.name);
  for (const n of files.shadowed ?? []) ofPackage(n.package.name).shadowed.add(n.name);
  const packages = projectNamespaces(projectName, files.packages ?? NO_PACKAGES, dbt?.file, packageNodes, diagnostics, files.macros);
  const target = {
    name: settings.targetName ?? 'default',
    schema: targetSchema,
    type: 'duckdb',
    // What current_database() answers in the warehouse.
    database: settings.lake ? LAKE_ALIAS : catalogName(settings.warehouse),
    threads: settings.threads ?? 1,
    profile_name: dbt?.profile ?? null,
  };
  const ownRelation = (schema: string, name: string) => ownRelationName(target.database, schema, name);
  // Everything the engine's templates see besides a render's own: the engine is made again when it changes.
  const engineKey = keyJson([
    target,
    files.macros,
    files.packages,
    [...packageNodes].map(([name, nodes]) => [name, [...nodes.built], [...nodes.shadowed]]),
    dbt?.file.data.dispatch,
    projectName,
    vars,
    settings.warehouse,
  ]);
  if (cache && cache.key !== engineKey) {
    cache.key = engineKey;
    cache.engine = undefined;
    cache.models.clear();
  }
  const engine =
    cache?.engine ??
    // Every name, those an interval leaves unset too: the engine renders for other intervals after this one.
    new TemplateEngine(files.macros, DATE_VARIABLE_NAMES, {
      // dbt's project_name: the root project's, in its packages' templates too.
      globals: {
        target,
        project_name: projectName,
        invocation_args_dict: invocationArgsDict(options.invocation, { vars: options.vars, fullRefresh: options.fullRefresh, root: files.root }),
        dbt_metadata_envs: metadataEnvs(),
      },
      packages: packages.engine,
      invocation: options.invocation ?? { id: newRunId(), startedAt: Date.now() },
      codeCache: options.templateCache,
    });
  if (cache) cache.engine = engine;
  diagnostics.push(...engine.diagnostics);
  const renderSetting = settingRenderer(engine, vars, options.interval, diagnostics);
  // A package's properties file renders with the package's vars.
  const packageRenders = new Map<string, RenderSetting>();
  const renderOfFile = (file: string): RenderSetting => {
    const pkg = packageOfFile(files.packages?.installed, file);
    if (!pkg) return renderSetting;
    const known = packageRenders.get(pkg.name) ?? settingRenderer(engine, scopes.of(pkg.name), options.interval, diagnostics);
    packageRenders.set(pkg.name, known);
    return known;
  };
  decideShadowed(pendingShadowed, renderOfFile, diagnostics);
  const switched = documented === NO_PROPERTIES ? documented : withRenderedEnabled(documented, renderOfFile);
  // dbt_project.yml's sources: configs, along each source table's qualified name.
  const foldered =
    dbt && switched !== NO_PROPERTIES
      ? withSourceFolderConfigs(switched, { project: dbt.name, file: dbt.file, models: files.layout.models }, files.packages?.installed ?? [], renderSetting, diagnostics)
      : { properties: switched, fqns: [] };
  const properties = foldered.properties === NO_PROPERTIES ? foldered.properties : withRenderedFreshness(withRenderedDataTypes(foldered.properties, renderSetting), renderSetting, diagnostics);
  // The folders of the project and its packages: a model's `path` in its own render and as its naming macros see it.
  const folders = new Map<string, { readonly dir?: string; readonly layout: ProjectLayout }>([[projectName, { layout: files.layout }]]);
  for (const p of files.packages?.installed ?? []) folders.set(p.name, { dir: p.dir, layout: p.layout });
  const dbtContext: DbtContext = { ...(dbt ? dbtNamers(engine, dbt.name, targetSchema, target.database, folders, scopes, diagnostics) : {}), unused: unusedSettings,
    ownRelation,
    folderColumnTypes: new Map(),
    owned: ownDefinitions(engine, files.packages?.installed ?? []),
    database: target.database,
    attached: new Map(validated.warehouseSetup.attachments.map((a) => [a.alias ?? catalogName(a.path.replace(/^\w+:/, '')), a.source.at] as const)),
    dbtProject: dbt !== undefined,
    fullRefresh: options.fullRefresh ?? false,
  };

  /** Where a model or snapshot is written, from its config and its template's config() calls: the relation `this` names. */
  const relationParts = (
    node: { readonly name: string; readonly fqn: readonly string[]; readonly file: string; readonly resource: Resource },
    base: BaseConfig,
    calls: Readonly<Record<string, unknown>>,
  ): RelationParts => {
    const custom = finalValue(base, calls, 'schema');
    const alias = finalValue(base, calls, 'alias');
    const targetSchema = node.resource === 'snapshot' ? finalValue(base, calls, 'target_schema') : undefined;
    const named = { name: node.name, fqn: node.fqn, file: node.file, kind: node.resource, config: () => configBeforeNaming(node.resource, node.file, base, calls, target.database) };
    const schema =
      typeof targetSchema === 'string' && targetSchema !== ''
        ? targetSchema
        : dbtContext.dbtSchema
          ? dbtContext.dbtSchema(typeof custom === 'string' ? custom : undefined, named)
          : typeof custom === 'string' ? custom : DEFAULT_SCHEMA;
    const identifier = dbtContext.dbtAlias ? dbtContext.dbtAlias(typeof alias === 'string' ? alias : undefined, named) : typeof alias === 'string' ? alias : node.name;
    return { database: target.database, schema, identifier };
  };
  const models = new Map<string, RenderModel>();
  const live = new Set<string>();
  /** Everything the templates use that pipe cannot render yet: reported once per cause, below. */
  const unsupported: UnsupportedUse[] = [];
  const macros = macroProblems(files, packages);
  const calling = (names: ReadonlySet<string>) => (text: string) => callsAny(text, names);
  const callsUnrenderable = calling(macros.tainted);
  const callsRuntimeMacro = calling(runtimeMacros(files));
  const snapshots = declaredSnapshots(files, properties, projectName, diagnostics);
  // A versioned model's files are its versions' models (m_v1, ...).
  const chosen = sameNamedFiles('model', files.models, enabledBeforeRender(engine, scopes, options.interval, (source, withProperties) => baseConfig('models', nodeFqn(projectName, source, 'model', files.layout.models), dbt, withProperties ? properties.models.get(source.name) : undefined, source.yaml, renderSetting, source.package?.project)), dbt !== undefined, diagnostics);
  /** Files of a name another file of which is built: disabled, their folders' configs are used, as in dbt. */
  const built = new Set(chosen);
  const notChosen = chosen === files.models ? [] : files.models.filter((s) => !built.has(s));
  const modelSources = versionSources(chosen, properties.versioned, diagnostics);
  engine.knowVersions(properties.versioned);
  const declared = [
    ...modelSources.map((source) => ({ source, resource: 'model' as const, fqn: nodeFqn(projectName, source, 'model', files.layout.models), properties: properties.models.get(source.name) })),
    ...snapshots.map(({ source, fqn }) => ({ source, resource: 'snapshot' as const, fqn, properties: properties.snapshots.get(source.name) })),
  ];
  // Renders kept between processes: a model whose render is kept is not compiled unless a render
  // needs it. A process that keeps its analyses (watch, the UI) reads them and keeps its own in memory.
  const kept = options.templateCache ? KeptRenders.of(options.templateCache.renders, options.interval, cache !== undefined, [engineKey, target, properties.versioned, dbt !== undefined], (n) => engine.hasMacro(n), (src, table) => engine.sourcePlace(src, table)) : undefined;
  const withBase = declared.map((d) => ({
    ...d,
    base: baseConfig(d.resource === 'model' ? 'models' : 'snapshots', d.fqn, dbt, d.properties, d.source.yaml, renderSetting, d.source.package?.project),
  }));
  /** Whether a model's render for this date is kept, in either state of its table: its template is compiled when first rendered. */
  const keptForDate = ({ source, base }: (typeof withBase)[number]): boolean => {
    if (!kept?.hasAny() || source.package || usesIntrospection(source.sql) || callsRuntimeMacro(source.sql)) return false;
    const keyed = { name: source.name, file: source.file, sql: source.sql, base };
    const fullRefresh = options.fullRefresh ?? false;
    return kept.has(kept.key(keyed, options.interval, { tableExists: false, fullRefresh })) || kept.has(kept.key(keyed, options.interval, { tableExists: true, fullRefresh }));
  };
  const changed = (source: ModelSource) => cache?.models.get(source.name)?.sql !== source.sql;
  const deferred = new Set(withBase.filter((d) => changed(d.source) && keptForDate(d)).map((d) => d.source.name));
  // Templates not compiled by an earlier analysis of this process, compiled ahead on several threads when many are in no pack.
  engine.precompile(
    declared
      .filter(({ source }) => changed(source) && !deferred.has(source.name))
      .map(({ source }) => ({ file: source.file, source: source.sql, ...(source.package ? { pkg: source.package.name } : {}) })),
  );
  /** Models their folder config or properties switch off, which use what pipe cannot render: never rendered, as dbt never compiles them. */
  const switchedOff = new Map<string, Location>();
  const pythonModels = (files.pythonModels ?? []).map((model) => {
    const fqn = nodeFqn(projectName, model, 'model', files.layout.models);
    return { model, fqn, base: baseConfig('models', fqn, dbt, properties.models.get(model.name), undefined, renderSetting, model.package?.project) };
  });
  for (const { source, resource, fqn, properties: entryProperties, base } of withBase) {
    live.add(source.name);
    const yamlMaterialized = baseValue(base, 'materialized');
    let entry = cache?.models.get(source.name);
    if (!entry || entry.sql !== source.sql || entry.file !== source.file || entry.yaml !== yamlMaterialized) {
      entry = modelEntry(source, yamlMaterialized, engine, packages, callsRuntimeMacro, deferred.has(source.name));
      cache?.models.set(source.name, entry);
    } else if ([...entry.renders.values()].some((r) => !('severity' in r) && r.readsIdentifiers)) {
      // It read another node's table name, which that node's config decides: rendered again.
      entry.renders.clear();
    }
    if (baseValue(base, 'enabled') === false && (entry.unsupported.length > 0 || callsUnrenderable(source.sql))) {
      switchedOff.set(source.name, base.over?.get('enabled')?.location ?? base.dbt.get('enabled')?.location ?? { file: source.file });
      continue;
    }
    if (entry.unsupported.length > 0) {
      unsupported.push(...entry.unsupported);
      continue;
    }
    // A model calling a macro pipe cannot render is not rendered: the macro's error says why.
    if (callsUnrenderable(source.sql)) continue;
    const compiled = entry.compiled;
    if ('severity' in compiled) {
      diagnostics.push(compiled);
      continue;
    }
    const parts = relationParts({ name: source.name, fqn, file: source.file, resource }, base, {});
    const relation = ownRelation(parts.schema, parts.identifier);
    models.set(source.name, { source, compiled, relation, renders: entry.renders, sites: entry.sites, entry, runtime: entry.runtime, fqn, base, resource, ...(entryProperties ? { properties: entryProperties } : {}) });
  }
  engine.forgetPrecompiled();
  // A Python model is built by dbt alone: one its config switches off is left out, as dbt leaves
  // it out; any other stops the command, at its file.
  // Its dbt.config(...) calls over its folders' and properties' config, as dbt reads them.
  const pythonTags = new Map<string, readonly string[]>();
  const pythonReadsOf = new Map<string, PythonReads>();
  const refusedPython: PythonModelFile[] = [];
  for (const { model, base } of pythonModels) {
    const own = pythonConfig(model.code ?? '');
    if ((own.enabled ?? baseValue(base, 'enabled')) === false) {
      switchedOff.set(model.name, own.enabled === false ? { file: model.file } : (base.over?.get('enabled')?.location ?? base.dbt.get('enabled')?.location ?? { file: model.file }));
      continue;
    }
    refusedPython.push(model);
    const folderTags = baseValue(base, 'tags');
    const listed = typeof folderTags === 'string' ? [folderTags] : Array.isArray(folderTags) ? folderTags.filter((t): t is string => typeof t === 'string') : [];
    pythonTags.set(model.name, [...new Set([...listed, ...(own.tags ?? [])])]);
    pythonReadsOf.set(model.name, pythonReads(model.code ?? ''));
  }
  if (refusedPython.length > 0) {
    const holdsSql = (folder: string) => files.models.some((m) => m.file.startsWith(`${folder}/`));
    const refusal = refusedPython.length === 1 ? pythonModelError(refusedPython[0]) : pythonModelsError(refusedPython, holdsSql);
    if (refusedPython.length > 1) pythonRefusals.set(refusal, { models: refusedPython, holdsSql });
    diagnostics.push(refusal);
  }
  if (cache) for (const name of [...cache.models.keys()]) if (!live.has(name)) cache.models.delete(name);
  // A singular test, like a model, is not rendered when it uses what pipe cannot render.
  const singularTests = files.singularTests.filter((t) => {
    const uses = unsupportedUses(t.file, t.sql, packages);
    unsupported.push(...uses);
    return uses.length === 0 && !callsUnrenderable(t.sql);
  });
  const reaching = declared.filter((m) => !switchedOff.has(m.source.name));
  const reached = new Set(macros.uses([...reaching.filter((m) => !m.source.package).map((m) => m.source.sql), ...files.singularTests.map((t) => t.sql)], testCalls(properties)));
  unsupported.push(...reached);
  // What only an installed package's models reach (elementary's, which upload dbt's artifacts) says how to leave them out.
  for (const pkg of new Set(reaching.flatMap((m) => (m.source.package ? [m.source.package.name] : [])))) {
    for (const u of macros.uses(reaching.filter((m) => m.source.package?.name === pkg).map((m) => m.source.sql))) {
      if (reached.has(u)) continue;
      reached.add(u);
      unsupported.push({ ...u, hint: `${u.hint}; only the models of the package ${pkg} reach it: \`models: ${pkg}: +enabled: false\` in dbt_project.yml leaves them out` });
    }
  }
  diagnostics.push(...unsupportedDiagnostics(unsupported));
  const templates = [...macroFiles(files), ...files.singularTests.map((t) => ({ file: t.file, source: t.sql }))];
  const project = { name: projectName, database: target.database, templates, dbt: dbt !== undefined };
  const relationOf: RelationOf = (name, calls) => {
    const m = models.get(name)!;
    return relationParts({ name, fqn: m.fqn, file: m.source.file, resource: m.resource }, m.base, calls);
  };
  const renderer = new ModelRenderer(engine, models, scopes, project, relationOf);
  renderer.keepRenders(kept);
  renderer.knowGraph({ exposures: new Map(), sourceChecks: new Map(), folders, root: files.root });

  const nodes = new Map<string, PipeNode>();
  // The seeds' nodes, made first, are what a model's ref() of one names as it renders.
  renderer.setNodes(nodes);
  const disabled = new Map<string, Location>(switchedOff);
  const seedConfigDiagnostics = new ConfigDiagnostics('seed');
  const seedFiles = sameNamedFiles(
    'seed',
    files.seeds,
    (seed) => baseValue(baseConfig('seeds', nodeFqn(projectName, seed, 'seed', files.layout.seeds), dbt, properties.seeds.get(seed.name), seed.yaml, renderSetting, seed.package?.project), 'enabled') !== false,
    dbt !== undefined,
    diagnostics,
  );
  for (const seed of seedFiles) {
    const fqn = nodeFqn(projectName, seed, 'seed', files.layout.seeds);
    const base = baseConfig('seeds', fqn, dbt, properties.seeds.get(seed.name), seed.yaml, renderSetting, seed.package?.project);
    const found: Diagnostic[] = [];
    const node = seedNode(seed, fqn, base, dbtContext, properties.seeds.get(seed.name)?.columns ?? [], found);
    seedConfigDiagnostics.add(seed.name, found);
    if ('disabledAt' in node) disabled.set(seed.name, node.disabledAt);
    else nodes.set(seed.name, { ...node, ...propertiesFileOf(properties.seeds.get(seed.name)) });
  }
  diagnostics.push(...seedConfigDiagnostics.diagnostics(), ...unmatchedFolderColumnTypes(dbtContext.folderColumnTypes));
  // The first key of a config path of dbt_project.yml: the project's name, or an installed package's.
  const configPathNames = [projectName, ...(files.packages?.installed ?? []).map((p) => p.name)];
  /** The qualified names the config paths of dbt_project.yml may apply to, by section; checked once the disabled nodes are known. */
  let configPathFqns: Partial<Record<ConfigSection, readonly (readonly string[])[]>> = {};
  /** Each model's, snapshot's and seed's qualified name, by name: a disabled one's counts for every section, as in dbt. */
  const fqnOfNode = new Map<string, readonly string[]>();
  if (dbt) {
    // A version's qualified name is dbt's: its model's name, then `v2`.
    const versionOf = new Map<string, { model: string; v: string }>();
    for (const m of properties.versioned.values()) for (const v of m.versions) versionOf.set(v.node, { model: m.name, v: v.v });
    const modelFqns = declared.filter((d) => d.resource === 'model').flatMap(({ source, fqn }) => {
      const version = versionOf.get(source.name);
      return version ? [fqn, [...fqn.slice(0, -1), version.model, `v${version.v}`]] : [fqn];
    }).concat(pythonModels.map((p) => p.fqn));
    // A package's node left out for the project's of its name is one the config may name (to disable it).
    const shadowedFqns = (kind: 'model' | 'seed') => (files.shadowed ?? []).filter((n) => n.kind === kind).map((n) => nodeFqn(n.package.name, n, kind, []));
    const seedFqns = files.seeds.map((seed) => {
      const fqn = nodeFqn(projectName, seed, 'seed', files.layout.seeds);
      fqnOfNode.set(seed.name, fqn);
      return fqn;
    });
    for (const d of declared) fqnOfNode.set(d.source.name, d.fqn);
    configPathFqns = {
      models: [...modelFqns, ...shadowedFqns('model')],
      seeds: [...seedFqns, ...shadowedFqns('seed')],
      snapshots: snapshots.map((s) => s.fqn),
      sources: foldered.fqns,
    };
  }
  const disabledSources = new Map<string, Location>();
  // Where a source lives may be a template, rendered with the vars of the package that declares it.
  const placeRenderers = new Map<string | undefined, RenderSetting>([[undefined, renderSetting]]);
  const placeRenderer = (pkg: string | undefined) => placeRenderers.get(pkg) ?? placeRenderers.set(pkg, settingRenderer(engine, scopes.of(pkg), options.interval, diagnostics)).get(pkg)!;
  for (const declared of properties.sources) {
    // A package's source is named from the package, as its models are.
    const pkg = packageOfFile(files.packages?.installed, declared.location.file);
    const table = renderedPlace(declared, placeRenderer(pkg?.name));
    if (table.enabled) nodes.set(table.name, sourceNode(table, pkg?.name ?? projectName, files.root, ownRelation, diagnostics));
    else disabledSources.set(table.name, table.disabledAt ?? table.location);
  }
  for (const [name, at] of disabledSources) disabled.set(name, at);
  renderer.setDisabledSources(disabledSources);
  loadSourcesFromSeeds(nodes, target.database);
  engine.knowSources((name) => {
    const n = nodes.get(name);
    return n?.kind === 'source' && n.reads.kind === 'relation' ? { database: n.reads.database ?? target.database, schema: n.reads.schema, identifier: n.reads.identifier } : undefined;
  });

  const pending: PendingModel[] = [];
  // A relationships check naming a file left out is not an unknown model as well.
  const nameSet = new Set([...declared.map((m) => m.source.name), ...files.seeds.map((s) => s.name), ...(files.leftOut ?? [])]);
  const allNames = [...declared.map((m) => m.source.name), ...files.seeds.map((s) => s.name)];
  // What a node reads of the rest of the project: which names exist, which models compiled.
  let names = 0;
  if (cache) {
    // The source tables too: a model's source() calls are checked against them.
    const sourceNames = properties.sources.filter((t) => t.enabled).map((t) => t.name);
    const pythonNames = (files.pythonModels ?? []).map((m) => m.name);
    const key = `${projectName}\u0001${allNames.join('\u0000')}\u0001${[...models.keys()].join('\u0000')}\u0001${sourceNames.join('\u0000')}\u0001${pythonNames.join('\u0000')}`;
    if (cache.names?.key !== key) cache.names = { key, version: (cache.names?.version ?? 0) + 1 };
    names = cache.names.version;
  }
  const modelConfigDiagnostics = new ConfigDiagnostics('model');
  const existed = new Map<string, boolean>();
  /** The models whose render calls is_incremental(): a unit test of one says which build it is of. */
  const askIsIncremental = new Set<string>();
  /** Model files with nothing in them: no model is built from them, as in dbt. */
  const emptyFiles = new Set<string>();
  for (const [name, m] of models) {
    if (m.source.sql.trim() === '') {
      diagnostics.push(warning('empty-model-file', `${m.source.file} is empty: no model ${name} is built from it, as dbt builds none`, { file: m.source.file }, { hint: 'write its query (select ...), or delete the file' }));
      disabled.set(name, { file: m.source.file });
      emptyFiles.add(name);
      continue;
    }
    const existing = options.existingRelations?.has(m.relation) ?? false;
    const state = { tableExists: existing, fullRefresh: options.fullRefresh ?? false };
    let raw = analysisRender(renderer, name, options.interval, state);
    if ('severity' in raw) {
      // A var nobody sets, or a call of a macro nothing defines, stops what builds the model, not
      // what reads the project (dbt's parse reads the var as none, and captures the call).
      const parsed = renderer.varsUnsetRender(name, options.interval, state, raw) ?? renderer.undefinedCallsRender(name, options.interval, state, raw);
      diagnostics.push(parsed ? { ...raw, blocks: [name] } : raw);
      if (!parsed) continue;
      raw = parsed;
    }
    const y = m.source.yaml;
    let analyzed = m.entry.analyzed;
    if (!analyzed || analyzed.raw !== raw || analyzed.yaml !== y || analyzed.base !== m.base.key || analyzed.file !== m.source.file || analyzed.names !== names) {
      analyzed = analyzedModel(m, raw, names, dbtContext, (checks, at, found) => parseChecks(checks, at, nameSet, found));
      m.entry.analyzed = analyzed;
    }
    if (raw.readsState || hasHooks(analyzed.config)) existed.set(name, existing);
    if (raw.readsState) askIsIncremental.add(name);
    modelConfigDiagnostics.add(name, analyzed.configDiagnostics, m.resource);
    if (!analyzed.config.enabled) {
      disabled.set(name, analyzed.disabledAt ?? { file: m.source.file });
      continue;
    }
    // A disabled model's settings are nothing pipe leaves out: dbt reads none of them either.
    for (const u of analyzed.unused) unusedSettings.note(u.key, u.location);
    const config = analyzed.config;
    const entry = m.properties;
    // Read each time (not cached with the render): the properties file's columns may change alone.
    const contract = modelContract(name, config, entry, analyzed.contractLocation ?? { file: m.source.file }, diagnostics, settings.lake !== undefined);
    const hookRefs = isBuilt(config.kind)
      ? hookSites(renderer, name, config, options.interval, { tableExists: existing, fullRefresh: options.fullRefresh ?? false }, target.database, diagnostics)
      : [];
    const columns = entry?.columns ?? [];
    pending.push({ source: m.source, sites: m.sites, config, refs: [...raw.refs], sources: raw.sources, checks: analyzed.checks, analyzed, contract, hookRefs, columns });
  }
  diagnostics.push(...modelConfigDiagnostics.diagnostics());
  // A model's refs read the disabled models and where each is disabled (a ref to one points
  // there): when either changes, no cached node stands.
  const disabledKey = JSON.stringify([...disabled].sort(([a], [b]) => byCodeUnit(a, b)));
  if (cache && cache.disabled !== disabledKey) {
    cache.disabled = disabledKey;
    for (const p of pending) p.analyzed.node = undefined;
  }

  // A file left out (a duplicate, a refused name) is already an error; a ref() to its name is not another.
  const known = new Set([...allNames, ...(files.leftOut ?? [])]);
  let macroSites: { readonly file: string; readonly sites: CallSites }[] | undefined;
  /** Where a macro's text calls ref('name'): what a model's ref() to an unknown name points at when the model's own text does not. */
  const macroRef = (name: string): Location | undefined => {
    macroSites ??= files.macros.map((m) => ({ file: m.file, sites: new CallSites(m.source) }));
    for (const m of macroSites) {
      const at = m.sites.ref(name);
      if (at) return { file: m.file, ...at };
    }
    return undefined;
  };
  const python = new Set(pythonModels.filter((p) => !switchedOff.has(p.model.name)).map((p) => p.model.name));
  const nodeContext: NodeContext = { nodes, ownRelation, disabled, emptyFiles, disabledSources, models, known, allNames, python, versions: versionsByNode(properties.versioned), macroRef };
  for (const { source, sites: calls, config, refs, sources, checks, analyzed, contract, hookRefs, columns } of pending) {
    const cached = analyzed.node;
    if (cached && analyzed.refDiagnostics && sameContract(cached.contract, contract) && JSON.stringify(cached.columns) === JSON.stringify(columns) && sameSites(cached.hookRefs ?? [], hookRefs)) {
      nodes.set(source.name, cached);
      diagnostics.push(...analyzed.refDiagnostics);
      continue;
    }
    const { node, refDiagnostics } = modelNode({ source, sites: calls, config, refs, sources, checks, analyzed, contract, hookRefs, columns }, nodeContext);
    nodes.set(source.name, node);
    diagnostics.push(...refDiagnostics);
    analyzed.node = node;
    analyzed.refDiagnostics = refDiagnostics;
  }
  const tests = projectTests(
    {
      files,
      singularTests,
      properties,
      dbt,
      projectName,
      engine,
      interval: options.interval,
      vars,
      node: (name) => (nodes.has(name) ? 'node' : disabled.has(name) ? 'disabled' : known.has(name) ? 'unavailable' : undefined),
      identifierOf: (name) => nodeIdentifier(nodes.get(name), name),
      placeOf: (name) => nodePlace(nodes.get(name), target.database),
      // A test an installed package declares reads the package's vars, as its node is the package's.
      varsOf: (file) => scopes.of(packageOfFile(files.packages?.installed, file)?.name),
      nodeNames: allNames,
      unrenderableMacro: (qualified) => {
        const name = qualified.slice(qualified.indexOf('.') + 1);
        return macros.tainted.has(name) || macros.tainted.has(name.replace(/^(?:default__|duckdb__)?test_/, ''));
      },
      sourceProblem: (call, at) => sourceCallProblem(call, at, nodes, disabledSources),
      unused: (key, at) => unusedSettings.note(key, at),
      storeFailures: options.invocation?.storeFailures === true,
      failuresSchema: (custom, test) => dbtContext.dbtSchema?.(custom, { ...test, kind: 'test', config: () => test.config }) ?? dbtSchemaName(targetSchema, custom),
      ownRelation,
      targetSchema,
    },
    diagnostics,
  );
  if (dbt) {
    // dbt counts a path that begins a disabled node's name (of any kind) as used in every section.
    const disabledFqns = [...disabled.keys()].flatMap((name) => {
      const fqn = fqnOfNode.get(name);
      return fqn ? [fqn] : [];
    });
    for (const source of notChosen) disabledFqns.push(nodeFqn(projectName, source, 'model', files.layout.models));
    const sections = { ...configPathFqns, data_tests: tests.fqns, tests: tests.fqns };
    const withDisabled = Object.fromEntries(Object.entries(sections).map(([section, fqns]) => [section, [...fqns, ...disabledFqns]]));
    diagnostics.push(...unusedConfigPaths(dbt.file, withDisabled, configPathNames));
  }
  // What each model's own template reads, before tests add to its upstream: what its unit tests give.
  const reads = new Map([...nodes.values()].flatMap((n) => (n.kind === 'model' ? [[n.name, [...new Set(n.refs.map((r) => r.name))]] as const] : [])));
  const { own: ownSourceTests, readingBuilt } = sourceTestsReadingBuilt(tests.sourceTests, nodes);
  const { sources: onSources, unrun: unrunTests } = withTests(nodes, [...tests.tests, ...readingBuilt], diagnostics);
  sourceTestsWaitForSeeds(nodes, joinedChecks(ownSourceTests, onSources));
  withUnitTests(nodes, reads, askIsIncremental, files, properties, disabled, engine, renderSetting, settingRenderer(engine, vars, options.interval, diagnostics, FIXTURE_PHASE), diagnostics);
  renderer.setNodes(nodes);
  renderer.graphMadeAt(options.interval);
  sourcesWaitForWriters(nodes, target.database);

  const { graph, cycles } = graphOf(nodes, cache);
  for (const cycle of cycles) {
    const related = cycle.slice(0, -1).map((from, i) => {
      const to = cycle[i + 1];
      const node = nodes.get(from);
      const site = node?.kind === 'model' ? node.refs.find((r) => r.name === to) : undefined;
      return { message: `${from} refs ${to}`, location: site?.location ?? { file: node?.file ?? from } };
    });
    diagnostics.push(
      error('cycle', `dependency cycle: ${cycle.join(' → ')}`, related[0]?.location, {
        related,
        hint: 'a model cannot depend on itself, directly or through others; remove one of these ref() calls',
      }),
    );
  }

  diagnostics.push(...sameRelations(nodes), ...sameExternalFiles(externalWriters(nodes), files.root, settings.externalRoot), ...writtenSources(nodes, target.database, dbt !== undefined), ...unbatchedInputs(nodes), ...undatedSeeds(nodes), ...privateRefs(nodes));
  diagnostics.push(...pastDeprecation(properties.versioned, new Date().toISOString().slice(0, 10), (name) => nodes.has(name)));
  const fileNames = { model: new Set(modelSources.map((m) => m.name)), seed: new Set(files.seeds.map((m) => m.name)), snapshot: new Set(snapshots.map((m) => m.source.name)) };
  for (const [kind, entries] of [['model', properties.models], ['seed', properties.seeds], ['snapshot', properties.snapshots]] as const) {
    for (const [name, entry] of entries) {
      // A model whose file has errors is still the project's: its entry is not unmatched.
      if (fileNames[kind].has(name) || files.leftOut?.includes(name)) continue;
      const version = kind === 'model' ? nodeContext.versions.get(name) : undefined;
      if (version) {
        const files = properties.versioned.get(version.model)!.versions.find((v) => v.v === version.v)!.files;
        diagnostics.push(warning('unmatched-properties', `version ${version.v} of ${version.model} has no file: ${files.map((f) => `${f}.sql`).join(' or ')} is not among the models`, entry.location, { hint: 'add the file, or set defined_in: to the name of the file that holds it' }));
        continue;
      }
      // Under the section of another kind of node of that name (a seed under models:): said so, as dbt says it.
      const other = (['model', 'seed', 'snapshot'] as const).find((k) => k !== kind && fileNames[k].has(name));
      if (other) {
        diagnostics.push(warning('unmatched-properties', `properties for ${kind} '${name}', which is a ${other} of the project: its entry belongs under ${other}s:`, entry.location, { hint: `move it under ${other}s: (dbt warns of it too)` }));
        continue;
      }
      // An entry under seeds: is for a seed: a model of a like name is not what it meant.
      diagnostics.push(unmatchedEntry(kind, name, entry.location, didYouMean(name, [...fileNames[kind]])));
    }
  }
  const notice = notUsedNotice(files, [...(dbt?.unused ?? []), ...properties.unused], unusedSettings);
  if (notice) diagnostics.push(notice);
  const standIns = standInNotice(packages, [...files.models.map((m) => m.sql), ...files.macros.map((m) => m.source), ...files.singularTests.map((t) => t.sql), ...testNames(properties)]);
  if (standIns) diagnostics.push(standIns);
  diagnostics.push(
    ...partialGraphNotice([
      ...modelSources.map((m) => ({ file: m.file, text: m.sql })),
      ...files.macros.map((m) => ({ file: m.file, text: m.source })),
      // A package's macros read the graph as often as the project's (dbt-project-evaluator's
      // models call its own), where something reaches them: an installed helper that only
      // run-operation calls (dbt-codegen's) changes nothing a command builds.
      ...packageMacrosReached(files, properties, dbt?.file),
    ]),
  );

  const messages: string[] = [];
  for (const m of models.values()) {
    for (const said of m.entry.analyzed?.raw.messages ?? []) {
      if (said.kind === 'warn') diagnostics.push(warning('template-warning', said.message, said.at ?? { file: m.source.file }));
      else messages.push(said.message);
    }
  }

  const exposures = resolveExposures(
    properties.exposures,
    (name, version) => refTarget(properties.versioned, name, version),
    (name) => {
      const n = nodes.get(name);
      return n === undefined ? undefined : n.kind === 'source' ? 'source' : 'model';
    },
    diagnostics,
  );
  const sourceChecks = joinedChecks(ownSourceTests, onSources);
  const runHooks = dbt ? runHooksWithPackages(dbt.runHooks, files.packages?.installed ?? [], diagnostics) : NO_RUN_HOOKS;
  renderer.knowGraph({ exposures, sourceChecks, unrunTests, folders, root: files.root, runHooks: { hooks: runHooks, schema: targetSchema } });
  unreadableDeclarations(diagnostics);
  const analysis: Analysis = {
    root: files.root,
    projectName,
    settings,
    pipelines,
    nodes,
    graph,
    vars,
    packageVars: scopes.packageScopes(),
    renderer,
    disabled,
    emptyFiles,
    pythonTags,
    pythonReads: pythonReadsOf,
    sourceChecks,
    freeTests: unrunTests,
    runHooks,
    database: target.database,
    diagnostics,
    messages,
    exposures,
  };
  if (cache) {
    // Kept when a model's text matters to the rest of the project only through its refs and config.
    const alone = !hasErrors(diagnostics) && unsupported.length === 0 && macros.tainted.size === 0 && packages.standIns.length === 0 && tests.tests.length === 0 && properties.unitTests.length === 0;
    const diagnosed = new Set(diagnostics.flatMap((d) => [d.location?.file, ...(d.related ?? []).map((r) => r.location.file)]).filter((f) => f !== undefined));
    cache.saved = alone
      ? { files, key: reuseKey(options, validated), analysis, models, existingRelations: options.existingRelations, existing: existed, diagnosed, engine, vars: scopes, project, relationOf, disabledSources, packages, callsRuntimeMacro, dbtContext, nameSet, names, nodeContext, lake: settings.lake !== undefined }
      : undefined;
  }
  return analysis;
}

/** A model rendered and configured, waiting for its node (see modelNode). */
interface PendingModel {
  readonly source: ModelSource;
  readonly sites: CallSites;
  readonly config: ModelConfig;
  readonly refs: readonly string[];
  readonly sources: readonly SourceCall[];
  readonly checks: readonly Check[];
  readonly analyzed: AnalyzedModel;
  readonly contract?: ModelContract;
  readonly hookRefs: readonly RefSite[];
  readonly columns: readonly ColumnProperties[];
}

/** What a model's node reads of the rest of the project. */
interface NodeContext {
  readonly nodes: ReadonlyMap<string, PipeNode>;
  /** How pipe names a relation of the warehouse's own database (see ownRelationName). */
  readonly ownRelation: (schema: string, name: string) => string;
  readonly disabled: ReadonlyMap<string, Location>;
  /** The disabled models that are empty files. */
  readonly emptyFiles: ReadonlySet<string>;
  readonly disabledSources: ReadonlyMap<string, Location>;
  readonly models: ReadonlyMap<string, RenderModel>;
  /** Every model and seed name, with the files left out. */
  readonly known: ReadonlySet<string>;
  readonly allNames: readonly string[];
  /** The Python models not switched off: pipe builds none, and nothing read from one. */
  readonly python: ReadonlySet<string>;
  /** The versions of models with versions, by their models' names. */
  readonly versions: ReadonlyMap<string, VersionOf>;
  /** Where a macro calls ref('name'), when one does. */
  readonly macroRef: (name: string) => Location | undefined;
}

/** A model's node: where it reads each of its upstream, and the errors of its ref() and source() calls. */
function modelNode(p: PendingModel, ctx: NodeContext): { node: ModelNode; refDiagnostics: Diagnostic[] } {
  const { source, sites: calls, config, refs, sources, checks, analyzed, contract, hookRefs, columns } = p;
  const refDiagnostics: Diagnostic[] = [];
  const sites: RefSite[] = refs.map((r) => ({ name: r, location: refLocation(source, calls, r) }));
  // A relationships check reads its parent model, and a query check what it names: they are built first.
  for (const c of checks) {
    // Not the model itself: a relationships check of its own rows (manager_id to id) reads the data it checks.
    for (const r of c.refs) if (r.model !== source.name && !sites.some((s) => s.name === r.model)) sites.push({ name: r.model, location: c.location });
  }
  // So does a hook: what it reads is built first (dbt adds a hook's refs to the model's too).
  for (const r of hookRefs) if (!sites.some((s) => s.name === r.name)) sites.push(r);
  const upstream: string[] = [];
  for (const site of sites) {
    const target = ctx.nodes.get(site.name);
    if (ctx.emptyFiles.has(site.name)) {
      refDiagnostics.push(
        error('disabled-ref', `ref('${site.name}'): ${ctx.disabled.get(site.name)!.file} is empty, and no model is built from it`, site.location, {
          hint: `write ${site.name}'s query`,
        }),
      );
    } else if (ctx.disabled.has(site.name)) {
      refDiagnostics.push(
        error('disabled-ref', `ref('${site.name}'): ${site.name} is disabled (enabled: false)`, site.location, {
          related: [{ message: 'disabled here', location: ctx.disabled.get(site.name)! }],
          hint: `enable ${site.name} again, or disable ${source.name} too`,
        }),
      );
    } else if (ctx.models.has(site.name) || (target !== undefined && target.kind !== 'source')) {
      upstream.push(site.name);
    } else if (ctx.python.has(site.name)) {
      // Stops only the commands that would build this model (a selection that leaves it out goes on).
      refDiagnostics.push({
        ...error('python-ref', `ref('${site.name}'): ${site.name} is a Python model, which pipe does not build, so ${source.name} cannot be built from it`, site.location, {
          hint: `leave both out, and what reads ${source.name} (--exclude ${site.name} ${source.name}+), or build ${site.name} outside pipe, declare its table as a source and read it with source()`,
        }),
        blocks: [source.name],
      });
    } else if (!ctx.known.has(site.name)) {
      // Not in the model's text: a macro it calls makes the ref(), and the error is at the macro's call.
      const inMacro = site.location.line === undefined ? ctx.macroRef(site.name) : undefined;
      refDiagnostics.push(
        error('unknown-ref', `ref('${site.name}'): no model or seed is named '${site.name}'${inMacro ? `, called as ${source.name} renders` : ''}`, inMacro ?? site.location, {
          hint:
            target?.kind === 'source'
              ? `${site.name} is a source: read it with source('${target.source}', '${target.table}')`
              : didYouMean(site.name, ctx.allNames),
          ...(inMacro ? { related: [{ message: `reached through ${source.name}`, location: { file: source.file } }] } : {}),
        }),
      );
    }
  }
  for (const call of sources) {
    const site = { name: sourceName(call.source, call.table), location: { file: source.file, ...calls.sourceCall(call.source, call.table) } };
    const problem = sourceCallProblem(call, site.location, ctx.nodes, ctx.disabledSources);
    if (problem) {
      refDiagnostics.push(problem);
      continue;
    }
    sites.push(site);
    upstream.push(site.name);
  }
  // A query check reads the sources it names too: they are inputs of the model's data version.
  for (const c of checks) {
    if (c.kind !== 'query' || c.template === undefined) continue;
    for (const m of c.template.matchAll(/\bsource\s*\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)/g)) {
      const name = sourceName(m[1], m[2]);
      if (ctx.nodes.get(name)?.kind === 'source' && !upstream.includes(name)) upstream.push(name);
    }
  }
  const timeSpine = ctx.models.get(source.name)!.properties?.timeSpine;
  // Object.assign, not properties written after spreads, which V8 defines on a slow path.
  const node: ModelNode = Object.assign(
    {
      kind: 'model' as const,
      name: source.name,
      file: source.file,
      config,
      tags: config.tags,
      relation: ctx.ownRelation(config.schema, config.alias ?? source.name),
      refs: sites,
      upstream,
      fqn: ctx.models.get(source.name)!.fqn,
    },
    propertiesFileOf(ctx.models.get(source.name)!.properties),
    { checks, columns },
    contract === undefined ? {} : { contract },
    hookRefs.length === 0 ? {} : { hookRefs },
    { readsItself: analyzed.raw.sql.includes(refToken(source.name)) },
    ctx.versions.has(source.name) ? { version: ctx.versions.get(source.name)! } : {},
    analyzed.uniqueKeyLocation === undefined ? {} : { uniqueKeyAt: analyzed.uniqueKeyLocation },
    analyzed.partitionByLocation === undefined ? {} : { partitionByAt: analyzed.partitionByLocation },
    analyzed.updatedAtLocation === undefined ? {} : { snapshotTimeAt: analyzed.updatedAtLocation },
    analyzed.schemaChangeLocation === undefined ? {} : { schemaChangeAt: analyzed.schemaChangeLocation },
    analyzed.externalFileLocation === undefined ? {} : { externalFileAt: analyzed.externalFileLocation },
    analyzed.access === undefined ? {} : { access: analyzed.access },
    analyzed.group === undefined ? {} : { group: analyzed.group },
    analyzed.meta === undefined ? {} : { meta: analyzed.meta },
    analyzed.configuredNames === undefined ? {} : { configuredNames: analyzed.configuredNames },
    timeSpine === undefined ? {} : { timeSpine },
  );
  return { node, refDiagnostics };
}

/** A Python model pipe would have to build: refused at its file, with the ways to go on. */
function pythonModelError(model: PythonModelFile): Diagnostic {
  // It stops the commands that would build it (see pythonModelsBuilt), not one that leaves it out.
  const d = error('unsupported', `${model.file} is a Python model: pipe builds SQL models only`, { file: model.file }, {
    hint: `write it as a SQL model; --exclude ${model.name} builds the rest; or build it outside pipe, declare its table as a source, and switch the model off (+enabled: false for it in dbt_project.yml, or config: enabled: false in its properties), as dbt leaves a disabled model out`,
  });
  return { ...d, blocks: [model.name] };
}

/** The Python models each grouped refusal names (see pythonModelsError), for it to be said of those a command builds. */
const pythonRefusals = new WeakMap<Diagnostic, { readonly models: readonly PythonModelFile[]; readonly holdsSql: (folder: string) => boolean }>();

/**
 * `d` as a command that builds `built` says it: a refusal of Python models names those it
 * builds alone (`pipe run -s p1` is stopped by p1, not told of p2 and given --exclude p1 p2).
 */
export function saidOfBuilt(d: Diagnostic, built: ReadonlySet<string>): Diagnostic {
  const group = pythonRefusals.get(d);
  const models = group?.models.filter((m) => built.has(m.name));
  if (group === undefined || models === undefined || models.length === 0 || models.length === group.models.length) return d;
  return models.length === 1 ? pythonModelError(models[0]) : pythonModelsError(models, group.holdsSql);
}

/**
 * Python models pipe would have to build, many of them: one refusal naming them, at the first,
 * with the folder they share to leave them out by (a project's raw layer of Python models).
 */
function pythonModelsError(models: readonly PythonModelFile[], holdsSql: (folder: string) => boolean): Diagnostic {
  const folders = models.map((m) => m.file.split('/').slice(0, -1));
  const shared: string[] = [];
  for (let i = 0; folders.every((f) => i < f.length && f[i] === folders[0][i]); i++) shared.push(folders[0][i]);
  // Their folder when it is a folder of models below the project's models folder, and holds them alone.
  const folder = shared.length > 1 && !holdsSql(shared.join('/')) ? shared.join('/') : undefined;
  const named = models.map((m) => m.name);
  const shown = named.length > 5 ? `${named.slice(0, 5).join(', ')} and ${named.length - 5} more` : `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`;
  const d = error('unsupported', `${models.length} models are Python models (${shown}): pipe builds SQL models only`, { file: models[0].file }, {
    hint: `write them as SQL models; ${folder !== undefined ? `--exclude ${folder}` : `--exclude ${named.join(' ')}`} builds the rest; or build them outside pipe, declare their tables as sources, and switch the models off (+enabled: false for their folder in dbt_project.yml), as dbt leaves a disabled model out`,
  });
  return { ...d, blocks: named };
}

/** What a model's text gives before it is rendered: its template, what pipe cannot render in it, whether it renders again at run. */
function modelEntry(source: ModelSource, yaml: unknown, engine: TemplateEngine, packages: PackageScope, callsRuntimeMacro: (text: string) => boolean, deferred = false): CachedModel {
  const unsupported = unsupportedUses(source.file, source.sql, packages);
  // A template whose render is kept (see kept-renders.ts) is compiled by the first render that needs it.
  const compiled: CompiledTemplate | Diagnostic =
    unsupported.length > 0 ? error('unsupported', 'not rendered', { file: source.file }) : deferred ? { file: source.file, source: source.sql, deferred: true } : engine.compile(source.file, source.sql, source.package?.name);
  // A template of text, ref(), source(), config() and date variables alone (simple-template.ts) renders once.
  const runtime = !('severity' in compiled) && compiled.simple === undefined && (usesIntrospection(source.sql) || callsRuntimeMacro(source.sql));
  return { sql: source.sql, file: source.file, yaml, compiled, unsupported, runtime, renders: new Map(), sites: new CallSites(source.sql) };
}

/** A model's config from one render, with its checks (read by `readChecks`) and where its settings are. */
function analyzedModel(
  m: RenderModel,
  raw: RawRender,
  names: number,
  dbtContext: DbtContext,
  readChecks: (checks: unknown, at: (path: readonly string[]) => Location, found: Diagnostic[]) => Check[],
): AnalyzedModel {
  const y = m.source.yaml;
  const found: Diagnostic[] = [];
  const { config, unused, locate, described } = mergedConfig(m, raw.configCalls, dbtContext, found);
  // Places are looked up only for what is set: most models set neither.
  // A config() call's enabled wins; else where dbt_project.yml or a properties file switched it off.
  const disabledAt = config.enabled ? undefined : Object.hasOwn(raw.configCalls, 'enabled') ? configKeyLocation(m.source, m.sites, raw.configCalls, 'enabled') : locate('enabled');
  const checks = y && y.data.checks !== undefined ? readChecks(y.data.checks, (path) => ({ file: y.file, line: y.pathLine(path) ?? y.keyLine('checks') }), found) : [];
  if (checks.length > 0 && config.kind === 'ephemeral' && config.enabled) {
    found.push(
      error('bad-check', `${m.source.name} is ephemeral: it has no table for its checks to read, and they would never run`, { file: y!.file, line: y!.keyLine('checks') }, {
        hint: "make it a view (materialized: view) to check what it returns, or check the model that reads it",
      }),
    );
  }
  const contractLocation = config.contract ? locate('contract') : undefined;
  const uniqueKeyLocation = 'unique_key' in config && config.unique_key !== undefined ? locate('unique_key') : undefined;
  const partitionByLocation =
    'partition_by' in config && config.partition_by !== undefined
      ? locate('partition_by')
      : 'event_time' in config && config.event_time !== undefined
        ? locate('event_time')
        : undefined;
  const schemaChangeLocation = config.materialized === 'incremental' ? locate('on_schema_change') : undefined;
  const updatedAtLocation = 'updated_at' in config && config.updated_at !== undefined ? locate('updated_at') : undefined;
  const externalFileLocation = config.kind === 'external' ? locate(config.location === undefined ? 'materialized' : 'location') : undefined;
  return Object.assign(
    {
      raw,
      yaml: y,
      base: m.base.key,
      file: m.source.file,
      names,
      config,
      unused,
      disabledAt,
      contractLocation,
      uniqueKeyLocation,
      partitionByLocation,
      updatedAtLocation,
      schemaChangeLocation,
      externalFileLocation,
      checks,
      configDiagnostics: found,
    },
    described,
  );
}

/** The tests the properties files declare, by the name they are declared with (`dbt_utils.at_least_one`). */
function testNames(properties: Properties): string[] {
  const names = new Set<string>();
  for (const n of [...properties.models.values(), ...properties.seeds.values()]) for (const t of n.tests) names.add(t.test);
  for (const t of properties.sources) for (const test of t.tests) names.add(test.test);
  return [...names];
}

/**
 * The definitions of installed packages' macros that the project's templates reach: its models
 * (a package's too), singular tests, macros, tests, and the hooks of its dbt_project.yml, its
 * packages' and its properties files (read as the Jinja in their text).
 */
function packageMacrosReached(files: ProjectFiles, properties: Properties, dbtFile: YamlSource | undefined): { readonly file: string; readonly text: string; readonly line: number }[] {
  if ((files.packages?.installed ?? []).length === 0) return [];
  const own = new Set(files.macros.map((m) => m.file));
  const hooks = [dbtFile, ...(files.packages?.installed ?? []).map((p) => p.project), ...files.properties].map((y) => (y ? JSON.stringify(y.data) : ''));
  const templates = [...files.models.map((m) => m.sql), ...files.singularTests.map((t) => t.sql), ...files.macros.map((m) => m.source), ...hooks];
  return reachedMacros(files, templates, testCalls(properties)).filter((d) => !own.has(d.file));
}

/** The names of the macros a properties file's tests call (a test `x` is the macro `test_x`, or `x` in dbt_utils' style), for finding definitions pipe cannot render. */
function testCalls(properties: Properties): string[] {
  return [...new Set(testNames(properties).map((t) => t.split('.').pop()!))].flatMap((n) => [n, `test_${n}`]);
}

/**
 * A source unknown where a YAML file could not be read may be one that file declares: its
 * error says so rather than to declare it (a duplicate key in a properties file made every
 * source() of the file's sources "not declared", with a hint to declare them).
 */
function unreadableDeclarations(diagnostics: Diagnostic[]): void {
  const unreadable = [...new Set(diagnostics.flatMap((d) => (d.code === 'yaml-syntax' && d.location && /\.ya?ml$/.test(d.location.file) ? [d.location.file] : [])))];
  if (unreadable.length === 0) return;
  const hint = `${unreadable.join(', ')} could not be read (see ${unreadable.length === 1 ? 'its error' : 'their errors'}): a source declared there is unknown until it is fixed`;
  for (let i = 0; i < diagnostics.length; i++) if (diagnostics[i].code === 'unknown-source') diagnostics[i] = { ...diagnostics[i], hint };
  // The files that set vars: one that could not be read leaves its vars unset.
  const settings = unreadable.filter((f) => f === 'pipe.yaml' || f === 'dbt_project.yml' || /^pipelines\/[^/]+\.ya?ml$/.test(f));
  if (settings.length === 0) return;
  const unsetHint = `${settings.join(', ')} could not be read (see ${settings.length === 1 ? 'its error' : 'their errors'}): a var set there is unset until it is fixed`;
  for (let i = 0; i < diagnostics.length; i++) if (/^var '[^']*' is not set/.test(diagnostics[i].message)) diagnostics[i] = { ...diagnostics[i], hint: unsetHint };
}

/** Gives each model its unit tests, checked against what the model reads (see dbt/unit-tests.ts). */
function withUnitTests(
  nodes: Map<string, PipeNode>,
  reads: ReadonlyMap<string, readonly string[]>,
  askIsIncremental: ReadonlySet<string>,
  files: ProjectFiles,
  properties: Properties,
  disabled: ReadonlyMap<string, Location>,
  engine: TemplateEngine,
  /** Renders Jinja in the YAML, as dbt's parse does (`execute` false). */
  renderSetting: RenderSetting,
  /** Renders a fixture file's Jinja, as dbt compiles it with its test (see FIXTURE_PHASE). */
  fixtureRender: RenderSetting,
  diagnostics: Diagnostic[],
): void {
  if (properties.unitTests.length === 0) return;
  const project = files.dbtProject;
  const projectName = typeof project?.data.name === 'string' ? project.data.name : undefined;
  const tests = unitTests(
    project && projectName !== undefined ? properties.unitTests.map((t) => withProjectConfig(t, project, projectName)) : properties.unitTests,
    {
      model: (name) => {
        const node = nodes.get(name);
        // A model whose file has errors (said at the file) is no model its tests can run on, and no unknown one either.
        if (node?.kind !== 'model') return disabled.has(name) || (node === undefined && files.models.some((m) => m.name === name)) ? 'disabled' : undefined;
        return { incremental: modelKind(node.config.kind).isIncremental({ tableExists: true, fullRefresh: false }), asksIsIncremental: askIsIncremental.has(name), reads: reads.get(name) ?? [] };
      },
      modelNames: [...nodes.values()].filter((n) => n.kind === 'model').map((n) => n.name),
      versioned: properties.versioned,
      fixtures: files.fixtures ?? [],
      callable: (name) => engine.callable(name),
      macroNames: engine.macroNameList(),
      namespacedMacroNames: () => engine.namespacedMacroNames(),
      renderSql: (text, at, fromFile) => String((fromFile ? fixtureRender : renderSetting)(text, at)),
    },
    diagnostics,
  );
  for (const t of tests) {
    const node = nodes.get(t.model);
    if (node?.kind === 'model') nodes.set(t.model, { ...node, unitTests: [...(node.unitTests ?? []), t] });
  }
}

/** The checks of each source: its own tests, then those that run with them. */
function joinedChecks(own: ReadonlyMap<string, readonly Check[]>, more: ReadonlyMap<string, readonly Check[]>): ReadonlyMap<string, readonly Check[]> {
  if (more.size === 0) return own;
  const out = new Map(own);
  for (const [source, checks] of more) out.set(source, [...(own.get(source) ?? []), ...checks]);
  return out;
}

/**
 * Attaches each dbt test to the node that runs it (see dbt/attach-tests.ts), and makes the
 * nodes a test reads that node's upstream: every one of them is published before the test
 * runs. Gives the tests that run with a source table's tests.
 */
function withTests(nodes: Map<string, PipeNode>, tests: readonly DbtTest[], diagnostics: Diagnostic[]): { readonly sources: ReadonlyMap<string, readonly Check[]>; readonly unrun: readonly Check[] } {
  if (tests.length === 0) return { sources: new Map(), unrun: [] };
  const graph = makeGraph(new Map([...nodes.values()].map((n) => [n.name, n.upstream.filter((u) => nodes.has(u))])));
  const built = (name: string) => {
    const n = nodes.get(name);
    return n?.kind === 'seed' || (n?.kind === 'model' && isBuilt(n.config.kind));
  };
  const attachedTests = attachTests(tests, { graph, built, source: (name) => nodes.get(name)?.kind === 'source' }, diagnostics);
  for (const [name, attached] of attachedTests.nodes) {
    const node = nodes.get(name);
    if (node?.kind !== 'model' && node?.kind !== 'seed') throw new Error(`internal error: a test attached to ${name}, which is not built`);
    const sites = attached.reads.filter((r, i) => !node.upstream.includes(r.name) && attached.reads.findIndex((x) => x.name === r.name) === i);
    const upstream = [...node.upstream, ...sites.map((r) => r.name)];
    const checks = [...node.checks, ...attached.checks];
    // A model's refs locate the edges of a cycle: an edge a test adds points at the test.
    // What it reads itself stays known: dbt's graph lists a node's own refs, not its tests' reads.
    const ownUpstream = node.ownUpstream ?? node.upstream;
    nodes.set(name, node.kind === 'model' ? Object.assign({}, node, { checks, upstream, ownUpstream, refs: [...node.refs, ...sites] }) : Object.assign({}, node, { checks, upstream, ownUpstream }));
  }
  // A seed's checks are part of what its load is: changed, the seed loads again and is checked.
  for (const [name, node] of nodes) {
    if (node.kind !== 'seed' || node.checks.length === 0) continue;
    const loadHash = node.loadHash ?? node.hash;
    nodes.set(name, { ...node, loadHash, hash: seedHashWithChecks(loadHash, checksText(node.checks)) });
  }
  return { sources: attachedTests.sources, unrun: attachedTests.unrun };
}


/**
 * What a dbt naming macro is told of a node (a test's, when its failing rows are kept); `config`
 * gives its merged config (tags, meta, materialized, ...), made only when a macro asks.
 */
type NamedNode = { name: string; fqn: readonly string[]; file: string; kind: 'model' | 'seed' | 'snapshot' | 'test'; config?: () => Readonly<Record<string, unknown>> };

/**
 * dbt's generate_schema_name and generate_alias_name: the project's own macro of that name when
 * it has one (called with the custom schema or alias, or none, and the node), else dbt's
 * default (`<target>_<custom>` for a schema; the alias, else the node's name). A node of an
 * installed package that defines its own is named by the package's, as dbt does, even when the
 * project defines one too.
 */
function dbtNamers(engine: TemplateEngine, project: string, targetSchema: string, database: string, folders: GraphFolders, scopes: VarScopes, diagnostics: Diagnostic[]): Pick<DbtContext, 'dbtSchema' | 'dbtAlias'> {
  const schema = macroNamer(engine, project, 'generate_schema_name', (custom) => dbtSchemaName(targetSchema, custom), (answer) => {
    const problem = schemaNameProblem(answer, true);
    return problem !== undefined ? `a schema ${problem}` : reservedSchema(answer);
  });
  const alias = macroNamer(engine, project, 'generate_alias_name', (custom, node) => custom?.trim() || node.name, (answer) => aliasProblem(answer, true));
  return { dbtSchema: schema, dbtAlias: alias };

  function macroNamer(
    engine: TemplateEngine,
    project: string,
    name: 'generate_schema_name' | 'generate_alias_name',
    byDefault: (custom: string | undefined, node: NamedNode) => string,
    problemOf: (answer: string) => string | undefined,
  ): (custom: string | undefined, node: NamedNode) => string {
    // The project's own macro of that name, else dbt's when it dispatches to the project's (`default__generate_schema_name`).
    const own = engine.hasMacro(name) ? name : engine.dispatchesAway(name) ? `dbt.${name}` : undefined;
    // Asked before rendering and again with the config: answered (and reported) once.
    const answers = new Map<string, string>();
    return (custom, node) => {
      const pkg = node.fqn[0] ?? project;
      const macro = pkg !== project && engine.hasNamespacedMacro(pkg, name) ? `${pkg}.${name}` : own;
      if (macro === undefined) return byDefault(custom, node);
      const config = namedConfig(node.config?.() ?? {});
      const key = answerKey(node, custom, config);
      const known = key === undefined ? undefined : answers.get(key);
      if (known !== undefined) return known;
      // The node as dbt's is when it is named: its config, tags and meta as merged so far, its
      // schema and database the target's, its alias still its name.
      const dbtNode = {
        name: node.name,
        alias: node.name,
        fqn: node.fqn,
        resource_type: node.kind,
        package_name: pkg,
        ...nodePaths(node.file, pkg, node.kind === 'seed' ? 'seeds' : node.kind === 'snapshot' ? 'snapshots' : node.kind === 'test' ? 'tests' : 'models', folders),
        unique_id: `${node.kind}.${pkg}.${node.name}`,
        database,
        schema: targetSchema,
        tags: config.tags,
        meta: config.meta,
        config,
        description: '',
        language: 'sql',
      };
      const answer = engine.callMacro(macro, [custom ?? null, dbtNode], node.file, scopes.of(pkg === project ? undefined : pkg));
      const problem = typeof answer === 'string' ? problemOf(answer) : undefined;
      let named: string;
      if (typeof answer === 'string' && problem === undefined) named = answer;
      else {
        diagnostics.push(typeof answer === 'string' ? error('bad-config', `${macro} gives '${answer}' for ${node.name}: ${problem}`, { file: node.file }) : answer);
        named = byDefault(custom, node);
      }
      if (key !== undefined) answers.set(key, named);
      return named;
    };
  }
}

/**
 * A source declared over the table a seed of the project loads (a dbt habit: seeds in a `raw`
 * schema, sources over them) reads what that seed loads: the source waits for the seed, so a
 * model reading the source is built after it, in the same run, and the seed is loaded when it
 * is missing or changed.
 */
function loadSourcesFromSeeds(nodes: Map<string, PipeNode>, database: string): void {
  const seeds = new Map<string, string>();
  for (const n of nodes.values()) if (n.kind === 'seed') seeds.set(n.relation.toLowerCase(), n.name);
  if (seeds.size === 0) return;
  for (const n of [...nodes.values()]) {
    if (n.kind !== 'source') continue;
    const table = ownTableOf(n, database);
    const seed = table === undefined ? undefined : seeds.get(table);
    if (seed !== undefined) nodes.set(n.name, { ...n, upstream: [seed], loadedBy: seed });
  }
}

/**
 * The table of the warehouse's own database a source reads, as pipe names a model's relation
 * (lower case); undefined for a file, a table function or another database's table. A source
 * may name the warehouse's own database (Fivetran's `database: target.database`).
 */
function ownTableOf(s: SourceNode, database: string): string | undefined {
  if (s.reads.kind !== 'relation') return undefined;
  if (s.reads.database !== undefined && s.reads.database.toLowerCase() !== database.toLowerCase()) return undefined;
  return ownRelationName(database, s.reads.schema, s.reads.identifier).toLowerCase();
}

/**
 * A source's tests that read a model or a seed (a relationships test to `ref('customers')`)
 * cannot run before anything reading the source is built, with the source's own tests: what
 * they read may not be built yet. They are attached as a model's tests are (see
 * attach-tests.ts): with the built node they read, once it is built.
 */
function sourceTestsReadingBuilt(sourceTests: ReadonlyMap<string, readonly Check[]>, nodes: ReadonlyMap<string, PipeNode>): { own: ReadonlyMap<string, readonly Check[]>; readingBuilt: DbtTest[] } {
  const own = new Map<string, readonly Check[]>();
  const readingBuilt: DbtTest[] = [];
  for (const [name, checks] of sourceTests) {
    const kept: Check[] = [];
    for (const check of checks) {
      const readsBuilt = check.refs.some(({ model }) => {
        const kind = nodes.get(model)?.kind;
        return kind === 'model' || kind === 'seed';
      });
      if (readsBuilt) readingBuilt.push({ check, reads: [name, ...check.refs.map((r) => r.model)], on: { kind: 'source', name } });
      else kept.push(check);
    }
    if (kept.length > 0) own.set(name, kept);
  }
  return { own, readingBuilt };
}

/**
 * A source's tests that read a seed's table, or another source that a seed loads (a
 * relationships test between two sources over seeds), run once that seed is loaded: the seed
 * joins the source's upstream. Seeds read nothing, so no cycle can follow.
 */
function sourceTestsWaitForSeeds(nodes: Map<string, PipeNode>, sourceChecks: ReadonlyMap<string, readonly Check[]>): void {
  for (const [name, checks] of sourceChecks) {
    const source = nodes.get(name);
    if (source?.kind !== 'source') continue;
    const seeds = new Set<string>();
    for (const c of checks) {
      for (const { model } of c.refs) {
        const read = nodes.get(model);
        const seed = read?.kind === 'seed' ? read.name : read?.kind === 'source' ? read.loadedBy : undefined;
        if (seed !== undefined && !source.upstream.includes(seed)) seeds.add(seed);
      }
    }
    if (seeds.size > 0) nodes.set(name, { ...source, upstream: [...source.upstream, ...seeds] });
  }
}

/** The column a node's rows say their time in (dbt's `event_time`), for the microbatch models that read it. */
export function eventTimeOf(node: PipeNode): string | undefined {
  switch (node.kind) {
    case 'model':
      return isBuilt(node.config.kind) ? node.config.event_time : undefined;
    case 'seed':
    case 'source':
      return node.eventTime;
    default: {
      const never: never = node;
      throw new Error(`internal error: node ${JSON.stringify(never)}`);
    }
  }
}

/** The nodes that microbatch models read by batch: those whose `event_time` must be a column of their rows. */
export function batchedReads(nodes: ReadonlyMap<string, PipeNode>): Set<string> {
  return new Set([...nodes.values()].flatMap((n) => (n.kind === 'model' && modelKind(n.config.kind).batchedInputs ? n.upstream : [])));
}

/**
 * A seed a microbatch model reads by batch whose `event_time` names no column of its header:
 * every batch would fail on pipe's filter in the engine's words. Said at the header, before
 * anything runs (a seed no microbatch model reads may have it set by its folder, as in dbt).
 */
function undatedSeeds(nodes: ReadonlyMap<string, PipeNode>): Diagnostic[] {
  return [...batchedReads(nodes)].flatMap((name) => {
    const seed = nodes.get(name);
    if (seed?.kind !== 'seed' || seed.eventTime === undefined || seed.header.names.length === 0) return [];
    const time = seed.eventTime.toLowerCase();
    if (seed.header.names.some((c) => c.toLowerCase() === time)) return [];
    return [
      error('bad-config', `event_time of seed ${seed.name} names column '${seed.eventTime}', which its header does not have (${seed.header.names.join(', ')})`, { file: seed.file, line: 1 }, {
        hint: 'name a column of the header in event_time (the seed\'s YAML, or +event_time: in dbt_project.yml)',
      }),
    ];
  });
}

/**
 * A microbatch model none of whose inputs declares `event_time` reads them whole for every
 * batch: its rows outside the batch would fail it. Said before anything runs, as dbt warns.
 */
function unbatchedInputs(nodes: ReadonlyMap<string, PipeNode>): Diagnostic[] {
  return [...nodes.values()].flatMap((n) => {
    if (n.kind !== 'model' || !modelKind(n.config.kind).batchedInputs) return [];
    if (n.upstream.some((u) => nodes.has(u) && eventTimeOf(nodes.get(u)!) !== undefined)) return [];
    return [
      warning('no-batched-input', `${n.name} is a microbatch model, but nothing it reads declares event_time: every batch reads all of its inputs' rows`, { file: n.file }, {
        hint: 'declare event_time on the models, seeds or sources it reads (+event_time: in dbt_project.yml), or keep its rows to the batch with interval_start and interval_end',
      }),
    ];
  });
}

const propertiesFileOf = (entry: { readonly location: Location } | undefined) => (entry ? { propertiesFile: entry.location.file } : {});

/**
 * A source over the table a model of the project writes (see writtenSources) waits for that
 * model, as one over a seed's table waits for the seed: what reads the source is built after the
 * model in the same run, never from the table as an earlier run left it (dbt orders them by
 * luck). Not when the model reads the source itself, directly or through others: that order
 * would be a cycle, and the model reads the table as it was.
 */
function sourcesWaitForWriters(nodes: Map<string, PipeNode>, database: string): void {
  const built = new Map<string, string>();
  for (const n of nodes.values()) if (n.kind === 'model' && isBuilt(n.config.kind)) built.set(n.relation.toLowerCase(), n.name);
  if (built.size === 0) return;
  for (const s of [...nodes.values()]) {
    if (s.kind !== 'source' || s.loadedBy !== undefined) continue;
    const table = ownTableOf(s, database);
    const writer = table === undefined ? undefined : built.get(table);
    if (writer === undefined || s.upstream.includes(writer) || reachable(nodes.get(writer)!.upstream, (n) => nodes.get(n)?.upstream).has(s.name)) continue;
    nodes.set(s.name, { ...s, upstream: [...s.upstream, writer] });
  }
}


/**
 * A model (or snapshot) that writes the table a declared source reads: a source is data the
 * project reads and never builds (loaded by another tool, or a seed: see loadSourcesFromSeeds),
 * and the model's build would replace it. Refused in a pipe project, at the model, where the
 * schema or alias that makes them meet is set; a dbt project, which dbt builds as it is, is told.
 */
function writtenSources(nodes: ReadonlyMap<string, PipeNode>, database: string, dbtProject: boolean): Diagnostic[] {
  const built = new Map<string, ModelNode>();
  for (const n of nodes.values()) if (n.kind === 'model' && isBuilt(n.config.kind)) built.set(n.relation.toLowerCase(), n);
  const out: Diagnostic[] = [];
  for (const s of nodes.values()) {
    if (s.kind !== 'source' || s.loadedBy !== undefined) continue;
    const table = ownTableOf(s, database);
    const model = table === undefined ? undefined : built.get(table);
    if (!model) continue;
    // A dbt project's source over a snapshot's table (its history, read by what the project
    // reports) is a way to read the snapshot: read after it, nothing to say.
    if (dbtProject && model.config.kind === 'snapshot' && s.upstream.includes(model.name)) continue;
    // A table or view is replaced whole; a snapshot or incremental model writes rows into what is there.
    const whole = model.config.kind === 'table' || model.config.kind === 'view';
    const message = `${model.name} writes ${model.relation}, the table source ${s.name} reads: its build would ${whole ? 'replace' : 'change'} what that source holds`;
    const related = [{ message: `source ${s.name} is declared here`, location: s.location }];
    out.push(
      dbtProject
        ? warning('source-written', message, { file: model.file }, {
            related,
            hint: `pipe builds it as dbt does${s.upstream.includes(model.name) ? ', and what reads the source after it' : ''}; if the source is data loaded by another tool, give the model another schema or alias`,
          })
        : { ...error('source-written', message, { file: model.file }, { related, hint: 'give the model another schema or alias, or read it with ref() instead of declaring it a source' }), blocks: [model.name] },
    );
  }
  return out;
}

/**
 * A model's ref() of a model that is `access: private` to a group the model is not in (its
 * relationships tests' too, which dbt gives the model's group): dbt refuses the reference as it
 * parses the project, and so does pipe, at the ref(), for the commands that build the model.
 */
function privateRefs(nodes: ReadonlyMap<string, PipeNode>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const n of nodes.values()) {
    if (n.kind !== 'model') continue;
    for (const site of n.refs) {
      const t = nodes.get(site.name);
      if (t?.kind !== 'model' || t.access !== 'private' || t.name === n.name) continue;
      if (n.group !== undefined && n.group === t.group) continue;
      const who = /\.ya?ml$/i.test(site.location.file) ? `a test of ${n.name}` : n.name;
      const message =
        t.group === undefined
          ? `${who} reads ${t.name}, which is private (access: private) and in no group: dbt refuses every ref() of it`
          : `${who} reads ${t.name}, which is private to the group '${t.group}' (access: private): dbt refuses a ref() from ${n.group === undefined ? 'a model in no group' : `the group '${n.group}'`}`;
      const hint = t.group === undefined ? `give ${t.name} a group, or make it protected or public` : `put ${n.name} in the group '${t.group}', or make ${t.name} protected or public`;
      out.push({ ...error('private-ref', message, site.location, { hint }), blocks: [n.name] });
    }
  }
  return out;
}

/** Two nodes that would write one relation (an alias, or a schema, makes them meet): dbt refuses, and so does pipe. */
function sameRelations(nodes: ReadonlyMap<string, PipeNode>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, PipeNode>();
  for (const n of nodes.values()) {
    // Sources are only read: two may read one table, and a model may write what another project reads as a source.
    if (n.kind === 'source' || (n.kind === 'model' && !isBuilt(n.config.kind))) continue;
    const key = n.relation.toLowerCase();
    const other = seen.get(key);
    if (!other) {
      seen.set(key, n);
      continue;
    }
    out.push(
      error('duplicate-relation', `${other.name} and ${n.name} would both be written to ${n.relation}`, { file: n.file }, {
        related: [{ message: `${other.name} is defined here`, location: { file: other.file } }],
        hint: 'give one of them another alias or schema',
      }),
    );
  }
  return out;
}

/** The external models that are built, with where their file is set (see external-files.ts). */
function* externalWriters(nodes: ReadonlyMap<string, PipeNode>): Iterable<ExternalWriter> {
  for (const n of nodes.values()) if (n.kind === 'model' && n.config.kind === 'external') yield { name: n.name, config: n.config, at: n.externalFileAt ?? { file: n.file } };
}

/**
 * The graph of the nodes and its cycles. In watch mode a save rarely changes an edge: when the
 * nodes are the same names with the same upstream lists, the previous graph and cycles stand,
 * and a project of thousands of models is not walked again for cycles.
 */
function graphOf(nodes: ReadonlyMap<string, PipeNode>, cache: AnalysisCache | undefined): { graph: Graph; cycles: string[][] } {
  const previous = cache?.graph;
  if (previous && previous.upstream.size === nodes.size) {
    let same = true;
    const rebuilt: PipeNode[] = [];
    for (const n of nodes.values()) {
      const before = previous.upstream.get(n.name);
      if (before === n.upstream) continue;
      if (!before || before.length !== n.upstream.length || before.some((u, i) => u !== n.upstream[i])) {
        same = false;
        break;
      }
      rebuilt.push(n);
    }
    if (same) {
      for (const n of rebuilt) previous.upstream.set(n.name, n.upstream);
      return previous;
    }
  }
  const graph = makeGraph(new Map([...nodes.values()].map((n) => [n.name, n.upstream.filter((u) => nodes.has(u))])));
  const result = { graph, cycles: findCycles(graph), upstream: new Map([...nodes.values()].map((n) => [n.name, n.upstream])) };
  if (cache) cache.graph = result;
  return result;
}

/** How a project's dbt sources of config apply: a dbt project's folder configs and schema names. */
interface DbtContext {
  /** In a dbt project, a node's schema from its custom schema, as dbt's generate_schema_name gives it. */
  readonly dbtSchema?: (custom: string | undefined, node: NamedNode) => string;
  /** In a dbt project, a node's relation name from its alias (or none), as dbt's generate_alias_name gives it. */
  readonly dbtAlias?: (custom: string | undefined, node: NamedNode) => string;
  /** Collects the settings pipe leaves aside, by key, for the notice. */
  readonly unused: UnusedSettings;
  /** The materializations and incremental strategies the project or an installed package defines. */
  readonly owned?: OwnDefinitions;
  /** How pipe names a relation of the warehouse's own database (see ownRelationName). */
  readonly ownRelation: (schema: string, name: string) => string;
  /** The warehouse's own database (target.database): a node's `database:` naming it changes nothing. */
  readonly database: string;
  /** The databases the profile attaches, by name, where each is attached. */
  readonly attached?: ReadonlyMap<string, Location | undefined>;
  /** dbt-duckdb's default: an incremental model with no strategy, key or partition appends (a dbt project's). */
  /** A dbt project's: an incremental model without strategy, key or partition appends; a name may start with a digit. */
  readonly dbtProject?: boolean;
  /** The analysis is of a full refresh (`--full-refresh`): the configs rendered with flags.FULL_REFRESH true. */
  readonly fullRefresh?: boolean;
  /** The column types dbt_project.yml declares for folders of seeds, by place and column: whether any seed has the column. */
  readonly folderColumnTypes: Map<string, { readonly column: string; readonly location: Location; matched: boolean }>;
}

/**
 * A folder's column_types (dbt_project.yml) types the seeds of the folder that have the
 * column, as dbt's does; from a seed without it, the declaration is taken away (recorded,
 * so that one no seed has is said once, see unmatchedFolderColumnTypes).
 */
function folderTypesApplied(
  names: readonly string[],
  columnTypes: Record<string, string>,
  columnTypeLocations: Record<string, Location>,
  folder: DbtContext['folderColumnTypes'],
): void {
  const have = new Set(names.map((n) => n.toLowerCase()));
  for (const [column, location] of Object.entries(columnTypeLocations)) {
    if (location.file !== DBT_PROJECT_FILE) continue;
    const key = `${location.line ?? ''}\u0000${column}`;
    const found = have.has(column.toLowerCase());
    const known = folder.get(key);
    if (known) known.matched ||= found;
    else folder.set(key, { column, location, matched: found });
    if (found) continue;
    delete columnTypes[column];
    delete columnTypeLocations[column];
  }
}

/** A folder's column type that no seed it applies to has: a misspelt column, most likely. */
function unmatchedFolderColumnTypes(folder: DbtContext['folderColumnTypes']): Diagnostic[] {
  return [...folder.values()]
    .filter((t) => !t.matched)
    .map((t) => warning('unknown-column', `column_types names column '${t.column}', which no seed it applies to has: it types nothing`, t.location));
}

/**
 * Whose materialization or incremental strategy of a name the project or an installed package
 * defines (a `{% materialization %}` block for DuckDB or any adapter; a `get_incremental_<name>_sql`
 * macro), for the refusal that names it.
 */
function ownDefinitions(engine: TemplateEngine, installed: readonly { readonly name: string }[]): OwnDefinitions {
  const whose = (defines: (has: (macro: string) => boolean) => boolean) => {
    if (defines((macro) => engine.hasMacro(macro))) return "the project's";
    const pkg = installed.find((p) => defines((macro) => engine.hasNamespacedMacro(p.name, macro)));
    return pkg === undefined ? undefined : `the package ${pkg.name}'s`;
  };
  return {
    materialization: (name) => whose((has) => ['duckdb', 'default'].some((adapter) => has(`materialization_${name}_${adapter}`))),
    strategy: (name) => whose((has) => has(`get_incremental_${name}_sql`)),
  };
}

/** What a naming macro's answer for a node is kept under; undefined for a config that is no plain data (asked again each time). */
function answerKey(node: NamedNode, custom: string | undefined, config: Readonly<Record<string, unknown>>): string | undefined {
  try {
    return `${node.kind}:${node.name}\u0000${custom ?? '\u0001'}\u0000${JSON.stringify(config)}`;
  } catch {
    return undefined;
  }
}

/** A node's merged config as mergeConfig gives it to the naming macros, made without naming the node. */
function configBeforeNaming(resource: Resource, file: string, base: BaseConfig, calls: Readonly<Record<string, unknown>>, database: string): Readonly<Record<string, unknown>> {
  let seen: Readonly<Record<string, unknown>> = {};
  const names: DbtNames = {
    database,
    schema: (custom, config) => {
      seen = config;
      return custom ?? '';
    },
    alias: () => undefined,
  };
  mergeConfig(resource, base, calls, () => ({ file }), names, []);
  return seen;
}

/**
 * A node's merged config as dbt's node holds it when a naming macro is called: its tags a list,
 * its meta a mapping, enabled; keys left unset are not in it.
 */
function namedConfig(record: Readonly<Record<string, unknown>>): Record<string, unknown> & { readonly tags: unknown[]; readonly meta: unknown } {
  const set = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
  const tags = record.tags === undefined || record.tags === null ? [] : Array.isArray(record.tags) ? [...(record.tags as unknown[])] : [record.tags];
  const meta = typeof record.meta === 'object' && record.meta !== null && !Array.isArray(record.meta) ? record.meta : {};
  return { ...set, enabled: record.enabled ?? true, tags, meta };
}

/** In a dbt project, how dbt's naming macros name `node`. */
function dbtNamesOf(ctx: DbtContext, node: NamedNode): DbtNames | undefined {
  const { dbtSchema, dbtAlias } = ctx;
  if (!dbtSchema || !dbtAlias) return undefined;
  return {
    database: ctx.database,
    ...(ctx.attached ? { attached: ctx.attached } : {}),
    schema: (custom, config) => dbtSchema(custom, { ...node, config: () => config }),
    alias: (custom, config) => {
      const named = dbtAlias(custom, { ...node, config: () => config });
      return custom === undefined && named === node.name ? undefined : named;
    },
  };
}

function mergedConfig(
  m: RenderModel,
  calls: Readonly<Record<string, unknown>>,
  ctx: DbtContext,
  diagnostics: Diagnostic[],
): { config: ModelConfig; unused: readonly { key: string; location: Location }[]; locate: (key: string) => Location; described: Described } {
  const { source, sites } = m;
  const yaml = source.yaml;
  // checks: is read by parseChecks; every other key of the YAML is model config.
  const { checks: _checks, ...yamlData } = yaml?.data ?? {};
  for (const key of Object.keys(calls)) {
    if (Object.hasOwn(yamlData, key)) {
      diagnostics.push(
        error('config-conflict', `'${key}' is set both in config() and in ${yaml!.file}; set it in one place`, {
          file: source.file,
          ...sites.configKey(key),
        }, { related: [{ message: `also set here`, location: { file: yaml!.file, line: yaml!.keyLine(key) } }] }),
      );
    }
  }
  const locateCall = (key: string) => configKeyLocation(source, sites, calls, key);
  const node = { name: source.name, fqn: m.fqn, file: source.file, kind: m.resource };
  const merged = mergeConfig(m.resource, m.base, calls, locateCall, dbtNamesOf(ctx, node), diagnostics);
  const locate = (key: string) => merged.dbtLocations.get(key) ?? locateCall(key);
  return { config: validateModelConfig(merged.record, locate, diagnostics, m.resource, ctx.owned, source.name, ctx.dbtProject, ctx.fullRefresh), unused: merged.unused, locate, described: describedBy(merged, diagnostics) };
}

/** What a model's config says of it that changes nothing built: dbt's access, group and meta, and its names as configured. */
interface Described {
  access?: ModelAccess;
  group?: string;
  meta?: Readonly<Record<string, unknown>>;
  configuredNames?: ConfiguredNames;
}

/** dbt's access, group and meta of a model, refused as dbt refuses them: an access that is none of dbt's, a group that is no name. */
function describedBy(merged: MergedConfig, diagnostics: Diagnostic[]): Described {
  const out: Described = {};
  const { access, group, meta, setting } = merged;
  if (setting) {
    out.configuredNames = { schema: setting('schema') ?? null, alias: setting('alias') ?? null, incremental_strategy: setting('incremental_strategy') ?? null, unique_key: setting('unique_key') ?? null };
  }
  if (typeof meta?.value === 'object' && meta.value !== null && !Array.isArray(meta.value)) out.meta = meta.value as Readonly<Record<string, unknown>>;
  if (access !== undefined && access.value !== null) {
    if (ACCESS.includes(access.value as ModelAccess)) out.access = access.value as ModelAccess;
    else diagnostics.push(error('bad-config', `access must be one of ${ACCESS.join(', ')}; got ${JSON.stringify(access.value)}`, access.location));
  }
  if (group !== undefined && group.value !== null) {
    if (typeof group.value === 'string' && group.value.trim() !== '') out.group = group.value;
    else diagnostics.push(error('bad-config', `group must be the name of a group; got ${JSON.stringify(group.value)}`, group.location));
  }
  return out;
}

/**
 * A model's render for the analysis (its ref()s, config and checks), at the analysis's
 * interval; when that interval is of whole days and the model uses `hour`, which such an
 * interval leaves unset, at the first hour of it. What a model reads and how it is configured
 * do not depend on the hour, and an hourly model is analyzed by any command (`pipe ls`, a
 * backfill of its pipeline, which analyzes at its first date); a task of the whole day is
 * refused with the error at its line, when the run plans it.
 */
function analysisRender(renderer: ModelRenderer, name: string, interval: Interval, state: TableState): RawRender | Diagnostic {
  const raw = renderer.renderRaw(name, interval, state);
  if (!('severity' in raw) || raw.code !== UNSET_HOUR || !isWholeDays(interval)) return raw;
  return renderer.renderRaw(name, hourInterval(interval.start), state);
}

/** The ref() sites of a model's hooks and sql_header, rendered at the analysis's interval; their errors go to `diagnostics`. */
function hookSites(
  renderer: ModelRenderer,
  name: string,
  config: ModelConfig,
  interval: Interval,
  state: TableState,
  database: string,
  diagnostics: Diagnostic[],
): RefSite[] {
  const relation = { schema: config.schema, identifier: config.alias ?? name, database };
  const sites: RefSite[] = [];
  for (const h of [...config.pre_hook, ...config.post_hook, ...(config.sql_header ? [config.sql_header] : [])]) {
    const rendered = renderer.hook(name, h, interval, state, relation, undefined, 'parse');
    if ('severity' in rendered) diagnostics.push(rendered);
    else if ('refs' in rendered) for (const r of rendered.refs) sites.push({ name: r, location: h.location });
  }
  return sites;
}

const sameSites = (a: readonly RefSite[], b: readonly RefSite[]) =>
  a.length === b.length && a.every((s, i) => s.name === b[i].name && s.location.file === b[i].location.file && s.location.line === b[i].location.line);

const sameContract = (a: ModelContract | undefined, b: ModelContract | undefined) =>
  a === b || (a !== undefined && b !== undefined && JSON.stringify([a, [...a.constraints]]) === JSON.stringify([b, [...b.constraints]]));

/** Where a config key of a model is set: its config() call, or its line in the YAML beside the model. */
function configKeyLocation(source: ModelSource, sites: CallSites, calls: Readonly<Record<string, unknown>>, key: string): Location {
  const yaml = source.yaml;
  if (Object.hasOwn(calls, key)) return { file: source.file, ...sites.configKey(key) };
  // A key set nowhere: at the config() call, or at the entry that defines the node.
  if (!yaml || key === 'checks' || !Object.hasOwn(yaml.data, key)) return { file: source.file, ...(sites.config() ?? (source.line === undefined ? {} : { line: source.line })) };
  return { file: yaml.file, line: yaml.keyLine(key) };
}

/** A seed's node, or where it is disabled (`enabled: false`). */
function seedNode(
  seed: SeedSource,
  fqn: readonly string[],
  base: BaseConfig,
  ctx: DbtContext,
  columns: readonly ColumnProperties[],
  diagnostics: Diagnostic[],
): SeedNode | { readonly disabledAt: Location } {
  const y = seed.yaml;
  if (y && !ctx.dbtSchema) checkKeys(y.data, SEED_KEYS, 'seed', (key) => ({ file: y.file, line: y.keyLine(key) }), diagnostics);
  const node = { name: seed.name, fqn, file: seed.file, kind: 'seed' as const };
  const merged = mergeConfig('seed', base, {}, (key) => ({ file: y?.file ?? seed.file, line: y?.keyLine(key) }), dbtNamesOf(ctx, node), diagnostics);
  const data = merged.record;
  const at = (key: string): Location => merged.dbtLocations.get(key) ?? { file: y?.file ?? seed.file, line: y?.keyLine(key) };
  const bad = (key: string, message: string, hint?: string) => diagnostics.push(error('bad-config', message, at(key), hint === undefined ? undefined : { hint }));
  if (data.enabled !== undefined && typeof data.enabled !== 'boolean') bad('enabled', 'enabled must be true or false');
  if (data.enabled === false) return { disabledAt: at('enabled') };
  for (const u of merged.unused) ctx.unused.note(u.key, u.location);
  const columnTypes: Record<string, string> = {};
  const columnTypeLocations: Record<string, Location> = {};
  if (data.column_types !== undefined) {
    const ct = data.column_types;
    if (ct && typeof ct === 'object' && !Array.isArray(ct) && Object.values(ct).every((v) => typeof v === 'string')) {
      const seen = new Map<string, string>();
      for (const [column, type] of Object.entries(ct as Record<string, string>)) {
        const own = y && Object.hasOwn(y.data, 'column_types') ? y.pathLine(['column_types', column]) : undefined;
        const location = own !== undefined ? { file: y!.file, line: own } : (merged.dbtEntries?.get('column_types')?.[column] ?? at('column_types'));
        const other = seen.get(foldedName(column));
        if (other !== undefined) {
          diagnostics.push(error('bad-config', `column_types declares '${other}' and '${column}': DuckDB does not tell column names apart by case`, location));
          continue;
        }
        seen.set(foldedName(column), column);
        columnTypes[column] = type;
        columnTypeLocations[column] = location;
      }
    } else {
      bad('column_types', typeSplitAtComma(ct) ?? 'column_types must map column names to DuckDB types, e.g. {amount: "DECIMAL(10,2)"}, or one column a line');
    }
  }
  let schema = DEFAULT_SCHEMA;
  if (data.schema !== undefined) {
    if (data.schema === '') bad('schema', `${seed.name}'s schema comes out empty, and a table needs a schema`, "the profile target's schema: is empty: set it, or have generate_schema_name give this seed one");
    else if (typeof data.schema !== 'string' || schemaNameProblem(data.schema, ctx.dbtSchema !== undefined) !== undefined) {
      bad('schema', `schema ${schemaNameProblem(String(data.schema), ctx.dbtSchema !== undefined)}`);
    }
    else if (reservedSchema(data.schema) !== undefined) bad('schema', reservedSchema(data.schema)!);
    else schema = data.schema;
  }
  let alias: string | undefined;
  if (data.alias !== undefined) {
    const problem = typeof data.alias === 'string' ? aliasProblem(data.alias, ctx.dbtSchema !== undefined) : 'it must be text';
    if (problem === undefined) alias = data.alias as string;
    else bad('alias', `alias '${String(data.alias)}' cannot be a table name: ${problem}`);
  }
  let delimiter: string | undefined;
  if (data.delimiter !== undefined) {
    if (typeof data.delimiter === 'string' && data.delimiter.length === 1 && data.delimiter !== '"' && data.delimiter !== '\n' && data.delimiter !== '\r') {
      if (data.delimiter !== ',') delimiter = data.delimiter;
    } else bad('delimiter', `delimiter must be one character (such as ';' or '|'), got ${JSON.stringify(data.delimiter)}`);
  }
  if (data.quote_columns !== undefined && typeof data.quote_columns !== 'boolean') bad('quote_columns', 'quote_columns must be true or false');
  const eventTime = data.event_time === undefined || data.event_time === null ? undefined : data.event_time;
  if (eventTime !== undefined && (typeof eventTime !== 'string' || eventTime.trim() === '')) bad('event_time', 'event_time must be a column name');
  const quoteColumns = data.quote_columns !== false;
  const quoteColumnsAt = at('quote_columns');
  // What is wrong with the file keeps the seed from being loaded, and only the commands that would load it from going on.
  const fileProblems: Diagnostic[] = [];
  const csv = seedCsv(seed, { delimiter, quoteColumns, quoteColumnsAt, columnTypes, columnTypeLocations, dbt: ctx.dbtSchema !== undefined }, fileProblems);
  for (const d of fileProblems) diagnostics.push(d.severity === 'error' ? { ...d, blocks: [seed.name] } : d);
  if (csv.header.names.length > 0) folderTypesApplied(csv.header.names, columnTypes, columnTypeLocations, ctx.folderColumnTypes);
  // A column named in another case, which dbt-duckdb does not type (seedCsv said so): its column
  // is loaded as inferred. A column the file does not have types nothing in dbt: said, and left out.
  if (ctx.dbtSchema !== undefined && csv.header.names.length > 0) {
    for (const column of Object.keys(columnTypes)) {
      if (csv.header.names.includes(column)) continue;
      if (!csv.header.names.some((n) => n.toLowerCase() === column.toLowerCase())) {
        diagnostics.push(
          warning('unknown-column', `column_types names column '${column}', which ${seed.file} does not have: it types nothing, as in dbt`, columnTypeLocations[column], {
            hint: didYouMean(column, csv.header.names) ?? `its columns: ${csv.header.names.join(', ')}`,
          }),
        );
      }
      delete columnTypes[column];
      delete columnTypeLocations[column];
    }
  }
  return {
    kind: 'seed',
    name: seed.name,
    file: seed.file,
    absPath: seed.absPath,
    hash: seedHash(seed.hash, {
      columnTypes: { ...csv.inferredTypes, ...columnTypes },
      schema: schema === DEFAULT_SCHEMA ? undefined : schema,
      delimiter,
      ...(alias !== undefined && alias.toLowerCase() !== seed.name.toLowerCase() ? { table: alias.toLowerCase() } : {}),
    }),
    schema,
    relation: ctx.ownRelation(schema, alias ?? seed.name),
    tags: asStringList(data.tags) ?? [],
    columnTypes,
    columnTypeLocations,
    inferredTypes: csv.inferredTypes,
    delimiter,
    ...(alias === undefined ? {} : { alias }),
    ...(merged.setting ? { configuredNames: { schema: merged.setting('schema') ?? null, alias: merged.setting('alias') ?? null } } : {}),
    ...(typeof eventTime === 'string' && eventTime.trim() !== '' ? { eventTime: eventTime.trim() } : {}),
    quoteColumns,
    quoteColumnsAt,
    ...(ctx.dbtSchema !== undefined ? { sniffedByDbt: true as const } : {}),
    header: csv.header,
    upstream: [],
    fqn,
    checks: [],
    pre_hook: readHooks(data.pre_hook, 'pre_hook', at, diagnostics),
    post_hook: readHooks(data.post_hook, 'post_hook', at, diagnostics),
    persist_docs: readPersistDocs(data.persist_docs, bad),
    ...(typeof data.description === 'string' ? { description: data.description } : {}),
    columns,
  };
}

/**
 * A type with a comma in a YAML `{…}` mapping (`{price: DECIMAL(10,2)}`), which YAML splits
 * into two entries (`price: DECIMAL(10` and `2)` with no value), said as such; undefined for
 * another problem.
 */
function typeSplitAtComma(types: unknown): string | undefined {
  if (types === null || typeof types !== 'object' || Array.isArray(types)) return undefined;
  const entries = Object.entries(types as Record<string, unknown>);
  for (let i = 0; i + 1 < entries.length; i++) {
    const [column, type] = entries[i];
    const [rest, none] = entries[i + 1];
    if (typeof type !== 'string' || none !== null || !type.includes('(') || type.includes(')') || !rest.includes(')')) continue;
    return `column_types: ${column}'s type ${type},${rest} was split at its comma, as YAML splits a {…} mapping: quote it ({${column}: "${type},${rest}"}) or write one column a line`;
  }
  return undefined;
}
