import { type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { downstreamMap, topologicalOrder, type Graph } from '../../graph/graph.js';
import type { Check } from '../checks.js';
import type { DbtTest } from './dbt-tests.js';
import { pushTo } from '../../util/multi-map.js';

/**
 * Which task runs each dbt test. dbt runs a test once everything it reads is built; pipe runs
 * it inside a build, before a node publishes, so that a failing test keeps the bad data out.
 * A test runs with the node it tests (dbt's attached node), and the other nodes it reads become
 * that node's upstream: a relationships test of orders.customer_id keeps orders out until
 * customers is built and the test passes, whichever name comes first. Where that would make a
 * cycle (the tested node is upstream of another node the test reads, or a test each way between
 * two models), the test runs with the last node it reads that none of the others reads,
 * in one fixed dependency order of the project. An ephemeral
 * model has no task: a test of one runs with each model that reads it (it checks what they are
 * built from), else, as a test reading one, it waits for what that model reads. A source is never
 * built: there is nothing to wait for; a test that reads nothing built but sources (an
 * ephemeral model over them) runs with the tests of the last of those sources.
 */

/** A node's tests and the nodes they make it read, each with the test's place. */
export interface NodeTests {
  readonly checks: Check[];
  readonly reads: { readonly name: string; readonly location: Location }[];
}

export interface AttachContext {
  /** The graph of the nodes and their refs, before any test adds to it. */
  readonly graph: Graph;
  /** Whether a node has a task (not an ephemeral model). */
  readonly built: (name: string) => boolean;
  /** Whether a node is a source table. */
  readonly source: (name: string) => boolean;
}

export interface AttachedTests {
  /** The tests each built node runs, and what they make it read. */
  readonly nodes: Map<string, NodeTests>;
  /** The tests that run with a source table's own (they read no built node), by `source.table`. */
  readonly sources: Map<string, Check[]>;
  /** The tests that name no built node: no node's build runs them; each runs on its own (plan.ts freeTestTasks), and is a node of dbt's graph (see DbtTest.unrun). */
  readonly unrun: Check[];
}

export function attachTests(tests: readonly DbtTest[], ctx: AttachContext, diagnostics: Diagnostic[]): AttachedTests {
  const out = new Map<string, NodeTests>();
  const onSources = new Map<string, Check[]>();
  const unrun: Check[] = [];
  if (tests.length === 0) return { nodes: out, sources: onSources, unrun };
  const position = new Map(topologicalOrder(ctx.graph).map((n, i) => [n, i]));
  const last = (names: readonly string[]) => names.reduce((a, b) => ((position.get(b) ?? -1) > (position.get(a) ?? -1) ? b : a));
  // What a test waits for: every built node it reads, through ephemeral models and the seed
  // that loads a source; what it may run with: a built node it reads other than through a source.
  const waitsFor = anchorsOf(ctx, ctx.built, () => true);
  const runsWith = anchorsOf(ctx, ctx.built, (name) => !ctx.source(name));
  const sourceAnchors = anchorsOf(ctx, ctx.source, (name) => !ctx.built(name));
  const added = new GraphWithTests(ctx.graph);
  const readersOf = builtReaders(ctx);
  for (const test of tests) {
    if (test.unrun) {
      unrun.push(test.check);
      continue;
    }
    const candidates = [...new Set(test.reads.flatMap(runsWith))];
    const sources = candidates.length === 0 ? [...new Set(test.reads.flatMap(sourceAnchors))] : [];
    if (sources.length > 0) {
      const source = last(sources);
      pushTo(onSources, source, { ...test.check, refs: test.reads.filter((r) => r !== source).map((model) => ({ model })), columns: [] });
      continue;
    }
    const tested = test.on.kind === 'model' || test.on.kind === 'seed' ? test.on.name : undefined;
    const waited = [...new Set(test.reads.flatMap(waitsFor))];
    // A node the test may run with: none of the others it waits for reads it, so the edges the
    // test adds (each of them upstream of the node) make no cycle with the graph's or earlier tests'.
    const fits = (n: string) => !added.upstreamOfAny(n, waited.filter((c) => c !== n));
    // A test of an ephemeral model checks what the models reading it are built from: it runs
    // with each of them, before it publishes, once what the ephemeral model reads is built
    // (their upstream already), not with one of those inputs, whose own rows may be right.
    const readers = tested !== undefined && !ctx.built(tested) && !ctx.source(tested) ? readersOf(tested) : [];
    if (readers.length > 0 && readers.every(fits)) {
      for (const reader of readers) {
        const entry = out.get(reader) ?? { checks: [], reads: [] };
        out.set(reader, entry);
        entry.checks.push({ ...test.check, refs: test.reads.filter((r) => r !== reader).map((model) => ({ model })), columns: [] });
        for (const c of waited) {
          if (c === reader) continue;
          entry.reads.push({ name: c, location: test.check.location });
          added.add(reader, c);
        }
      }
      continue;
    }
    if (candidates.length === 0) {
      // It reads only ephemeral models that read no node, and none is read: it runs on its own, as one that names no node.
      unrun.push({ ...test.check, refs: test.reads.map((model) => ({ model })), columns: [] });
      continue;
    }
    const byPlace = [...candidates].sort((a, b) => (position.get(b) ?? -1) - (position.get(a) ?? -1));
    const node = tested !== undefined && candidates.includes(tested) && fits(tested) ? tested : (byPlace.find(fits) ?? last(candidates));
    const entry = out.get(node) ?? { checks: [], reads: [] };
    out.set(node, entry);
    entry.checks.push({
      ...test.check,
      // The node it runs with is the data checked; the columns it names are the tested node's.
      refs: test.reads.filter((r) => r !== node).map((model) => ({ model })),
      columns: node === tested ? test.check.columns : [],
    });
    for (const c of waited) {
      if (c === node) continue;
      entry.reads.push({ name: c, location: test.check.location });
      added.add(node, c);
    }
  }
  return { nodes: out, sources: onSources, unrun };
}

/** The graph's edges and those the tests attached so far add (a node reading what its tests read). */
class GraphWithTests {
  private readonly added = new Map<string, string[]>();

  constructor(private readonly graph: Graph) {}

  add(node: string, upstream: string): void {
    const list = this.added.get(node);
    if (list) list.push(upstream);
    else this.added.set(node, [upstream]);
  }

  /** Whether `node` is upstream of any of `from`, however indirectly. */
  upstreamOfAny(node: string, from: readonly string[]): boolean {
    if (from.length === 0) return false;
    const seen = new Set<string>();
    const stack = [...from];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n === node) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const u of this.graph.upstream.get(n) ?? []) stack.push(u);
      for (const u of this.added.get(n) ?? []) stack.push(u);
    }
    return false;
  }
}

