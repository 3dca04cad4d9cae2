import { nameGlob } from '../graph/glob-match.js';
import type { Analysis } from '../analyze/analyze.js';
import type { PythonReads } from '../analyze/dbt/python-config.js';
import { freeTestOf, namesDataTest, tagsTests, TEST_METHODS } from './test-selection.js';
import { namesFreeTest } from '../graph/selector-methods.js';
import { unknownSelector, type Pipeline, type ValidatedSettings } from '../analyze/project-settings.js';
import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { select } from '../graph/select.js';
import { selectableNode } from './selectable-node.js';
import { downstreamClosure, upstreamClosure } from '../graph/graph.js';
import type { NodeResult } from '../graph/selector-methods.js';
import type { PythonModelFile } from '../project/load-project.js';
import { parseCliSelection, unionOf, type Criterion, type NodeState, type SelectionSpec } from '../graph/selection-spec.js';

/**
 * Which selection a command evaluates, as dbt chooses it: `--select` (or `--selector`) minus
 * `--exclude`; else the pipeline's `select:` (or `selector:`) minus its `exclude:`; else, when
 * nothing selects or excludes anything, the selector of selectors.yml with `default: true`;
 * else every node. A pipeline's `exclude:` also applies under `--select`.
 */

export interface SelectionRequest {
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  readonly selector?: string;
  /** `pipe test`'s: an exclusion by a test method (`test_name:not_null`) leaves out those tests, not the nodes that have them. */
  readonly tests?: boolean;
  /** `pipe run`'s and `pipe backfill`'s: the selection is built, and a test named selects the node it runs with (said). */
  readonly building?: boolean;
}

/** Whether a selection names tests by a test method somewhere in it. */
function namesTests(spec: SelectionSpec, isTest: (c: Criterion) => boolean): boolean {
  switch (spec.kind) {
    case 'criterion':
      return isTest(spec);
    case 'union':
    case 'intersection':
      return spec.parts.some((p) => namesTests(p, isTest));
    case 'difference':
      return namesTests(spec.include, isTest) || namesTests(spec.exclude, isTest);
  }
}

/** An exclusion without its terms that name tests, by a test method or by a test's name (pipe test leaves those tests out, see test-selection.ts). */
function withoutTestTerms(spec: SelectionSpec | undefined, isTest: (c: Criterion) => boolean): SelectionSpec | undefined {
  if (spec === undefined || !namesTests(spec, isTest)) return spec;
  if (spec.kind !== 'union') return undefined;
  const parts = spec.parts.filter((p) => !namesTests(p, isTest));
  return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { ...spec, parts };
}

/** What `result:` reads: how each node's latest build ended (run state), or why that is not known. */
export type BuildResults =
  | { readonly kind: 'read'; readonly results: ReadonlyMap<string, ReadonlySet<NodeResult>> }
  | { readonly kind: 'unknown'; readonly why: string };

export interface Chosen {
  readonly selected: Set<string>;
  /** The nodes an exclusion names: a test that reads one is left out too, as dbt's eager selection leaves it out. */
  readonly excluded?: ReadonlySet<string>;
  /** The seeds an exclusion names (`--exclude team`): not loaded for what reads them, as dbt loads no excluded seed. */
  readonly excludedSeeds?: ReadonlySet<string>;
  /** The default selector, when it is what chose. */
  readonly defaultSelector?: string;
  readonly diagnostics: readonly Diagnostic[];
  /** What the command says before it starts: terms that rightly selected nothing, and why. */
  readonly notes: readonly string[];
  /** The selection has a `result:` term: what it selects depends on the run state. */
  readonly readsResults: boolean;
  /** The selection has `state:` terms and no states were given: what it selected counts no node by state. */
  readonly needsState?: boolean;
}

/** Models that are no node of the graph, whose errors or warnings already say why: their names and files. */
export interface Broken {
  readonly names: ReadonlySet<string>;
  readonly files: readonly string[];
}

export const NOTHING_BROKEN: Broken = { names: new Set(), files: [] };

