import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import { HeapRoom, type HeapUse } from '../util/heap-room.js';

/**
 * Of node's heap, what a plan may fill: what runs it (judging each task's currency, a sixth
 * more on the example's plan; the executor's state) needs room beside it.
 */
const PLAN_SHARE = 0.75;

/** Tasks planned between two looks at the heap. */
const LOOK_EVERY = 512;

/**
 * A long backfill's plan, watched as it grows: a task each date of each model kept by date
 * (4-13 KB each, more for long queries and many checks), and node's heap is limited (4 GB by default on a large
 * machine, less on a small one). Once the plan fills its share, the plan is refused, saying how
 * many of the dates would fit and how to give node more; nothing has run yet.
 */
export class PlanRoom {
  private readonly heap = new HeapRoom(PLAN_SHARE);
  private planned = 0;

  /** `tasks`: how many the plan will hold; `dates`: the range's dates (labels), oldest first; `dated`: the models kept by date. */
  constructor(
    private readonly tasks: number,
    private readonly dates: readonly string[],
    private readonly dated: number,
  ) {}

  /** One more task planned; throws once the plan fills its share of the heap. */
  add(): void {
    if (++this.planned % LOOK_EVERY !== 0) return;
    const full = this.heap.full();
    if (full) throw new DiagnosticError([error('plan-too-large', planTooLarge(full, this.planned, this.tasks, this.dates, this.dated))]);
  }
}

/** The refusal: what was asked, what it would take, and the two ways out. */
export function planTooLarge(heap: HeapUse, planned: number, tasks: number, dates: readonly string[], dated: number): string {
  const size = (bytes: number) => (bytes < 2 ** 30 ? `${Math.round(bytes / 2 ** 20)} MB` : `${(bytes / 2 ** 30).toFixed(1)} GB`);
  const n = (x: number) => x.toLocaleString('en-US');
  // What the whole plan would hold, at what the planned part holds a task (an upper bound: the part counts the project too).
  const needed = (heap.live * tasks) / Math.max(planned, 1);
  const fit = Math.floor((dates.length * PLAN_SHARE * heap.limit) / needed);
  const fewer =
    fit >= 1 && fit < dates.length
      ? `plan fewer dates at once (about ${n(fit)} fit: ${dates[0]} to ${dates[fit - 1]})`
      : 'plan fewer dates or models at once';
  // Room for the whole plan at its share, rounded up to a GB.
  const mb = Math.ceil(needed / PLAN_SHARE / 2 ** 30) * 1024;
  return (
    `the plan of ${n(dates.length)} ${dates.length === 1 ? 'date' : 'dates'} of ${n(dated)} ${dated === 1 ? 'model' : 'models'} kept by date (${n(tasks)} tasks) needs more memory than node gives pipe: ` +
    `${size(heap.live)} of its ${size(heap.limit)} held ${n(planned)} of them; ${fewer}, or give node more with NODE_OPTIONS=--max-old-space-size=${mb}`
  );
}
