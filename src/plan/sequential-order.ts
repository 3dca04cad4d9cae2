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
  // Ready tasks by plan index, kept sorted.
  const ready: number[] = [];
  const add = (i: number) => {
    let lo = 0;
    let hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ready[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, i);
  };
  waiting.forEach((w, i) => w === 0 && add(i));
  const out: Task[] = [];
  while (ready.length > 0) {
    const i = ready.shift()!;
    out.push(tasks[i]);
    for (const d of next[i]) if (--waiting[d] === 0) add(d);
  }
  // A cycle is an analysis error before any plan; never drop a task from what is shown.
  if (out.length < tasks.length) out.push(...tasks.filter((t) => !out.includes(t)));
  return out;
}
