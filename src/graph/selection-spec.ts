import type { Location } from '../diagnostics/diagnostics.js';
import { suggest } from '../diagnostics/suggest.js';

/**
 * dbt's node selection syntax, parsed into a value: what `--select`, `--exclude`, a pipeline's
 * `select:` and a selector of selectors.yml say, before any node is looked at.
 *
 *   [@][N+][method[.key...]:]value[+N]
 *
 * A value without a method is a path when it holds a `/`, a file name when it ends in .sql,
 * .py or .csv, and otherwise a qualified name (`fqn`), as in dbt. `+` before the value adds
 * ancestors (N generations at most when N is given), `+` after it descendants, and `@` the
 * descendants with every ancestor of each of them.
 */

/** The methods pipe evaluates, each as dbt's method of that name does (see selector-methods.ts). */
export const METHODS = ['fqn', 'tag', 'path', 'file', 'config', 'source', 'resource_type', 'package', 'group', 'access', 'result', 'state', 'unit_test', 'test_name', 'test_type', 'version', 'exposure'] as const;
export type MethodName = (typeof METHODS)[number];

/** dbt's methods that need what pipe does not have, with the reason given to the user. */
export const UNSUPPORTED_METHODS: Readonly<Record<string, string>> = {
  source_status: 'it compares source freshness results, which pipe does not keep',
  metric: 'pipe has no metrics',
  semantic_model: 'pipe has no semantic models',
  saved_query: 'pipe has no saved queries',
};

