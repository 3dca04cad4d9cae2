import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { topologicalOrder, type Graph } from '../../graph/graph.js';
import type { Check } from '../checks.js';
import type { DbtTest } from './dbt-tests.js';

/**
 * Which task runs each dbt test. dbt runs a test once everything it reads is built; pipe runs
 * it inside a build, before a node publishes, so that a failing test keeps the bad data out.
 * A test runs with the node it reads that comes last in one fixed dependency order of the
 * project -- the node it tests, when that is built after the others (a relationships parent is
 * upstream of its child) -- and the other nodes it reads become that node's upstream. An ephemeral
 * model has no task: a test reading one waits for what that model reads. A source is never
 * built: there is nothing to wait for.
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
}

export function attachTests(tests: readonly DbtTest[], ctx: AttachContext, diagnostics: Diagnostic[]): Map<string, NodeTests> {
  const out = new Map<string, NodeTests>();
  if (tests.length === 0) return out;
  const position = new Map(topologicalOrder(ctx.graph).map((n, i) => [n, i]));
  const anchors = anchorsOf(ctx);
  for (const test of tests) {
    const candidates = [...new Set(test.reads.flatMap(anchors))];
    if (candidates.length === 0) {
      diagnostics.push(
        error('untethered-test', `test ${test.check.name} reads no model or seed that pipe builds (only ephemeral models or sources): it has no build to run with`, test.check.location, {
          hint: 'test a model or seed that is built from what it reads',
        }),
      );
      continue;
    }
    const tested = test.on.kind === 'model' || test.on.kind === 'seed' ? test.on.name : undefined;
    const last = candidates.reduce((a, b) => ((position.get(b) ?? -1) > (position.get(a) ?? -1) ? b : a));
    // Every test runs with the last of what it reads in one fixed dependency order, the others
    // becoming its upstream: the edges tests add all point forward in that order, so no two
    // tests (a relationships test each way between two models) can make a cycle.
    const node = last;
    const entry = out.get(node) ?? { checks: [], reads: [] };
    out.set(node, entry);
    entry.checks.push({
      ...test.check,
      // The node it runs with is the data checked; the columns it names are the tested node's.
      refs: test.reads.filter((r) => r !== node).map((model) => ({ model })),
      columns: node === tested ? test.check.columns : [],
    });
    for (const c of candidates) if (c !== node) entry.reads.push({ name: c, location: test.check.location });
  }
  return out;
}

/** The built nodes a node stands for: itself, or, for an ephemeral model, what it reads, looked through. */
function anchorsOf(ctx: AttachContext): (name: string) => readonly string[] {
  const memo = new Map<string, readonly string[]>();
  const of = (name: string): readonly string[] => {
    const known = memo.get(name);
    if (known) return known;
    if (ctx.built(name)) {
      memo.set(name, [name]);
      return [name];
    }
    memo.set(name, []); // a cycle is reported by analysis; this only guards the walk
    const found = [...new Set((ctx.graph.upstream.get(name) ?? []).flatMap(of))];
    memo.set(name, found);
    return found;
  };
  return of;
}
