import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Stops the queries of a run when its signal aborts. An interrupt that reaches a connection
 * before its query has started is lost to DuckDB, so it is repeated until every query that
 * may be interrupted has stopped. A publishing transaction's commit is never interrupted;
 * what runs before it is, where it may take long (a query, the checks).
 */
export class Interrupter {
  /** Sessions running a query that an abort may interrupt. */
  private readonly working = new Set<WarehouseSession>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly onAbort = () => {
    const tick = () => {
      for (const s of this.working) s.interrupt();
    };
    tick();
    this.timer = setInterval(tick, 100);
    this.timer.unref();
  };

  constructor(private readonly signal: AbortSignal | undefined) {
    signal?.addEventListener('abort', this.onAbort);
  }

  /** Runs `work` on `session`, interruptible by an abort meanwhile. */
  async during<T>(session: WarehouseSession, work: () => Promise<T>): Promise<T> {
    this.working.add(session);
    try {
      return await work();
    } finally {
      this.working.delete(session);
    }
  }

  /**
   * Stops interrupting `session` before its `during` ends: what it sends next (a commit) runs
   * to its end. An interrupt sent before is lost once that statement starts.
   */
  release(session: WarehouseSession): void {
    this.working.delete(session);
  }

  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    clearInterval(this.timer);
  }
}
