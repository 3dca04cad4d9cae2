import { hasWildcard, nameGlob, pathGlob, type Matcher } from './glob-match.js';
import { UNSUPPORTED_METHODS, type Criterion, type NodeState, type ResourceType, type ResultValue } from './selection-spec.js';

export type { NodeState } from './selection-spec.js';

/**
 * What selection knows of a node: enough to evaluate every method, and nothing of SQL. Each
 * method follows dbt's of the same name (dbt-core, graph/selector_methods.py).
 */
interface SelectableBase {
  /** The node's name in the graph. */
  readonly name: string;
  /** dbt's fully qualified name: the package (the project), the folders under its root folder, its name. */
  readonly fqn: readonly string[];
  /** The file that defines it, relative to the project root (a source's is its properties file). */
  readonly file: string;
  /** The properties file that describes it, if another: `path:` selects by it too. */
  readonly propertiesFile?: string;
  readonly tags: readonly string[];
  /** Its config as dbt's `config.` selectors read it: `materialized`, `schema`, `tags`, `meta`, ... */
  readonly config: Readonly<Record<string, unknown>>;
  /** The names of a model's unit tests. */
  readonly unitTests?: readonly string[];
  /** The tags of a model's unit tests (their `config: {tags}`). */
  readonly unitTestTags?: readonly string[];
  /** Whether data tests (dbt's tests, pipe's checks) run with it. */
  readonly dataTests?: boolean;
  /** The data tests that run with it: each by its name (`unique_orders_id`), its generic test's (`unique`), if it is one, and its own tags. */
  readonly dataTestNames?: readonly { readonly name: string; readonly generic?: string; readonly singular?: true; readonly tags?: readonly string[]; readonly file?: string }[];
  /** A version of a model with versions: the model's name, the version and the latest one. */
  readonly version?: { readonly model: string; readonly v: string; readonly is: 'latest' | 'prerelease' | 'old' };
}

export type SelectableNode =
  | (SelectableBase & { readonly resourceType: Exclude<ResourceType, 'source'> })
  | (SelectableBase & { readonly resourceType: 'source'; readonly source: string; readonly table: string });

/** How one task of a node ended in its latest build, as `result:` reads it. */
export type NodeResult = 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'check-failed' | 'check-warned';

/** What a method may need beyond the nodes. */
export interface SelectionContext {
  /** The project's name, which `package:this` stands for. */
  readonly projectName?: string;
  /**
   * Per node, how its tasks ended in the latest build that had a task for it (run state);
   * absent when there is no run state to read, and `result:` then selects nothing.
   */
  readonly results?: ReadonlyMap<string, ReadonlySet<NodeResult>>;
  /** What `state:` selects by, per node name (read from the warehouse; see commands/assess-coverage.ts). */
  readonly states?: ReadonlyMap<string, ReadonlySet<NodeState>>;
  /** dbt's exposures: the nodes each depends on, by the exposure's name (what `+exposure:name` selects). */
  readonly exposures?: ReadonlyMap<string, { readonly nodes: readonly string[] }>;
  /** dbt's tests that name no node: a term that names one selects no node, and is no mistake (see namesFreeTest). */
  readonly freeTests?: readonly FreeTest[];
  /** The installed packages, those of macros alone too: `package:` of one with no node is said so. */
  readonly packages?: readonly string[];
}

/** A test that names no node, as selection sees it. */
export interface FreeTest {
  readonly name: string;
  readonly file: string;
  readonly tags: readonly string[];
  /** The generic test it is of (`not_null`), for a generic test of an ephemeral model. */
  readonly generic?: string;
}

/**
 * Whether a term names a test that names no node (dbt's singular test reading tables by name, a
 * test of an ephemeral model that nothing reads), as dbt selects tests: by its name, its file's
 * path, a tag of its, its type, `test_name:` of a generic one, `resource_type:test`. Such a test
 * has no place in the graph: a term's `+` adds nothing to it.
 */
