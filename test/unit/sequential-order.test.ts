import { describe, expect, it } from 'vitest';
import { sequentialOrder } from '../../src/plan/sequential-order.js';
import type { Task } from '../../src/plan/task.js';
import { Random } from '../support/random.js';

const task = (id: string, upstream: string[] = [], after?: string[]): Task => ({
  id,
  node: id.split('@')[0],
  kind: 'table',
  file: `models/${id}.sql`,
  relation: `"main"."${id}"`,
  schema: 'main',
  upstream,
  after,
  steps: [],
  lockKey: id,
});

describe('sequentialOrder', () => {
  it('runs what a task waits for first, even when the plan lists it later', () => {
    const plan = [task('fct@1', ['dim']), task('fct@2', ['dim']), task('dim', ['raw']), task('raw')];
    expect(sequentialOrder(plan).map((t) => t.id)).toEqual(['raw', 'dim', 'fct@1', 'fct@2']);
  });

  it('keeps plan order among ready tasks and honours ordering-only edges', () => {
    const plan = [task('a@3'), task('a@2', [], ['a@3']), task('b@3', ['a@3']), task('a@1', [], ['a@2'])];
    expect(sequentialOrder(plan).map((t) => t.id)).toEqual(['a@3', 'a@2', 'b@3', 'a@1']);
  });

  it('ignores upstream ids outside the plan (done before it)', () => {
    expect(sequentialOrder([task('x', ['gone']), task('y')]).map((t) => t.id)).toEqual(['x', 'y']);
  });
  it('takes, at every step, the earliest task in the plan whose tasks before it are done, over random graphs', () => {
    const rng = new Random(3);
    const random = () => rng.next();
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(random() * 60);
      // Edges point to tasks of a random rank below: acyclic, yet in any plan order.
      const rank = Array.from({ length: n }, () => random());
      const ids = rank.map((_, i) => `t${i}`);
      const below = (i: number) => ids.filter((_, j) => rank[j] < rank[i]);
      const plan = ids.map((id, i) => task(id, below(i).filter(() => random() < 0.15), below(i).filter(() => random() < 0.05)));
      const expected: string[] = [];
      const done = new Set<string>();
      while (expected.length < n) {
        const next = plan.find((t) => !done.has(t.id) && [...t.upstream, ...(t.after ?? [])].every((u) => done.has(u)))!;
        done.add(next.id);
        expected.push(next.id);
      }
      expect(sequentialOrder(plan).map((t) => t.id)).toEqual(expected);
    }
  });
});