/** A path term's folder or file holds `file` (a path relative to the project). */
function underPath(value: string, file: string): boolean {
  return file === value || file.startsWith(`${value.replace(/\/+$/, '')}/`);
}

export function chooseSelection(
  analysis: Analysis,
  settings: ValidatedSettings,
  request: SelectionRequest,
  pipeline: Pipeline | undefined,
  /** Models missing from the graph whose errors already say why: selecting them is not unknown as well. */
  broken: Broken,
  builds: BuildResults = { kind: 'unknown', why: 'this command does not read the run history' },
  /** What `state:` terms select by; absent, they select nothing and `needsState` says so. */
  states?: ReadonlyMap<string, ReadonlySet<NodeState>>,
): Chosen {
  const diagnostics: Diagnostic[] = [];
  const { selectors } = settings;
  const cliSelect = parseCliSelection(request.select ?? []);
  const cliExclude = parseCliSelection(request.exclude ?? []);
  for (const p of [...cliSelect.problems, ...cliExclude.problems]) {
    diagnostics.push(error(p.code, `selector '${p.text}': ${p.message}`, undefined, p.hint ? { hint: p.hint } : {}));
  }
  // A test runs in its node's build: leaving it out would leave the node out, not what dbt's --exclude of a test does.
  // (A test that names no node runs in no node's build: an exclusion names it alone, see test-selection.ts freeTestChooser.)
  const ofNodes = { nodes: analysis.nodes, sourceChecks: analysis.sourceChecks, freeTests: [] };
  // In pipe test, which builds nothing, an exclusion of a test leaves that test out (test-selection.ts).
  for (const c of request.tests ? [] : cliExclude.criteria.filter((c) => namesDataTest(c, ofNodes))) {
    diagnostics.push(
      error('unknown-selector', `--exclude ${c.text}: ${c.text} names a test, which runs in the build of the node it tests: pipe builds no node without its tests`, undefined, {
        hint: 'pipe test --select runs the other tests by name; --exclude the node itself leaves it and its tests out',
      }),
    );
  }
  // As a node is built with its tests: one that has a test of the kind named would be left out whole.
  for (const c of request.tests ? [] : cliExclude.criteria.filter((c) => TEST_METHODS.has(c.method))) {
    diagnostics.push(
      error('unknown-selector', `--exclude ${c.text}: ${c.text} names tests, which run in the build of the node they test: pipe builds no node without its tests, and would leave out every node that has one`, undefined, {
        hint: 'pipe test --exclude leaves those tests out of a test run; --exclude a node by its name or tag leaves it and its tests out',
      }),
    );
  }
  for (const c of request.tests ? [] : cliExclude.criteria.filter((c) => tagsTests(c, ofNodes))) {
    diagnostics.push(
      error('unknown-selector', `--exclude ${c.text}: tests have the tag '${c.value}', and a test runs in the build of the node it tests: pipe builds no node without its tests`, undefined, {
        hint: 'pipe test --select runs the other tests by tag or name; --exclude a node by its own tag or name leaves it and its tests out',
      }),
    );
  }
  // A test selected by name selects the node it runs with: a run builds that node (skipped when
  // current, its tests with it), where dbt build -s runs the test alone. Said, with the command that does.
  const testNotes = request.building ? cliSelect.criteria.filter((c) => namesDataTest(c, ofNodes)) : [];
  const selectedTests = testNotes.map(
    (c) => `selector '${c.text}' names a test, which runs in the build of the node it tests: that node is selected (a run skips it when current, its tests with it); pipe test --select ${c.text} runs the test alone, on the published table`,
  );
  // `--select ''` (or only commas) names nothing: it would select every model, or the pipeline's.
  if (request.select && request.select.length > 0 && cliSelect.criteria.length === 0 && cliSelect.problems.length === 0) {
    diagnostics.push(
      error('empty-selection', `--select ${request.select.map((t) => `'${t}'`).join(' ')} names no model`, undefined, {
        hint: "leave --select out to select every model (or the pipeline's selection)",
      }),
    );
  }
  if (request.selector !== undefined) {
    if (request.select && request.select.length > 0) {
      diagnostics.push(
        error('selection-conflict', '--select and --selector both say what to select: pass one', undefined, {
          hint: 'add the --select terms to the selector in selectors.yml, or leave --selector out',
        }),
      );
    } else if (!selectors.byName.has(request.selector) && !selectors.broken.has(request.selector)) {
      diagnostics.push(unknownSelector(request.selector, selectors));
    }
  }
  if (diagnostics.length > 0) return { selected: new Set(), diagnostics, notes: [], readsResults: false };

  // A pipeline's own problems were reported when it was read.
  const at = (key: 'selectAt' | 'excludeAt') => (pipeline ? (pipeline[key] ?? { file: pipeline.file }) : undefined);
  const pipelineSelect = parseCliSelection(pipeline?.select ?? [], at('selectAt')).spec;
  const pipelineExclude = parseCliSelection(pipeline?.exclude ?? [], at('excludeAt')).spec;
  const definition = (name: string | undefined) => (name === undefined ? undefined : selectors.byName.get(name)?.definition);
  const nothingChosen = request.selector === undefined && !cliSelect.spec && !cliExclude.spec && !pipelineSelect && !pipelineExclude && pipeline?.selector === undefined;
  const defaultSelector = nothingChosen ? selectors.defaultName : undefined;
  const include: SelectionSpec | undefined =
    cliSelect.spec ?? definition(request.selector) ?? pipelineSelect ?? definition(pipeline?.selector) ?? definition(defaultSelector);
  const cliNodeExclude = request.tests ? withoutTestTerms(cliExclude.spec, (c) => TEST_METHODS.has(c.method) || namesDataTest(c, ofNodes)) : cliExclude.spec;
  const exclude = unionOf([pipelineExclude, cliNodeExclude].filter((s): s is SelectionSpec => s !== undefined));

  const nodes = [...analysis.nodes.values()];
  const projectName = analysis.projectName;
  const results = builds.kind === 'read' ? builds.results : undefined;
  const { selected, excluded, problems, empty, evaluated } = select(analysis.graph, () => nodes.map(selectableNode), include, exclude, {
    projectName,
    results,
    states,
    exposures: analysis.exposures,
    freeTests: analysis.freeTests.map(freeTestOf),
    packages: Object.keys(analysis.packageVars),
  });
  const excludedSeeds = new Set([...excluded].filter((n) => analysis.nodes.get(n)?.kind === 'seed'));
  // Without the states (they are judged once the warehouse is open), state: terms matched nothing yet.
  const needsState = states === undefined && evaluated.some((c) => c.method === 'state');
  const notes = [...selectedTests, ...empty.filter((c) => c.method !== 'state' || states !== undefined).map((c) => `selector '${c.text}' selects nothing: ${emptyBecause(c, builds)}`)];
  const excluding = new Set<Criterion>(cliExclude.criteria);
  for (const p of problems) {
    const c = p.criterion;
    const name = c.method === 'fqn' ? c.value : undefined;
    const off = name === undefined ? undefined : analysis.disabled.get(name);
    // Excluding what is disabled excludes nothing, as dbt warns and goes on.
    if (off && excluding.has(c)) {
      notes.push(`selector '${c.text}' excludes nothing: ${name} is disabled (enabled: false)`);
      continue;
    }
    if (off) {
      const empty = analysis.emptyFiles?.has(name!) === true;
      diagnostics.push(error('disabled-model', `selector '${c.text}': ${empty ? `${off.file} is empty, and no model ${name} is built from it` : `${name} is disabled (enabled: false)`}`, off));
      continue;
    }
    if (name !== undefined && broken.names.has(name)) continue;
    // A folder of Python models (or of files with errors) is a folder of model files; a Python model's tag a tag.
    if (c.method === 'path' && broken.files.some((f) => underPath(c.value, f))) continue;
    if (c.method === 'tag' && [...(analysis.pythonTags?.values() ?? [])].some((tags) => tags.some(nameGlob(c.value)))) continue;
    diagnostics.push(error('unknown-selector', `selector '${c.text}': ${p.message}`, c.location, { hint: didYouMean(c.value, p.candidates) }));
  }
  // Every term matched something, and yet nothing is left (an intersection, an exclusion): said,
  // as dbt says it, so that a scheduled selection that became empty is not a silent success.
  const namesTestsAlone = cliSelect.criteria.some((c) => namesFreeTest(c, { freeTests: analysis.freeTests.map(freeTestOf) }));
  if (selected.size === 0 && notes.length === selectedTests.length && problems.length === 0 && !needsState && !namesTestsAlone && (include !== undefined || exclude !== undefined)) {
    const asked = [
      ...(request.select?.length ? [`--select ${request.select.join(' ')}`] : []),
      ...(request.selector !== undefined ? [`--selector ${request.selector}`] : []),
      ...(pipeline ? [`pipeline ${pipeline.name}`] : []),
      ...(request.exclude?.length ? [`--exclude ${request.exclude.join(' ')}`] : []),
    ];
    notes.push(`the selection selects nothing${asked.length > 0 ? ` (${asked.join(', ')})` : ''}: each term matches something, but no model or seed is left after the intersections and exclusions; nothing runs`);
  }
  return {
    selected,
    excluded,
    ...(excludedSeeds.size > 0 ? { excludedSeeds } : {}),
    defaultSelector,
    diagnostics,
    notes,
    readsResults: evaluated.some((c) => c.method === 'result'),
    ...(needsState ? { needsState } : {}),
  };
}

