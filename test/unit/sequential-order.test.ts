import { describe, expect, it } from 'vitest';
import { sequentialOrder } from '../../src/plan/sequential-order.js';
import type { Task } from '../../src/plan/task.js';

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
});