export function freeTestMatches(c: Criterion, t: FreeTest): boolean {
  switch (c.method) {
    case 'fqn':
      return !c.value.includes('.') && nameGlob(c.value)(t.name);
    case 'path':
      return fileMatcher(c.value)(t.file);
    case 'tag':
      return t.tags.some(nameGlob(c.value));
    case 'test_type':
      return c.value === 'data' || (c.value === 'generic') === (t.generic !== undefined);
    case 'test_name':
      return t.generic !== undefined && nameGlob(c.value)(t.generic);
    case 'resource_type':
      return c.value === 'test';
    default:
      return false;
  }
}

/** Whether a term names one of the context's tests that name no node (see freeTestMatches): it selects no node, and is no mistake. */
export function namesFreeTest(c: Criterion, context: SelectionContext): boolean {
  return (context.freeTests ?? []).some((t) => freeTestMatches(c, t));
}

/** The task outcome each `result:` value selects by. */
const RESULT_OF: Readonly<Record<ResultValue, NodeResult>> = {
  success: 'succeeded',
  succeeded: 'succeeded',
  error: 'failed',
  failed: 'failed',
  fail: 'check-failed',
  warn: 'check-warned',
  skipped: 'skipped',
  cancelled: 'cancelled',
};

/**
 * Whether a term that matches no node is an answer rather than a mistake: `result:failed`
 * after a build where nothing failed selects nothing, rightly, as `state:modified` when
 * nothing changed.
 */
export function emptyIsAnswer(c: Criterion): boolean {
  return c.method === 'result' || c.method === 'state';
}

/**
 * The predicate a term's method and value make; built once per term. `excluding`: the term
 * is of an exclusion, where a tag selects nodes by their own tags alone (a test's tag would
 * leave out the node it runs with).
 */