/** Why a term whose empty match is an answer selected nothing. */
function emptyBecause(c: Criterion, builds: BuildResults): string {
  if (c.method === 'state') return `no model or seed is ${c.value}`;
  return builds.kind === 'read' ? `no node's latest build ended ${c.value}` : builds.why;
}

/**
 * What a command that builds `selected` may build: those nodes, the ephemeral models inlined into them, and the seeds upstream of them
 * (but those an exclusion names), which a run loads when they are missing or changed. An error that keeps one node from being
 * built (Diagnostic.blocks) stops such a command.
 */
export function mayBuild(analysis: Pick<Analysis, 'graph' | 'nodes'>, selected: ReadonlySet<string>, excludedSeeds: ReadonlySet<string> = new Set()): ReadonlySet<string> {
  const out = new Set(selected);
  for (const n of upstreamClosure(analysis.graph, selected)) if (analysis.nodes.get(n)?.kind === 'seed' && !excludedSeeds.has(n)) out.add(n);
  // An ephemeral model is built into each model that reads it (inlined), and so into theirs.
  const stack = [...selected];
  while (stack.length > 0) {
    for (const u of analysis.nodes.get(stack.pop()!)?.upstream ?? []) {
      const up = analysis.nodes.get(u);
      if (up?.kind === 'model' && up.config.kind === 'ephemeral' && !out.has(u)) {
        out.add(u);
        stack.push(u);
      }
    }
  }
  return out;
}

