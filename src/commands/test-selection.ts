import type { Analysis } from '../analyze/analyze.js';
import { nameGlob } from '../graph/glob-match.js';
import { isSingular, parseCliSelection, type Criterion, type SelectionSpec } from '../graph/selection-spec.js';
import { freeTestMatches, type FreeTest } from '../graph/selector-methods.js';
import type { Check } from '../analyze/checks.js';
import type { TestFilter } from '../plan/plan.js';
import { fileMatcher } from '../graph/selector-methods.js';

/**
 * Which tests `pipe test` runs of the nodes it selects: every one, unless `--select` is made
 * only of terms that name tests, as dbt test selects the tests themselves: `test_type:unit`,
 * `test_type:data` (`singular`, `generic`: those of the data tests), `unit_test:name`, `test_name:unique` (a generic test's name), a data
 * test's own name (`unique_orders_order_id`, naming no model or seed) and a tag only tests
 * have (a singular test's `config(tags=[...])`), a `path:` of singular tests' files
 * (`path:tests/integrity`): then only those.
 */
export function testFilter(
  select: readonly string[] | undefined,
  analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>,
  /**
   * `--exclude`, whose terms that name tests by a test method leave those tests out (the nodes
   * stay), and the nodes it leaves out, a test reading one of which is left out too, as dbt's
   * eager selection leaves out a relationships test of an excluded model.
   */
  out: { readonly exclude?: readonly string[]; readonly excluded?: ReadonlySet<string> } = {},
): TestFilter | undefined {
  const selected = testsSelected(select, analysis);
  const exclude = parseCliSelection(out.exclude ?? []).spec;
  const excluded = out.excluded ?? new Set<string>();
  const readsExcluded = (check: Check) => check.refs.some((r) => excluded.has(r.model));
  if (exclude === undefined && excluded.size === 0) return selected;
  const leftOut = (node: string, check: Check) => readsExcluded(check) || (exclude !== undefined && holds(exclude, (c) => excludesCheck(c, node, check)));
  const leftOutUnit = (model: string, test: string) => exclude !== undefined && holds(exclude, (c) => excludesUnitTest(c, model, test));
  return {
    data: selected?.data ?? true,
    dataTest: (node, check) => (selected?.dataTest(node, check) ?? true) && !leftOut(node, check),
    unit: (model, test) => (selected?.unit(model, test) ?? true) && !leftOutUnit(model, test),
  };
}

/** Whether one term of an exclusion leaves out a node's data test: by a test method, else by naming its node (or the test). */
function excludesCheck(c: Criterion, node: string, check: Check): boolean {
  if (c.method === 'test_name' || c.method === 'test_type' || isTestType(c)) return termTakesCheck(c, check);
  if (c.method === 'unit_test') return false;
  return c.method === 'fqn' && !c.value.includes('.') && (nameGlob(c.value)(node) || nameGlob(c.value)(check.name));
}

/** Whether one term of an exclusion leaves out a unit test. */
function excludesUnitTest(c: Criterion, model: string, test: string): boolean {
  switch (c.method) {
    case 'test_type':
      return c.value === 'unit';
    case 'resource_type':
      return c.value === 'unit_test';
    case 'unit_test':
    case 'test_name':
      return nameGlob(c.value)(test) || nameGlob(c.value)(`${model}.${test}`);
    case 'fqn':
      return !c.value.includes('.') && nameGlob(c.value)(model);
    default:
      return false;
  }
}

/** The tests `--select` names (see testFilter), when it names tests alone. */
function testsSelected(select: readonly string[] | undefined, analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>): TestFilter | undefined {
  const { criteria, spec } = parseCliSelection(select ?? []);
  if (criteria.length === 0 || !criteria.every((c) => namesTests(c, analysis))) return undefined;
  const has = (method: Criterion['method'], value?: string) => criteria.some((c) => c.method === method && (value === undefined || c.value === value));
  const globs = (method: Criterion['method']) => criteria.filter((c) => c.method === method).map((c) => nameGlob(c.value));
  const units = globs('unit_test');
  const generic = globs('test_name');
  const named = globs('fqn');
  const tagged = globs('tag');
  const pathed = criteria.filter((c) => c.method === 'path').map((c) => fileMatcher(c.value));
  const allData = has('test_type', 'data') || has('resource_type', 'test');
  const singular = has('test_type', 'singular');
  const genericTests = has('test_type', 'generic');
  return {
    data: allData || singular || genericTests || generic.length > 0 || named.length > 0 || tagged.length > 0 || pathed.length > 0,
    // As the terms combine: a comma intersects (`tag:nightly,test_type:singular`), a space unites.
    dataTest: (_node, check) => spec !== undefined && holds(spec, (c) => termTakesCheck(c, check)),
    unit: (model, test) => has('test_type', 'unit') || has('resource_type', 'unit_test') || units.some((m) => m(test) || m(`${model}.${test}`)) || generic.some((m) => m(test)),
  };
}

