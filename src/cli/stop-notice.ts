import type { PipeEvent } from '../events/events.js';

/**
 * What a command is doing when its first Ctrl-C comes, as its events tell: `preparing` before
 * its run started (a run is recorded before any task or hook of it runs: nothing has run),
 * `waiting` while it waits for a warehouse another process holds, `started` once its run has
 * started; `unknown` for a command that runs no run (run-operation: its queries run as it renders).
 */
export type StopPoint = 'unknown' | 'preparing' | 'waiting' | 'started';

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
    case 'preparing':
      return `stopping: no task has started, and none will ${again}`;
    case 'unknown':
    case 'started':
      return `stopping: no task starts now, and any running is rolled back ${again}`;
    default: {
      const never: never = point;
      throw new Error(`internal error: stop point ${String(never)}`);
    }
  }
}

/** The runs a scheduler has in flight, as its events tell: each started until it finishes. */
export function runsInFlightAfter(inFlight: number, event: PipeEvent): number {
  if (event.type === 'run-started') return inFlight + 1;
  if (event.type === 'run-finished') return Math.max(0, inFlight - 1);
  return inFlight;
}

/** The notice of a scheduler's first Ctrl-C or SIGTERM: what stops, as far as it has runs in flight. */
export function scheduleStopNotice(inFlight: number): string {
  if (inFlight === 0) return 'stopping: no run is in flight, and none starts now';
  return `stopping: no new runs; the ${inFlight === 1 ? 'running one rolls back its running models' : `${inFlight} running ones roll back their running models`}, recorded as cancelled`;
}
