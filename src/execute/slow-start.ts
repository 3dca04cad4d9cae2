/**
 * How many dates a backfill keeps in flight. It starts with one and doubles each time a date
 * succeeds, up to the limit, until the first failure. Every failed task halves it; after a
 * failure it doubles again only after a run of consecutive successful dates as long as the
 * window itself. A small first step shows which errors appear before many dates are started,
 * and frequent errors keep the backfill slow: one success between two failures is not enough
 * to undo a halving.
 */
export class SlowStart {
  private window: number;
  /** At least one date is always allowed in flight, or a backfill could never progress. */
  readonly limit: number;
  /** A task has failed: growth now waits for a run of successes. */
  private cautious = false;
  /** Successful dates since the window last changed. */
  private streak = 0;

  constructor(limit: number, start = 1) {
    this.limit = Math.max(1, limit);
    this.window = Math.max(1, Math.min(this.limit, start));
  }

  get current(): number {
    return this.window;
  }

  dateSucceeded(): void {
    this.streak++;
    if (this.cautious && this.streak < this.window) return;
    this.window = Math.min(this.limit, this.window * 2);
    this.streak = 0;
  }

  taskFailed(): void {
    this.cautious = true;
    this.streak = 0;
    this.window = Math.max(1, Math.floor(this.window / 2));
  }
}
