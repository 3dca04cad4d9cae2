/**
 * How many dates a backfill keeps in flight: it starts with one, doubles each time a date
 * succeeds, up to the limit, and halves after each failure. A small first step shows which
 * errors appear before many dates are started; frequent errors slow the backfill down.
 */
export class SlowStart {
  private window: number;

  constructor(
    readonly limit: number,
    start = 1,
  ) {
    this.window = Math.max(1, Math.min(limit, start));
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
