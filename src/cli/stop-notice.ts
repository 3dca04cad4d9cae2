import type { PipeEvent } from '../events/events.js';

/**
 * What a command is doing when its first Ctrl-C comes, as its events tell: `waiting` while it
 * waits for a warehouse another process holds (nothing of it has run), `started` once its run
 * has started, `unknown` before either.
 */
export type StopPoint = 'unknown' | 'waiting' | 'started';

export function stopPointAfter(point: StopPoint, event: PipeEvent): StopPoint {
  if (event.type === 'run-started') return 'started';
  if (event.type === 'notice' && event.waitsFor === 'warehouse' && point !== 'started') return 'waiting';
  return point;
}

/** The notice of the first Ctrl-C: what stops, as far as the command has gone. */
export function stopNotice(point: StopPoint): string {
  const again = '(press Ctrl-C again to exit at once)';
  switch (point) {
    case 'waiting':
      return `stopping: no longer waiting for the warehouse; nothing was run ${again}`;
    case 'unknown':
    case 'started':
      return `stopping: no task starts now, and any running is rolled back ${again}`;
    default: {
      const never: never = point;
      throw new Error(`internal error: stop point ${String(never)}`);
    }
  }
}
