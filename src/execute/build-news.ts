import type { Task } from '../plan/task.js';
import type { BuildRecord } from '../warehouse/build-records.js';

/**
 * What the runs of one engine publish, told to the others as it happens: runs that overlap in
 * one process (a scheduler's catch-up) judge their tasks, and record what those were built
 * from, with what the others published since they started, as a run started after them would
 * read it from the warehouse (see RunCurrency.learn).
 */
export class BuildNews {
  private readonly listeners = new Map<string, (task: Task, build: BuildRecord | undefined, runId: string) => void>();

  /** Tells `runId` what the other runs publish, until the returned function is called. */
  listen(runId: string, learn: (task: Task, build: BuildRecord | undefined, runId: string) => void): () => void {
    this.listeners.set(runId, learn);
    return () => {
      if (this.listeners.get(runId) === learn) this.listeners.delete(runId);
    };
  }

  /** `runId` published `task` (with its build on record, when tracked). */
  tell(runId: string, task: Task, build: BuildRecord | undefined): void {
    for (const [other, learn] of this.listeners) if (other !== runId) learn(task, build, runId);
  }
}
