/**
 * How many dates a backfill keeps in flight: it starts with one, doubles each time a date
 * succeeds, up to the limit, and halves after each failure. A small first step shows which
 * errors appear before many dates are started; frequent errors slow the backfill down.
 */
export class SlowStart {
  private window: number;
  /** At least one date is always allowed in flight, or a backfill could never progress. */
  readonly limit: number;

  constructor(limit: number, start = 1) {
    this.limit = Math.max(1, limit);
    this.window = Math.max(1, Math.min(this.limit, start));
  }

  get current(): number {
    return this.window;
  }

  dateSucceeded(): void {
    this.window = Math.min(this.limit, this.window * 2);
  }

  taskFailed(): void {
    this.window = Math.max(1, Math.floor(this.window / 2));
  }
}
