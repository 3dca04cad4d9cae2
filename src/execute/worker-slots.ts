/**
 * The numbers of a run's threads, 1..threads: a task takes the lowest free one while it runs and
 * gives it back, so that the tasks of one number never overlap in time and the run's timeline
 * draws one lane per thread.
 */
export class WorkerSlots {
  private readonly busy = new Set<number>();

  take(): number {
    let n = 1;
    while (this.busy.has(n)) n++;
    this.busy.add(n);
    return n;
  }

  give(n: number): void {
    this.busy.delete(n);
  }
}