/**
 * The nodes of a kind (`is`: built ones, sources) a node stands for: itself, or what it reads,
 * looked through where `through` lets (an ephemeral model).
 */
function anchorsOf(ctx: AttachContext, is: (name: string) => boolean, through: (name: string) => boolean): (name: string) => readonly string[] {
  const memo = new Map<string, readonly string[]>();
  const of = (name: string): readonly string[] => {
    const known = memo.get(name);
    if (known) return known;
    if (is(name)) {
      memo.set(name, [name]);
      return [name];
    }
    if (!through(name)) {
      memo.set(name, []);
      return [];
    }
    memo.set(name, []); // a cycle is reported by analysis; this only guards the walk
    const found = [...new Set((ctx.graph.upstream.get(name) ?? []).flatMap(of))];
    memo.set(name, found);
    return found;
  };
  return of;
}

/** The built nodes that read a node, directly or through ephemeral models (which have no task). */
function builtReaders(ctx: AttachContext): (name: string) => readonly string[] {
  const down = downstreamMap(ctx.graph);
  const memo = new Map<string, readonly string[]>();
  const of = (name: string): readonly string[] => {
    const known = memo.get(name);
    if (known) return known;
    memo.set(name, []); // a cycle is reported by analysis; this only guards the walk
    const found = [...new Set((down.get(name) ?? []).flatMap((n) => (ctx.built(n) ? [n] : ctx.source(n) ? [] : of(n))))];
    memo.set(name, found);
    return found;
  };
  return of;
}