/** Whether one term of a selection of tests takes a data test. */
function termTakesCheck(c: Criterion, check: Check): boolean {
  switch (c.method) {
    case 'test_type':
      return c.value === 'data' || (c.value === 'singular' ? isSingular(check.kind) : c.value === 'generic' && !isSingular(check.kind));
    case 'resource_type':
      return c.value === 'test';
    case 'path':
      return isSingular(check.kind) && fileMatcher(c.value)(check.location.file);
    case 'fqn':
      return nameGlob(c.value)(check.name);
    case 'test_name':
      return check.dbt?.generic !== undefined && nameGlob(c.value)(check.dbt.generic.test);
    case 'tag':
      return (check.tags ?? []).some(nameGlob(c.value));
    default:
      return false;
  }
}

/** `resource_type:test` (dbt's data tests) and `resource_type:unit_test`: tests, as test_type names them. */
function isTestType(c: Criterion): boolean {
  return c.method === 'resource_type' && (c.value === 'test' || c.value === 'unit_test') && !c.parents && !c.children && !c.childrensParents;
}

/** The selector methods that name tests, not nodes: a node matches one by having such a test. */
export const TEST_METHODS: ReadonlySet<string> = new Set(['test_name', 'test_type', 'unit_test']);

/** Whether a term names tests rather than nodes: a test method, the name of a data test that is no model's or seed's, or a tag only tests have. */
function namesTests(c: Criterion, analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>): boolean {
  if (TEST_METHODS.has(c.method) || isTestType(c)) return true;
  if (c.method === 'path') return namesTestFiles(c, analysis);
  return namesDataTest(c, analysis) || (tagsTests(c, analysis) && ![...analysis.nodes.values()].some((n) => n.tags.some(nameGlob(c.value))));
}

/** Whether a `tag:` term (without operators) matches a data test's own tags. */
export function tagsTests(c: Criterion, analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>): boolean {
  if (c.method !== 'tag' || c.parents || c.children || c.childrensParents) return false;
  const match = nameGlob(c.value);
  const checks = [...analysis.nodes.values()].flatMap((n) => (n.kind === 'source' ? [] : n.checks));
  return [...checks, ...[...analysis.sourceChecks.values()].flat(), ...analysis.freeTests].some((ch) => (ch.tags ?? []).some(match));
}

/** Whether a bare term is the name of a data test (a glob of names), and of no model or seed. */
export function namesDataTest(c: Criterion, analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>): boolean {
  if (c.method !== 'fqn' || c.value.includes('.') || c.parents || c.children || c.childrensParents) return false;
  const match = nameGlob(c.value);
  for (const [name, n] of analysis.nodes) {
    if (n.kind !== 'source' && match(name)) return false;
  }
  const checks = [...analysis.nodes.values()].flatMap((n) => (n.kind === 'source' ? [] : n.checks));
  return [...checks, ...[...analysis.sourceChecks.values()].flat(), ...analysis.freeTests].some((ch) => match(ch.name));
}

/** Whether a `path:` term (without operators) names singular tests' files and no model's or seed's (`path:tests/integrity`). */
function namesTestFiles(c: Criterion, analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>): boolean {
  if (c.parents || c.children || c.childrensParents) return false;
  const under = fileMatcher(c.value);
  const nodes = [...analysis.nodes.values()];
  if (nodes.some((n) => n.kind !== 'source' && under(n.file))) return false;
  const checks = [...nodes.flatMap((n) => (n.kind === 'source' ? [] : n.checks)), ...[...analysis.sourceChecks.values()].flat(), ...analysis.freeTests];
  return checks.some((ch) => isSingular(ch.kind) && under(ch.location.file));
}

/** A test that names no node, as selection matches it. */
export function freeTestOf(c: Check): FreeTest {
  return { name: c.name, file: c.location.file, tags: c.tags ?? [], ...(c.dbt?.generic ? { generic: c.dbt.generic.test } : {}) };
}

/** What a command asked to select, as the tests that name no node are chosen by it. */
export interface FreeTestRequest {
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** It selects the whole project but what `exclude` names (see lifecycle.ts selectsAll). */
  readonly selectsAll: boolean;
}

/**
 * Which of the tests that name no node (Analysis.freeTests) a command runs: every one when it
 * selects the whole project, as dbt build and dbt test run them; else those its `--select`
 * names (by name, path, tag, type: see freeTestMatches), intersections as written, and those
 * that read a node it selects (an ephemeral model); either way less those its `--exclude`
 * names. A pipeline's or a selector's selection names nodes only.
 */
export function freeTestChooser(request: FreeTestRequest, selected: ReadonlySet<string>): (c: Check) => boolean {
  const include = parseCliSelection(request.select ?? []).spec;
  const exclude = parseCliSelection(request.exclude ?? []).spec;
  return (c) => {
    const t = freeTestOf(c);
    const named = (spec: SelectionSpec | undefined) => spec !== undefined && holds(spec, (criterion) => freeTestMatches(criterion, t));
    return (request.selectsAll || named(include) || c.refs.some((r) => selected.has(r.model))) && !named(exclude);
  };
}

/** Whether a selection holds for one thing, each term as `term` says. */
function holds(spec: SelectionSpec, term: (c: Criterion) => boolean): boolean {
  switch (spec.kind) {
    case 'criterion':
      return term(spec);
    case 'union':
      return spec.parts.some((p) => holds(p, term));
    case 'intersection':
      return spec.parts.every((p) => holds(p, term));
    case 'difference':
      return holds(spec.include, term) && !holds(spec.exclude, term);
  }
}
