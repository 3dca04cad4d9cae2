import TinyQueue from 'tinyqueue';
import type { Task } from './task.js';

/**
 * The order in which a run with one worker would start the tasks: among the tasks whose
 * upstream (and `after`) tasks are done, the earliest in the plan first. The plan's own order
 * is priority, not execution: a table that a backfill's dates read is planned after the
 * dates, yet runs before them. Dry runs print this order.
 */
export function sequentialOrder(tasks: readonly Task[]): Task[] {
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const waiting = tasks.map((t) => [...t.upstream, ...(t.after ?? [])].filter((u) => index.has(u)).length);
  const next: number[][] = tasks.map(() => []);
  tasks.forEach((t, i) => {
    for (const u of [...t.upstream, ...(t.after ?? [])]) {
      const j = index.get(u);
      if (j !== undefined) next[j].push(i);
    }
  });
  // Ready tasks by plan index, the lowest first: a heap, so that a wide graph (thousands ready at once) orders in n log n.
  const ready = new TinyQueue<number>(waiting.flatMap((w, i) => (w === 0 ? [i] : [])), (a, b) => a - b);
  const out: Task[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    out.push(tasks[i]);
    for (const d of next[i]) if (--waiting[d] === 0) ready.push(d);
  }
  // A cycle is an analysis error before any plan; never drop a task from what is shown.
  if (out.length < tasks.length) {
    const shown = new Set(out);
    out.push(...tasks.filter((t) => !shown.has(t)));
  }
  return out;
}