export function nodeMatcher(c: Criterion, context: SelectionContext, excluding = false): (node: SelectableNode) => boolean {
  const value = c.value;
  switch (c.method) {
    case 'fqn': {
      const match = fqnMatcher(value);
      // Sources are not selected by name, as in dbt: source:name is their method.
      // A data test or a unit test by its name, as dbt selects a test node: the node it runs with.
      const test = value.includes('.') ? () => false : nameGlob(value);
      return (n) =>
        (n.resourceType !== 'source' && (match(n.fqn) || match(n.fqn.slice(1)) || (n.version !== undefined && versionMatch(value, match, n.fqn, n.version)))) ||
        (n.dataTestNames ?? []).some((t) => test(t.name)) ||
        (!excluding && (n.unitTests ?? []).some(test));
    }
    case 'tag': {
      // A data test's or unit test's own tag too, as dbt selects the test: the node it runs with.
      const match = nameGlob(value);
      return excluding
        ? (n) => n.tags.some(match)
        : (n) => n.tags.some(match) || (n.dataTestNames ?? []).some((t) => (t.tags ?? []).some(match)) || (n.unitTestTags ?? []).some(match);
    }
    case 'path': {
      // A singular test's file too, as dbt selects the test: the node it runs with.
      const node = pathMatcher(value);
      if (excluding) return node;
      const file = fileMatcher(value);
      return (n) => node(n) || (n.dataTestNames ?? []).some((t) => t.file !== undefined && file(t.file));
    }
    case 'file': {
      const match = nameGlob(value);
      return (n) => {
        const base = n.file.slice(n.file.lastIndexOf('/') + 1);
        return match(base) || match(stem(base));
      };
    }
    case 'config': {
      const equals = configEquals(value, c.args.length === 1 && c.args[0] === 'severity');
      return (n) => {
        const v = descend(n.config, c.args);
        return Array.isArray(v) ? v.some(equals) : equals(v);
      };
    }
    case 'source': {
      const parts = value.split('.');
      const [pkg, source, table] = (parts.length === 3 ? parts : parts.length === 2 ? ['*', ...parts] : ['*', parts[0], '*']).map(nameGlob);
      return (n) => n.resourceType === 'source' && pkg(n.fqn[0] ?? '') && source(n.source) && table(n.table);
    }
    case 'resource_type':
      // dbt's tests are no nodes of pipe's graph: a node matches by having them, as with test_type.
      if (value === 'test') return (n) => n.dataTests === true;
      if (value === 'unit_test') return (n) => (n.unitTests ?? []).length > 0;
      return (n) => n.resourceType === value;
    case 'package': {
      const match = nameGlob(value === 'this' && context.projectName !== undefined ? context.projectName : value);
      return (n) => match(n.fqn[0] ?? '');
    }
    case 'group': {
      const match = nameGlob(value);
      return (n) => typeof n.config.group === 'string' && n.config.group !== '' && match(n.config.group);
    }
    case 'access':
      // A model's access is protected unless configured otherwise.
      return (n) => n.resourceType === 'model' && (n.config.access ?? 'protected') === value;
    case 'result': {
      const outcome = RESULT_OF[value as ResultValue];
      return (n) => context.results?.get(n.name)?.has(outcome) ?? false;
    }
    case 'state':
      return (n) => context.states?.get(n.name)?.has(value as NodeState) ?? false;
    case 'unit_test': {
      // A unit test by its name, or as dbt names it with its model (`orders.test_x`).
      const match = nameGlob(value);
      return (n) => (n.unitTests ?? []).some((t) => match(t) || match(`${n.name}.${t}`));
    }
    case 'test_name': {
      // dbt's: a generic test by the test's name (`unique`, `dbt_utils.expression_is_true`'s `expression_is_true`), a unit test by its own.
      const match = nameGlob(value);
      return (n) => (n.dataTestNames ?? []).some((t) => t.generic !== undefined && match(t.generic)) || (n.unitTests ?? []).some(match);
    }
    case 'test_type':
      if (value === 'unit') return (n) => (n.unitTests ?? []).length > 0;
      if (value === 'data') return (n) => n.dataTests === true;
      return (n) => (n.dataTestNames ?? []).some((t) => (t.singular === true) === (value === 'singular'));
    case 'exposure':
      // An exposure is no node: select.ts selects what it depends on.
      return () => false;
    case 'version':
      return (n) => {
        if (n.resourceType !== 'model') return false;
        return value === 'none' ? n.version === undefined : n.version?.is === value;
      };
    default: {
      const never: never = c.method;
      throw new Error(`internal error: selector method ${never}`);
    }
  }
}

/**
 * dbt's qualified-name match: the node's name itself, or a prefix of its qualified name
 * (`staging`, `jaffle_shop.staging`), where from the first part with a wildcard on the rest
 * of the name is matched as one pattern (`staging.stg_*`, `*.stg_*`). Dots in a part of the
 * name separate parts too. A pattern without a dot (`fct_*`) also matches the name alone, as
 * in dbt Fusion: dbt-core 1.x would match it against the whole qualified name, so that
 * `fct_*` missed every model in a folder.
 */
export function fqnMatcher(selector: string): (fqn: readonly string[]) => boolean {
  const parts = selector.split('.');
  const wild = parts.findIndex(hasWildcard);
  const fixed = wild < 0 ? parts : parts.slice(0, wild);
  const rest = wild < 0 ? undefined : nameGlob(parts.slice(wild).join('.'));
  const leaf = wild === 0 && parts.length === 1 ? rest : undefined;
  return (fqn) => {
    if (fqn.length > 0 && fqn[fqn.length - 1] === selector) return true;
    if (leaf && fqn.length > 0 && leaf(fqn[fqn.length - 1])) return true;
    const flat = fqn.flatMap((part) => part.split('.'));
    if (flat.length < parts.length || fixed.some((part, i) => flat[i] !== part)) return false;
    return rest === undefined || rest(flat.slice(wild).join('.'));
  };
}

