import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/analyze/checks.js';
import { attachTests } from '../../src/analyze/dbt/attach-tests.js';
import type { DbtTest } from '../../src/analyze/dbt/dbt-tests.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { makeGraph } from '../../src/graph/graph.js';

/**
 * Which node's task runs each dbt test, on tiny graphs: the node tested, with what else the
 * test reads built first, unless that would make a cycle.
 */

/** A test of `on` reading `others` too (a relationships test's parent). */
function test(name: string, on: string, ...others: string[]): DbtTest {
  const check: Check = { name, kind: 'dbt_generic', severity: 'error', scope: 'table', location: { file: 'models/schema.yml', line: 1 }, columns: ['id'], refs: [] };
  return { check, reads: [on, ...others], on: { kind: 'model', name: on } };
}

/** Where each test runs, and the reads each node gains, from `upstream` edges (node: what it refs). */
function attach(upstream: Record<string, string[]>, tests: DbtTest[]) {
  const graph = makeGraph(new Map(Object.entries(upstream)));
  const diagnostics: Diagnostic[] = [];
  const { nodes } = attachTests(tests, { graph, built: (n) => n in upstream, source: () => false }, diagnostics);
  expect(diagnostics).toEqual([]);
  const runs: Record<string, string> = {};
  const reads: Record<string, string[]> = {};
  for (const [node, attached] of nodes) {
    for (const c of attached.checks) runs[c.name] = node;
    if (attached.reads.length > 0) reads[node] = attached.reads.map((r) => r.name);
  }
  return { runs, reads };
}

describe('dbt tests attached to the task that runs them', () => {
  it('a relationships test runs with the child it tests, whichever name sorts first, the parent becoming its upstream', () => {
    // a_child sorts before b_parent: a fixed order of names would run the test with the parent.
    expect(attach({ a_child: [], b_parent: [], c_down: ['b_parent'] }, [test('rel', 'a_child', 'b_parent')])).toEqual({ runs: { rel: 'a_child' }, reads: { a_child: ['b_parent'] } });
    expect(attach({ z_child: [], b_parent: [] }, [test('rel', 'z_child', 'b_parent')])).toEqual({ runs: { rel: 'z_child' }, reads: { z_child: ['b_parent'] } });
  });

  it('a test of a node that another node it reads is built from runs with that later node', () => {
    // orders is upstream of summary: summary cannot be built before orders publishes.
    expect(attach({ orders: [], summary: ['orders'] }, [test('matches', 'orders', 'summary')])).toEqual({ runs: { matches: 'summary' }, reads: { summary: ['orders'] } });
  });

  it('a test each way between two models makes no cycle: the second runs where the first made it possible', () => {
    const { runs, reads } = attach({ a: [], b: [] }, [test('a_to_b', 'a', 'b'), test('b_to_a', 'b', 'a')]);
    expect(runs).toEqual({ a_to_b: 'a', b_to_a: 'a' });
    expect(reads).toEqual({ a: ['b', 'b'] });
  });

  it('a cycle through earlier tests is seen too', () => {
    // t1 makes b read a, t2 makes c read b: c is downstream of a, so a test of a reading c runs with c.
    const { runs } = attach({ a: [], b: [], c: [] }, [test('t1', 'b', 'a'), test('t2', 'c', 'b'), test('t3', 'a', 'c')]);
    expect(runs).toEqual({ t1: 'b', t2: 'c', t3: 'c' });
  });
});
