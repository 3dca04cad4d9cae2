import type { Analysis, ModelNode } from '../analyze/analyze.js';
import { nameGlob } from '../graph/glob-match.js';
import { isSingular, parseCliSelection, type Criterion, type SelectionSpec } from '../graph/selection-spec.js';
import { freeTestMatches, type FreeTest } from '../graph/selector-methods.js';
import type { Check } from '../analyze/checks.js';
import type { TestFilter } from '../plan/plan.js';
import { fileMatcher } from '../graph/selector-methods.js';
import { select as selectNodes } from '../graph/select.js';
import { selectableNode } from './selectable-node.js';

/** What choosing tests reads of an analysis. */
type SelectionAnalysis = Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests' | 'graph' | 'projectName' | 'exposures'>;

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
  analysis: SelectionAnalysis,
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

/** Whether one term of an exclusion leaves out a unit test: as a selection takes it, or by naming its model; not by a tag (an exclusion by tag names nodes). */
function excludesUnitTest(c: Criterion, model: string, test: string): boolean {
  if (c.method === 'fqn') return !c.value.includes('.') && (nameGlob(c.value)(model) || nameGlob(c.value)(test));
  return c.method !== 'tag' && termTakesUnitTest(c, model, test, []);
}

/**
 * The tests `--select` names (see testFilter), when a term of it names tests. Terms that name
 * nodes (`orders,test_name:unique`, `+orders,test_type:singular`) take the tests of the nodes
 * they select, and the terms combine as written: a comma intersects, a space unites, as dbt
 * selects tests. A node term whose nodes depend on the run state (`state:`, `result:`) leaves
 * every test of the selected nodes to run.
 */
function testsSelected(select: readonly string[] | undefined, analysis: SelectionAnalysis): TestFilter | undefined {
  const { criteria, spec } = parseCliSelection(select ?? []);
  if (spec === undefined || criteria.length === 0) return undefined;
  const naming = new Set(criteria.filter((c) => namesTests(c, analysis)));
  if (naming.size === 0) return undefined;
  const byNode = criteria.filter((c) => !naming.has(c));
  if (byNode.some((c) => c.method === 'state' || c.method === 'result')) return undefined;
  const nodesOf = termNodes(byNode, analysis);
  const unitTags = (model: string, test: string) => (analysis.nodes.get(model) as ModelNode | undefined)?.unitTests?.find((t) => t.name === test)?.tags ?? [];
  return {
    // Data tests run unless every term names unit tests alone.
    data: byNode.length > 0 || [...naming].some((c) => !namesUnitTestsOnly(c)),
    // A node term takes the tests of the nodes it selects, and those that read one of them (a
    // singular test of two models runs with the later; dbt's eager selection takes it for either).
    dataTest: (node, check) => holds(spec, (c) => (naming.has(c) ? termTakesCheck(c, check) : nodesOf(c).has(node) || check.refs.some((r) => nodesOf(c).has(r.model)))),
    unit: (model, test) => holds(spec, (c) => (naming.has(c) ? termTakesUnitTest(c, model, test, unitTags(model, test)) : nodesOf(c).has(model))),
  };
}

/** Whether a term names unit tests and no data test: `unit_test:x`, `test_type:unit`, `resource_type:unit_test`. */
function namesUnitTestsOnly(c: Criterion): boolean {
  return c.method === 'unit_test' || (c.method === 'test_type' && c.value === 'unit') || (c.method === 'resource_type' && c.value === 'unit_test');
}

/** The nodes each term selects, as the command's selection evaluates it: asked once a term. */
function termNodes(criteria: readonly Criterion[], analysis: SelectionAnalysis): (c: Criterion) => ReadonlySet<string> {
  const known = new Map<Criterion, ReadonlySet<string>>();
  const nodes = () => [...analysis.nodes.values()].map(selectableNode);
  const context = { projectName: analysis.projectName, exposures: analysis.exposures, freeTests: analysis.freeTests.map(freeTestOf) };
  return (c) => {
    let out = known.get(c);
    if (!out) {
      out = criteria.includes(c) ? selectNodes(analysis.graph, nodes, c, undefined, context).selected : new Set<string>();
      known.set(c, out);
    }
    return out;
  };
}

/** Whether one term of a selection of tests takes a unit test (of `model`, with `tags`). */
function termTakesUnitTest(c: Criterion, model: string, test: string, tags: readonly string[]): boolean {
  switch (c.method) {
    case 'test_type':
      return c.value === 'unit';
    case 'resource_type':
      return c.value === 'unit_test';
    case 'unit_test':
    case 'test_name':
      return nameGlob(c.value)(test) || nameGlob(c.value)(`${model}.${test}`);
    // A bare name that names tests (namesDataTest): a unit test of that name too, as dbt selects it.
    case 'fqn':
      return !c.value.includes('.') && nameGlob(c.value)(test);
    case 'tag':
      return tags.some(nameGlob(c.value));
    default:
      return false;
  }
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

/** Whether a `tag:` term (without operators) matches a data test's or unit test's own tags. */
export function tagsTests(c: Criterion, analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>): boolean {
  if (c.method !== 'tag' || c.parents || c.children || c.childrensParents) return false;
  const match = nameGlob(c.value);
  const checks = [...analysis.nodes.values()].flatMap((n) => (n.kind === 'source' ? [] : n.checks));
  const unitTags = [...analysis.nodes.values()].flatMap((n) => (n.kind === 'model' ? (n.unitTests ?? []).flatMap((t) => t.tags) : []));
  return [...checks, ...[...analysis.sourceChecks.values()].flat(), ...analysis.freeTests].some((ch) => (ch.tags ?? []).some(match)) || unitTags.some(match);
}

/** Whether a bare term is the name of a data test (a glob of names), and of no model or seed. */
export function namesDataTest(c: Criterion, analysis: Pick<Analysis, 'nodes' | 'sourceChecks' | 'freeTests'>): boolean {
  if (c.method !== 'fqn' || c.value.includes('.') || c.parents || c.children || c.childrensParents) return false;
  const match = nameGlob(c.value);
  for (const [name, n] of analysis.nodes) {
    if (n.kind !== 'source' && match(name)) return false;
  }
  const checks = [...analysis.nodes.values()].flatMap((n) => (n.kind === 'source' ? [] : n.checks));
  const units = [...analysis.nodes.values()].flatMap((n) => (n.kind === 'model' ? (n.unitTests ?? []).map((t) => t.name) : []));
  return [...checks, ...[...analysis.sourceChecks.values()].flat(), ...analysis.freeTests].some((ch) => match(ch.name)) || units.some(match);
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