/**
 * A version of a model is selected by its model's name (every version), by the version
 * (`m.v2`, or `m_v2`, its own name), and by its qualified name as dbt writes it, the
 * version after the model's name (`staging.m`, `staging.m.v2`), as dbt's node selection does.
 */
function versionMatch(selector: string, match: (fqn: readonly string[]) => boolean, fqn: readonly string[], version: NonNullable<SelectableBase['version']>): boolean {
  const tag = `v${version.v}`;
  if (selector === version.model || selector === `${version.model}.${tag}`) return true;
  const dbtFqn = [...fqn.slice(0, -1), version.model, tag];
  // The version alone (`v2`) names no model.
  return selector !== tag && (match(dbtFqn) || match(dbtFqn.slice(1)));
}

/**
 * dbt globs the path in the project folder and selects each node whose file, properties file
 * or one of whose folders is among what the glob finds. Matched here against the nodes' own
 * paths, which is the same without reading the disk: only files of nodes can select them.
 */
function pathMatcher(pattern: string): (node: SelectableNode) => boolean {
  // The project folder itself (`path:.`) holds every node; a path outside it none, as in dbt (a package linked from a folder above is no path a selector names).
  if (pattern === '') return () => true;
  if (outsideProject(pattern)) return () => false;
  const match: Matcher = hasWildcard(pattern) ? pathGlob(pattern) : (p) => p === pattern;
  return (n) => match(n.file) || folders(n.file).some(match) || (n.propertiesFile !== undefined && match(n.propertiesFile));
}

/** Whether a file is the path, or under it (see pathMatcher). */
export function fileMatcher(pattern: string): (file: string) => boolean {
  if (pattern === '') return () => true;
  if (outsideProject(pattern)) return () => false;
  const match: Matcher = hasWildcard(pattern) ? pathGlob(pattern) : (p) => p === pattern;
  return (file) => match(file) || folders(file).some(match);
}

/** A path that leaves the project folder: absolute, or going up (`../elsewhere`). */
function outsideProject(pattern: string): boolean {
  return pattern.startsWith('/') || /^[A-Za-z]:/.test(pattern) || pattern.split('/').includes('..');
}