/** dbt's resource types: the values `resource_type:` accepts. */
export const RESOURCE_TYPES = [
  'model',
  'seed',
  'source',
  'snapshot',
  'test',
  'analysis',
  'operation',
  'sql_operation',
  'rpc',
  'doc',
  'macro',
  'exposure',
  'metric',
  'group',
  'saved_query',
  'semantic_model',
  'unit_test',
  'fixture',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * What `test_type:` selects: the models (and seeds) with unit tests, or with data tests, or with
 * the singular or the generic ones of those (see isSingular); `pipe test` given only such terms
 * runs only those tests (see test-selection.ts).
 */
export const TEST_TYPES = ['unit', 'data', 'singular', 'generic'] as const;

/**
 * Whether a data test is a singular one, a query of its own (dbt's test file, pipe's `query`
 * check), rather than a generic one, a test applied to a model or column with arguments.
 */
export function isSingular(kind: string): boolean {
  return kind === 'dbt_singular' || kind === 'query';
}

export const ACCESS_LEVELS = ['private', 'protected', 'public'] as const;

/** What `version:` selects: the latest version of each model with versions, those after it, those before it, or the models without versions. */
export const VERSION_KINDS = ['latest', 'prerelease', 'old', 'none'] as const;

/**
 * What `result:` selects by, how a node's tasks ended in its latest build: dbt's names
 * (`success`, `error`, `fail` and `warn` of its checks, `skipped`) and pipe's task statuses.
 */
export const RESULT_VALUES = ['success', 'succeeded', 'error', 'failed', 'fail', 'warn', 'skipped', 'cancelled'] as const;
export type ResultValue = (typeof RESULT_VALUES)[number];

/**
 * What `state:` compares a node with: its builds on record in the warehouse (dbt compares
 * with a manifest). `new`: never built; `modified`: its SQL or config (a seed: its file)
 * differs from its latest build's; `stale`: built from inputs that have changed since.
 */
export const NODE_STATES = ['new', 'modified', 'stale'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** One term: a method and value, with the graph operators around it. */
export interface Criterion {
  readonly kind: 'criterion';
  /** As written (or, for a YAML mapping, as it would be written on the command line): for messages. */
  readonly text: string;
  readonly method: MethodName;
  /** The keys after the method: `config.meta.owner` has ['meta', 'owner']. */
  readonly args: readonly string[];
  readonly value: string;
  /** Generations of ancestors added: 0 none, Infinity all (`+x`). */
  readonly parents: number;
  /** Generations of descendants added: 0 none, Infinity all (`x+`). */
  readonly children: number;
  /** `@x`: x, its descendants, and every ancestor of those. */
  readonly childrensParents: boolean;
  /** Where it is written, when that is a file (a pipeline, selectors.yml). */
  readonly location?: Location;
}

/** Selectors combined as dbt combines them: a space unites, a comma intersects, --exclude subtracts. */
export type SelectionSpec =
  | Criterion
  | { readonly kind: 'union'; readonly parts: readonly SelectionSpec[] }
  | { readonly kind: 'intersection'; readonly parts: readonly SelectionSpec[] }
  | { readonly kind: 'difference'; readonly include: SelectionSpec; readonly exclude: SelectionSpec };

/** A term that cannot be evaluated, and why. */
export interface SpecProblem {
  readonly code: 'bad-selector' | 'unsupported-selector';
  /** The term as written. */
  readonly text: string;
  readonly message: string;
  readonly hint?: string;
}

/** The parts of a term, from the command-line form or from a YAML mapping. */
export interface CriterionParts {
  readonly text: string;
  /** `tag`, `config.materialized`; absent for a bare value. */
  readonly method?: string;
  readonly value: string;
  readonly parents?: number;
  readonly children?: number;
  readonly childrensParents?: boolean;
  readonly location?: Location;
}

/** dbt's own pattern (selector_spec.py), with \w as wide as Python's. */
const TERM_RE = /^(@)?(?:(\d*)\+)?(?:([\p{L}\p{N}_.]+):)?(.*?)(?:\+(\d*))?$/u;

const depth = (digits: string | undefined): number => (digits === undefined ? 0 : digits === '' ? Infinity : Number(digits));

/** One term of the command-line form. */
export function parseTerm(text: string, location?: Location): Criterion | SpecProblem {
  const m = TERM_RE.exec(text);
  if (!m) return problem(text, 'is not a selector (expected [@][N+][method:]value[+N])');
  return makeCriterion({ text, childrensParents: m[1] !== undefined, parents: depth(m[2]), method: m[3], value: m[4], children: depth(m[5]), location });
}

/** A bare value's method, as dbt guesses it. */
function defaultMethod(value: string): MethodName {
  if (value.includes('/') || value.includes('\\')) return 'path';
  if (/\.(sql|py|csv)$/i.test(value)) return 'file';
  return 'fqn';
}

const KNOWN_METHODS: readonly string[] = [...METHODS, ...Object.keys(UNSUPPORTED_METHODS)];

/** Validates the parts of a term: every problem dbt would find before looking at a node, and pipe's refusals. */
export function makeCriterion(parts: CriterionParts): Criterion | SpecProblem {
  const { text, value } = parts;
  const [name, ...args] = parts.method === undefined ? [defaultMethod(value)] : parts.method.split('.');
  if (name in UNSUPPORTED_METHODS) {
    return { code: 'unsupported-selector', text, message: `pipe does not support the ${name}: method: ${UNSUPPORTED_METHODS[name]}` };
  }
  if (!(METHODS as readonly string[]).includes(name)) {
    const close = suggest(name, KNOWN_METHODS);
    const hint =
      name === 'selector'
        ? 'a selector of selectors.yml is chosen with --selector NAME (or selector: NAME in a pipeline)'
        : `${close ? `did you mean '${close}'? ` : ''}methods: ${METHODS.join(', ')}`;
    return problem(text, `'${name}' is not a selector method`, hint);
  }
  const method = name as MethodName;
  if (method === 'config' ? args.length === 0 || args.includes('') : args.length > 0) {
    return method === 'config'
      ? problem(text, 'config needs the key to compare, e.g. config.materialized:table')
      : problem(text, `the ${method}: method takes no key after a dot (only config. does)`);
  }
  const children = parts.children ?? 0;
  const childrensParents = parts.childrensParents ?? false;
  if (childrensParents && children > 0) return problem(text, "'@' before a selector and '+' after it cannot be combined ('@' already adds every descendant)");
  if (value === '') return problem(text, 'names nothing: the value after the method is empty');
  const valueProblem = checkValue(method, value);
  if (valueProblem) return problem(text, valueProblem.message, valueProblem.hint);
  return {
    kind: 'criterion',
    text,
    method,
    args,
    value: method === 'path' ? normalPath(value) : value,
    parents: parts.parents ?? 0,
    children,
    childrensParents,
    ...(parts.location ? { location: parts.location } : {}),
  };
}

/** The problems a value of a method has whatever the project holds. */
function checkValue(method: MethodName, value: string): { message: string; hint?: string } | undefined {
  switch (method) {
    case 'resource_type':
      if ((RESOURCE_TYPES as readonly string[]).includes(value)) return undefined;
      return { message: `'${value}' is not a resource type`, hint: suggestion(value, RESOURCE_TYPES) };
    case 'access':
      if ((ACCESS_LEVELS as readonly string[]).includes(value)) return undefined;
      return { message: `'${value}' is not an access level`, hint: suggestion(value, ACCESS_LEVELS) };
    case 'result':
      if ((RESULT_VALUES as readonly string[]).includes(value)) return undefined;
      if (value === 'pass') return { message: "pipe's checks run inside their model's build: result:success selects the models whose build, checks included, succeeded" };
      return { message: `'${value}' is not a result`, hint: suggestion(value, RESULT_VALUES) };
    case 'state':
      if ((NODE_STATES as readonly string[]).includes(value)) return undefined;
      return {
        message: `pipe's state: method selects by what the warehouse records, and knows ${NODE_STATES.join(', ')}`,
        hint: value.startsWith('modified.') ? "state:modified covers a model's SQL and its config" : suggestion(value, NODE_STATES),
      };
    case 'test_type':
      if ((TEST_TYPES as readonly string[]).includes(value)) return undefined;
      return { message: `'${value}' is not a test type pipe knows`, hint: suggestion(value, TEST_TYPES) };
    case 'version':
      if ((VERSION_KINDS as readonly string[]).includes(value)) return undefined;
      return { message: `'${value}' is not a version kind: version: takes ${VERSION_KINDS.join(', ')}`, hint: suggestion(value, VERSION_KINDS) };
    case 'source':
      if (value.split('.').length <= 3) return undefined;
      return { message: 'a source is selected as source_name, source_name.table_name or package.source_name.table_name' };
    case 'path':
      // One outside the project folder (`../elsewhere`) is no mistake in dbt: it selects nothing (see selector-methods.ts).
      return undefined;
    case 'fqn':
    case 'tag':
    case 'file':
    case 'config':
    case 'package':
    case 'group':
    case 'unit_test':
    case 'test_name':
    case 'exposure':
      return undefined;
    default: {
      const never: never = method;
      throw new Error(`internal error: selector method ${never}`);
    }
  }
}

function suggestion(value: string, candidates: readonly string[]): string {
  const close = suggest(value, candidates);
  return `${close ? `did you mean '${close}'? ` : ''}one of: ${candidates.join(', ')}`;
}

/** Forward slashes, no `./`, no trailing or doubled slash: the form of every file path pipe keeps. */
function normalPath(value: string): string {
  const path = value.replace(/\\/g, '/').replace(/\/{2,}/g, '/').replace(/^(\.\/)+/, '').replace(/(.)\/+$/, '$1');
  return path === '.' ? '' : path;
}

function problem(text: string, message: string, hint?: string): SpecProblem {
  return { code: 'bad-selector', text, message, ...(hint ? { hint } : {}) };
}

export function isProblem(x: Criterion | SpecProblem): x is SpecProblem {
  return !('kind' in x);
}

/** A union of parts, or the one part itself. */
export function unionOf(parts: readonly SelectionSpec[]): SelectionSpec | undefined {
  return parts.length <= 1 ? parts[0] : { kind: 'union', parts };
}

export interface ParsedSelection {
  /** Undefined when the texts name no term at all. */
  readonly spec?: SelectionSpec;
  readonly criteria: readonly Criterion[];
  readonly problems: readonly SpecProblem[];
}

/**
 * The command-line form: the union of the texts and of their space-separated groups, each
 * the intersection of its comma-separated terms. `location` is where the texts are written.
 */
export function parseCliSelection(texts: readonly string[], location?: Location): ParsedSelection {
  const criteria: Criterion[] = [];
  const problems: SpecProblem[] = [];
  const groups: SelectionSpec[] = [];
  for (const group of texts.flatMap((t) => t.split(/\s+/))) {
    const terms: Criterion[] = [];
    // `orders,` or `a,,b`: a comma with no term on a side, left out, would select what the rest does.
    const pieces = group.split(',');
    if (pieces.includes('') && pieces.some((p) => p !== '')) {
      problems.push(problem(group, 'has a comma with no term on one side (a,b selects what a and b both select)', 'remove the comma, or write the term it joins'));
      continue;
    }
    for (const text of pieces.filter(Boolean)) {
      const parsed = parseTerm(text, location);
      if (isProblem(parsed)) problems.push(parsed);
      else terms.push(parsed);
    }
    criteria.push(...terms);
    if (terms.length > 0) groups.push(terms.length === 1 ? terms[0] : { kind: 'intersection', parts: terms });
  }
  // A group with a bad term is left out whole: intersecting what is left would select too much.
  return { spec: problems.length > 0 ? undefined : unionOf(groups), criteria, problems };
}
