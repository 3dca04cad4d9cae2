import type { Pipeline } from '../analyze/project-settings.js';
import type { ScheduleState } from '../warehouse/run-state.js';
import { parseIntervalLabel, type Interval } from '../dates/dates.js';
import { droppedMessage, dueRuns, intervalFor, type Due } from './due.js';

/**
 * What one round of the scheduler starts, from what the warehouse says was triggered and
 * what is in flight in this process. Pure: the clock's reading and the state are passed in.
 */

export type StartReason = 'due' | 'catch-up' | 'resume';

export interface RunToStart {
  /** `pipeline@interval`: one run per pipeline and interval at a time. */
  readonly key: string;
  readonly pipeline: Pipeline;
  readonly due: Due;
  readonly reason: StartReason;
  /** A resume's run that never finished: the new run is linked to it, so it is not retried again. */
  readonly resumes?: string;
  /**
   * A catch-up's: the intervals of the runs due after this one in the same catch-up, which
   * rebuild what their lookback reaches; this run leaves those intervals to them.
   */
  readonly laterRuns?: readonly Interval[];
}

export interface Round {
  /** In the order they are to be said and started: per pipeline, what it leaves out, then its runs, oldest first. */
  readonly actions: readonly ({ readonly kind: 'say'; readonly message: string } | ({ readonly kind: 'start' } & RunToStart))[];
  /** Runs that are due but wait for a free slot (`max_active_runs`). */
  readonly waiting: number;
}

export const runKey = (pipeline: string, label: string) => `${pipeline}@${label}`;

/**
 * The runs to start now: intervals whose run never finished (resumed), then the due ones; none
 * twice, none that succeeded, none already in flight (`running`, by key, with its pipeline),
 * no resume of a run this process started (`started`: the state may show it running after it
 * ended), and no more per pipeline than its `max_active_runs`.
 */
export function planRound(
  pipelines: readonly Pipeline[],
  state: ScheduleState,
  now: number,
  running: ReadonlyMap<string, string>,
  started: ReadonlySet<string> = new Set(),
): Round {
  const actions: Round['actions'][number][] = [];
  let waiting = 0;
  for (const p of pipelines) {
    const s = p.schedule!;
    const done = state.succeeded.get(p.name) ?? new Set<string>();
    const candidates: Omit<RunToStart, 'key' | 'pipeline'>[] = [];
    // The latest unfinished run of an interval is the one a resume takes over.
    for (const u of [...(state.unfinished.get(p.name) ?? [])].reverse()) {
      if (started.has(runKey(p.name, u.label))) continue;
      // The interval the run was started for, as its label names it, whatever its fire time would cover now.
      const interval = parseIntervalLabel(u.label) ?? intervalFor(s, u.fireAt);
      candidates.push({ due: { fireAt: u.fireAt, interval, label: u.label }, reason: 'resume', resumes: u.runId });
    }
    candidates.sort((a, b) => a.due.fireAt - b.due.fireAt);
    const lastLabel = state.lastLabel?.get(p.name);
    const { due: fresh, dropped } = dueRuns(s, state.lastFire.get(p.name), now, done, lastLabel === undefined ? undefined : parseIntervalLabel(lastLabel));
    if (dropped) actions.push({ kind: 'say', message: droppedMessage(p.name, dropped) });
    // Every due run is started in time (later rounds start those waiting for a slot, and a
    // restart finds them due still), so an earlier one may leave its lookback to them.
    fresh.forEach((d, i) => {
      const later = fresh.slice(i + 1).map((f) => f.interval);
      candidates.push({ due: d, reason: i < fresh.length - 1 ? 'catch-up' : 'due', ...(later.length > 0 ? { laterRuns: later } : {}) });
    });
    let active = [...running.values()].filter((name) => name === p.name).length;
    const seen = new Set<string>();
    for (const c of candidates) {
      const key = runKey(p.name, c.due.label);
      if (seen.has(c.due.label) || done.has(c.due.label) || running.has(key)) continue;
      seen.add(c.due.label);
      if (active >= s.maxActiveRuns) {
        waiting++;
        continue;
      }
      active++;
      actions.push({ kind: 'start', key, pipeline: p, ...c });
    }
  }
  // Earlier intervals first, across pipelines: a run that waits for the runs of the intervals
  // before it (a depends_on_past model, see commands/run.ts) finds them started.
  const starts = actions.filter((a) => a.kind === 'start').sort((a, b) => a.due.interval.start - b.due.interval.start);
  let next = 0;
  return { actions: actions.map((a) => (a.kind === 'start' ? starts[next++] : a)), waiting };
}