/** A file name without its last extension, as Python's Path.stem. */
function stem(base: string): string {
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** A nested config value (`config.meta.owner`); undefined where a key is missing. */
function descend(config: Readonly<Record<string, unknown>>, keys: readonly string[]): unknown {
  let value: unknown = config;
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * dbt's comparison of a config value with the selector's: equal text (without regard to case
 * for `severity`), and `true`/`false` in any case for booleans. A number matches the text it
 * prints as, which dbt's command line never matches (it compares text with the number).
 */
function configEquals(selector: string, caseInsensitive: boolean): (value: unknown) => boolean {
  const lower = selector.toLowerCase();
  return (value) => {
    if (typeof value === 'string') return caseInsensitive ? value.toLowerCase() === lower : value === selector;
    if (typeof value === 'boolean') return lower === String(value);
    if (typeof value === 'number') return String(value) === selector;
    return false;
  };
}

/**
 * The values a method could have matched in this project, for a did-you-mean when it matched
 * nothing, and how to say so.
 */
export function noMatch(c: Criterion, nodes: readonly SelectableNode[], context: SelectionContext = {}): { message: string; candidates: string[] } {
  const distinct = (values: Iterable<string>) => [...new Set(values)];
  const v = c.value;
  switch (c.method) {
    case 'fqn': {
      const named = nodes.filter((n) => n.resourceType !== 'source');
      const plain = !v.includes('.') && !hasWildcard(v);
      return {
        message: plain ? `no model, seed or test named '${v}'` : `no model or seed matches '${v}'`,
        candidates: distinct([
          ...named.map((n) => n.name),
          ...named.flatMap((n) => n.fqn.slice(1, -1)),
          ...(plain ? nodes.flatMap((n) => (n.dataTestNames ?? []).map((t) => t.name)) : named.map((n) => n.fqn.join('.'))),
        ]),
      };
    }
    case 'tag':
      return { message: `no model, seed or test has the tag '${v}'`, candidates: distinct(nodes.flatMap((n) => [...n.tags, ...(n.dataTestNames ?? []).flatMap((t) => t.tags ?? []), ...(n.unitTestTags ?? [])])) };
    case 'path':
      return {
        message: hasWildcard(v) ? `no model file matches '${v}'` : `no model file under '${v}'`,
        // A package's files outside the project (installed as a link to a folder above it) are no path a selector may name.
        candidates: distinct(nodes.flatMap((n) => [n.file, ...folders(n.file)])).filter((p) => !p.startsWith('../')),
      };
    case 'file':
      return { message: `no model or seed file named '${v}'`, candidates: distinct(nodes.map((n) => n.file.slice(n.file.lastIndexOf('/') + 1))) };
    case 'config': {
      const key = c.args.join('.');
      const values = nodes.map((n) => descend(n.config, c.args)).flatMap((x) => (Array.isArray(x) ? x : [x]));
      return { message: `no model has config ${key} = '${v}'`, candidates: distinct(values.filter((x) => x !== undefined && typeof x !== 'object').map(String)) };
    }
    case 'source': {
      const sources = nodes.flatMap((n) => (n.resourceType === 'source' ? [n] : []));
      return {
        message: sources.length === 0 ? `no source matches '${v}': the project declares no sources` : `no source matches '${v}'`,
        candidates: distinct(sources.flatMap((s) => [s.source, `${s.source}.${s.table}`])),
      };
    }
    case 'resource_type': {
      const candidates = distinct(nodes.map((n) => n.resourceType));
      // dbt's metrics, semantic models and saved queries, which a project may well define: pipe reads none of them.
      const lacks = v === 'metric' || v === 'semantic_model' || v === 'saved_query' ? UNSUPPORTED_METHODS[v] : undefined;
      return { message: lacks === undefined ? `the project has no node of resource type '${v}'` : `resource type '${v}' selects nothing: ${lacks}`, candidates };
    }
    case 'package':
      return context.packages?.includes(v)
        ? { message: `the installed package '${v}' has no model, seed, snapshot or source (its macros are no nodes to select)`, candidates: [] }
        : { message: `no package named '${v}'`, candidates: distinct([...nodes.map((n) => n.fqn[0] ?? ''), ...(context.packages ?? [])]) };
    case 'group':
      return { message: `no model is in the group '${v}'`, candidates: distinct(nodes.flatMap((n) => (typeof n.config.group === 'string' ? [n.config.group] : []))) };
    case 'access':
      return { message: `no model has access '${v}'`, candidates: [] };
    case 'result':
      return { message: `no node's latest build ended ${v}`, candidates: [] };
    case 'state':
      return { message: `no model or seed is ${v}`, candidates: [] };
    case 'unit_test':
      return { message: `no unit test named '${v}'`, candidates: distinct(nodes.flatMap((n) => n.unitTests ?? [])) };
    case 'test_name':
      return { message: `no test of the generic test '${v}', nor unit test of that name`, candidates: distinct(nodes.flatMap((n) => [...(n.dataTestNames ?? []).flatMap((t) => (t.generic ? [t.generic] : [])), ...(n.unitTests ?? [])])) };
    case 'test_type':
      return { message: `the project has no ${v} tests`, candidates: [] };
    case 'exposure':
      return { message: `no exposure named '${v}'`, candidates: [] };
    case 'version':
      return { message: v === 'none' ? 'every model has versions' : `no model has a version that is ${v}`, candidates: [] };
    default: {
      const never: never = c.method;
      throw new Error(`internal error: selector method ${never}`);
    }
  }
}

/** `models/a/b.sql` -> `models/a`, `models`. */
function folders(file: string): string[] {
  const out: string[] = [];
  for (let i = file.lastIndexOf('/'); i > 0; i = file.lastIndexOf('/', i - 1)) out.push(file.slice(0, i));
  return out;
}