/**
 * The Python models (which pipe never builds) a command may build: each, unless the selection
 * leaves it out by its name, folder or tag (`--exclude py_model`, `--select orders`,
 * `--select tag:sql`), selects nodes of another kind alone (`resource_type:seed`), or selects
 * what is downstream of nodes (`orders+`, `source:raw+`) that it does not read, as its
 * dbt.ref() and dbt.source() calls say. A Python model is no node of pipe's graph, so no other
 * term can be evaluated for it: any other counts as building it, and its error then stops the command.
 */
export function pythonModelsBuilt(
  models: readonly PythonModelFile[],
  settings: ValidatedSettings,
  request: SelectionRequest,
  pipeline: Pipeline | undefined,
  analysis: Pick<Analysis, 'pythonTags' | 'pythonReads' | 'graph' | 'nodes'>,
): ReadonlySet<string> {
  const out = new Set<string>();
  if (models.length === 0) return out;
  const tags = analysis.pythonTags ?? new Map<string, readonly string[]>();
  // --select replaces the pipeline's selection; the exclusions of both apply.
  const select = request.select?.length ? request.select : (pipeline?.select ?? []);
  const exclude = [...(request.exclude ?? []), ...(pipeline?.exclude ?? [])];
  const excluded = parseCliSelection(exclude).criteria;
  const selected = parseCliSelection(select).criteria;
  const bySelector = request.selector !== undefined || pipeline?.selector !== undefined || (select.length === 0 && exclude.length === 0 && settings.selectors.defaultName !== undefined);
  const names = (c: Criterion, m: PythonModelFile) =>
    (c.method === 'fqn' && c.value === m.name) || (c.method === 'path' && underPath(c.value, m.file)) || (c.method === 'tag' && (tags.get(m.name) ?? []).some(nameGlob(c.value)));
  const alone = (c: Criterion) => c.children === 0 && !c.childrensParents;
  // A resource type other than a model's selects no model, alone.
  const otherKind = (c: Criterion) => c.method === 'resource_type' && alone(c) && !['model', 'python_model', 'all'].includes(c.value);
  const reaches = downstreamReach(analysis);
  const leavesOut = (c: Criterion, m: PythonModelFile) =>
    ((c.method === 'fqn' || c.method === 'path' || c.method === 'tag') && alone(c) && !names(c, m)) || otherKind(c) || reaches(c, m.name) === false;
  for (const m of models) {
    if (excluded.some((c) => alone(c) && names(c, m))) continue;
    const onlyOthers = !bySelector && selected.length > 0 && selected.every((c) => leavesOut(c, m));
    if (!onlyOthers) out.add(m.name);
  }
  return out;
}

