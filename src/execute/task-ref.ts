import type { TaskRef } from '../events/events.js';
import type { Task } from '../plan/task.js';

/** A task as events name it. */
export function taskRef(t: Task): TaskRef {
  return { id: t.id, model: t.node, kind: t.kind, file: t.file, ds: t.ds, ...(t.phase ? { phase: t.phase } : {}), ...(t.lookback ? { lookback: t.lookback } : {}) };
}