/**
 * Whether a term that selects what is downstream of a node by its name, or of a source
 * (`orders+`, `source:raw.orders+`), reaches a Python model through what it reads; undefined
 * where that cannot be told (another method, a name with wildcards, a model whose reads are
 * not literals).
 */
function downstreamReach(analysis: Pick<Analysis, 'pythonReads' | 'graph' | 'nodes'>): (c: Criterion, python: string) => boolean | undefined {
  const down = new Map<string, ReadonlySet<string>>();
  const downstreamOf = (start: readonly string[]) => {
    const key = start.join('\u0000');
    let found = down.get(key);
    if (found === undefined) down.set(key, (found = new Set([...start, ...downstreamClosure(analysis.graph, start)])));
    return found;
  };
  // Whether `python` reads what `reached` holds, or a Python model that does (a chain of them); undefined where one's reads are not known.
  const readsFrom = (python: string, reached: ReadonlySet<string>, direct: (reads: PythonReads) => boolean, seen = new Set<string>()): boolean | undefined => {
    const reads = analysis.pythonReads?.get(python);
    if (reads === undefined || reads.dynamic) return undefined;
    if (direct(reads) || reads.refs.some((r) => reached.has(r))) return true;
    seen.add(python);
    let unknown = false;
    for (const r of reads.refs) {
      if (seen.has(r) || !analysis.pythonReads?.has(r)) continue;
      const upstream = readsFrom(r, reached, direct, seen);
      if (upstream === true) return true;
      if (upstream === undefined) unknown = true;
    }
    return unknown ? undefined : false;
  };
  return (c, python) => {
    if (c.children === 0 || c.childrensParents || /[*?[]/.test(c.value)) return undefined;
    if (c.method === 'fqn' && !c.value.includes('.')) {
      // A Python model named: it, and the Python models reading it.
      if (analysis.pythonReads?.has(c.value)) return python === c.value || readsFrom(python, new Set([c.value]), () => false);
      if (!analysis.nodes.has(c.value)) return undefined;
      return readsFrom(python, downstreamOf([c.value]), () => false);
    }
    if (c.method === 'source') {
      const [src, table] = c.value.split('.');
      const start = [...analysis.nodes.values()].filter((n) => n.kind === 'source' && n.source === src && (table === undefined || n.table === table)).map((n) => n.name);
      if (start.length === 0) return undefined;
      return readsFrom(python, downstreamOf(start), (reads) => reads.sources.some((s) => s.split('.')[0] === src && (table === undefined || s.split('.')[1] === table)));
    }
    return undefined;
  };
}
