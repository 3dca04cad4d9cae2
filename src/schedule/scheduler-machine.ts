import type { Diagnostic, DiagnosticError } from '../diagnostics/diagnostics.js';
import type { Pipeline } from '../analyze/project-settings.js';
import type { Step } from '../util/state-machine.js';
import { unexpectedEvent, unknownState } from '../util/unknown-state.js';
import type { ScheduleState } from '../warehouse/run-state.js';
import { describeFire, nextFireTimes } from './due.js';
import { planRound, type RunToStart } from './round.js';

/**
 * What `pipe schedule` does next, as a pure function of its state and one event. Reading the
 * project and the warehouse, starting runs and the timer live in scheduler.ts; here are only
 * the decisions, so that each can be tested without a warehouse or a clock.
 *
 *                        woke, or a run ended
 *              ┌─────────────────────────────────────────┐
 *              │                                         ▼
 *   (start) ─▶ sleeping ◀────────── round over ───────── checking ◀─┐ round over, a run ended
 *                          (sleep until the next fire      │  │     │ during it, and runs wait
 *                          time; --once, while runs wait   │  └─────┘ for a slot: another round
 *                          for a slot: a second)           │
 *                                                          │ --once, round over, nothing waits
 *                                                          ▼
 *                              done ◀── last run ended ── draining
 *                               ▲
 *                               └── last run ended, and no round is reading ── stopping
 *
 *   stop: sleeping, checking or draining ─▶ stopping; a round reading the warehouse then starts nothing
 *   --once, round over, nothing waits and nothing runs ─▶ done
 *   --once and a broken project ─▶ done, with its diagnostics; crashed, in any state ─▶ done, with the error
 *
 * A round is the only time the warehouse is open between runs: it reads what was triggered,
 * starts the runs that are due (each recorded before it starts) and closes it again. Runs
 * go on in the background; each one that ends is an event, and frees a slot of its
 * pipeline's `max_active_runs`. Stopping starts nothing new: the runs in flight see the same
 * stop signal, roll back and are recorded as cancelled, and the scheduler ends when they have.
 */

/** How long the service sleeps at most, so that a changed project is read again soon enough. */
export const MAX_SLEEP_MS = 60_000;
/** With --once, how soon a round is tried again when runs wait (for a slot, or for a held warehouse). */
export const ONCE_RETRY_MS = 1_000;
/**
 * How long after a run ended without an outcome (it could not start, or its process failed
 * under it) a round resumes its interval: soon enough that an outage leaves nothing out, not so
 * soon that a lasting one makes every round try again.
 */
export const RESUME_AFTER_MS = 60_000;
/** Past a fire time, so that the round after the sleep finds it due. */
const FIRE_SLACK_MS = 50;

export interface ScheduleResult {
  readonly runs: number;
  readonly failed: number;
}

/** What every state carries. */
export interface Ledger {
  /** Run what is due now, wait for it, and end (`--once`). */
  readonly once: boolean;
  /** Runs started and not ended, by `pipeline@interval`, with their pipeline. */
  readonly running: ReadonlyMap<string, string>;
  /**
   * Every `pipeline@interval` this process has started. The warehouse state a round reads may
   * predate the end of one of them, showing it still `running`: such a run is alive (or just
   * ended), never one to resume.
   */
  readonly started: ReadonlySet<string>;
  /** Runs of this process that ended without an outcome, by `pipeline@interval`: when a round may resume them. */
  readonly resumeAfter: ReadonlyMap<string, number>;
  /** Notices given (dropped intervals, a held warehouse): each is said once, not every round. */
  readonly said: ReadonlySet<string>;
  readonly runs: number;
  readonly failed: number;
}

export type SchedulerState =
  /** Until the next fire time, the end of a run, or stop. */
  | { readonly kind: 'sleeping'; readonly ledger: Ledger }
  /** A round reads the project and the warehouse. `again`: a run ended meanwhile, so a slot may have come free. */
  | { readonly kind: 'checking'; readonly ledger: Ledger; readonly again: boolean }
  /** --once, nothing left to start: waiting for the runs in flight. */
  | { readonly kind: 'draining'; readonly ledger: Ledger }
  /** Stopped: starting nothing, waiting for the runs in flight to roll back (and for the round reading the warehouse, if `checking`). */
  | { readonly kind: 'stopping'; readonly ledger: Ledger; readonly checking: boolean }
  | { readonly kind: 'done'; readonly ledger: Ledger };

/** How a round's reading of the project and the warehouse went. */
export type RoundOutcome =
  /** The warehouse is open (until the round ends) and says what was triggered. */
  | { readonly kind: 'checked'; readonly now: number; readonly pipelines: readonly Pipeline[]; readonly state: ScheduleState }
  /** Another process holds the warehouse. */
  /** `holder`: who holds it, said once (a process holding it for one run after another is one holder). */
  | { readonly kind: 'held'; readonly now: number; readonly pipelines: readonly Pipeline[]; readonly message: string; readonly holder?: string }
  /** The project has errors. */
  | { readonly kind: 'broken'; readonly now: number; readonly error: DiagnosticError };

export type SchedulerEvent =
  | RoundOutcome
  /** The sleep ran its time (also the first event: the scheduler starts as if waking). */
  | { readonly kind: 'woke' }
  /** `unfinishedAt`: the run ended without an outcome (it could not start, or failed under itself) at this time. */
  | { readonly kind: 'run-ended'; readonly key: string; readonly succeeded: boolean; readonly unfinishedAt?: number }
  | { readonly kind: 'stop' }
  /** Something that is no problem of the project's failed: the scheduler ends with the error. */
  | { readonly kind: 'crashed'; readonly error: unknown };

export type SchedulerEffect =
  /** Start a round: read the project, open the warehouse, read what was triggered. */
  | { readonly kind: 'check' }
  | { readonly kind: 'say'; readonly message: string }
  | { readonly kind: 'report'; readonly diagnostics: readonly Diagnostic[] }
  /** Record the run in the warehouse the round holds open, and start it. */
  | ({ readonly kind: 'start-run' } & RunToStart)
  /** Close the warehouse the round opened, if it did. */
  | { readonly kind: 'end-round' }
  /** Sleep until this time by the clock (at least a tenth of a second). */
  | { readonly kind: 'sleep'; readonly until: number }
  /** Cut the sleep short. */
  | { readonly kind: 'wake-up' }
  /** The scheduler is done: it waits for notifications, then returns the result or throws the error. */
  | { readonly kind: 'end'; readonly result: ScheduleResult; readonly error?: unknown };

export type SchedulerStep = Step<SchedulerState, SchedulerEffect>;

export function initialSchedulerState(once: boolean): SchedulerState {
  return { kind: 'sleeping', ledger: { once, running: new Map(), started: new Set(), resumeAfter: new Map(), said: new Set(), runs: 0, failed: 0 } };
}

const step = (state: SchedulerState, ...effects: SchedulerEffect[]): SchedulerStep => ({ state, effects });

const end = (ledger: Ledger, error?: unknown): SchedulerEffect => ({ kind: 'end', result: { runs: ledger.runs, failed: ledger.failed }, ...(error === undefined ? {} : { error }) });

/** What the scheduler does on `event` in `state`. */
export function nextSchedulerState(state: SchedulerState, event: SchedulerEvent): SchedulerStep {
  const { ledger } = state;
  if (event.kind === 'crashed') return step({ kind: 'done', ledger }, { kind: 'wake-up' }, { kind: 'end-round' }, end(ledger, event.error));
  switch (state.kind) {
    case 'sleeping':
      switch (event.kind) {
        case 'woke':
          return step({ kind: 'checking', ledger, again: false }, { kind: 'check' });
        case 'run-ended':
          return step({ kind: 'checking', ledger: runEnded(ledger, event), again: false }, { kind: 'wake-up' }, { kind: 'check' });
        case 'stop':
          return settle({ kind: 'stopping', ledger, checking: false }, { kind: 'wake-up' });
        default:
          throw unexpectedEvent(state, event);
      }
    case 'checking':
      switch (event.kind) {
        case 'checked':
        case 'held':
        case 'broken':
          return afterRound(state, event);
        case 'run-ended':
          return step({ ...state, ledger: runEnded(ledger, event), again: true });
        case 'stop':
          return step({ kind: 'stopping', ledger, checking: true });
        // A sleep that ran out as a run ended: the round it would start is under way.
        case 'woke':
          return step(state);
        default:
          throw unknownState(event satisfies never);
      }
    case 'draining':
      switch (event.kind) {
        case 'run-ended': {
          const next = runEnded(ledger, event);
          return next.running.size === 0 ? step({ kind: 'done', ledger: next }, end(next)) : step({ kind: 'draining', ledger: next });
        }
        case 'stop':
          return settle({ kind: 'stopping', ledger, checking: false });
        case 'woke':
          return step(state);
        default:
          throw unexpectedEvent(state, event);
      }
    case 'stopping':
      switch (event.kind) {
        case 'checked':
        case 'held':
        case 'broken':
          if (!state.checking) throw unexpectedEvent(state, event);
          return settle({ ...state, checking: false }, { kind: 'end-round' });
        case 'run-ended':
          return settle({ ...state, ledger: runEnded(ledger, event) });
        default:
          return step(state);
      }
    case 'done':
      return step(state);
    default:
      throw unknownState(state satisfies never);
  }
}

function runEnded(ledger: Ledger, event: { readonly key: string; readonly succeeded: boolean; readonly unfinishedAt?: number }): Ledger {
  const running = new Map(ledger.running);
  running.delete(event.key);
  const failed = ledger.failed + (event.succeeded ? 0 : 1);
  if (event.unfinishedAt === undefined) return { ...ledger, running, failed };
  // Its interval stays unfinished in the warehouse: a later round resumes it, as a restart would.
  const started = new Set(ledger.started);
  started.delete(event.key);
  return { ...ledger, running, failed, started, resumeAfter: new Map([...ledger.resumeAfter, [event.key, event.unfinishedAt + RESUME_AFTER_MS]]) };
}

/** Stopping ends once no round is reading the warehouse and no run is in flight. */
function settle(state: SchedulerState & { kind: 'stopping' }, ...effects: SchedulerEffect[]): SchedulerStep {
  if (state.checking || state.ledger.running.size > 0) return step(state, ...effects);
  return step({ kind: 'done', ledger: state.ledger }, ...effects, end(state.ledger));
}

/** The earliest next fire time of any pipeline, a little after it; within MAX_SLEEP_MS. */
function nextWake(pipelines: readonly Pipeline[], now: number): number {
  let next = now + MAX_SLEEP_MS;
  for (const p of pipelines) {
    const [t] = nextFireTimes(p.schedule!, now, 1);
    if (t !== undefined && t + FIRE_SLACK_MS < next) next = t + FIRE_SLACK_MS;
  }
  return next;
}

/** A round read the warehouse (or could not): start what is due, then sleep, round again, drain or end. */
function afterRound(state: SchedulerState & { kind: 'checking' }, event: RoundOutcome): SchedulerStep {
  let { ledger } = state;
  const effects: SchedulerEffect[] = [];
  const sayOnce = (message: string, key = message) => {
    if (ledger.said.has(key)) return;
    ledger = { ...ledger, said: new Set([...ledger.said, key]) };
    effects.push({ kind: 'say', message });
  };
  let waiting: number;
  let wakeAt: number;
  switch (event.kind) {
    case 'checked': {
      const waitingToResume = [...ledger.resumeAfter].filter(([, after]) => after > event.now).map(([key]) => key);
      const round = planRound(event.pipelines, event.state, event.now, ledger.running, new Set([...ledger.started, ...waitingToResume]));
      for (const action of round.actions) {
        if (action.kind === 'say') {
          sayOnce(action.message);
          continue;
        }
        ledger = {
          ...ledger,
          running: new Map([...ledger.running, [action.key, action.pipeline.name]]),
          started: new Set([...ledger.started, action.key]),
          resumeAfter: new Map([...ledger.resumeAfter].filter(([key]) => key !== action.key)),
          runs: ledger.runs + 1,
        };
        effects.push({ ...action, kind: 'start-run' });
      }
      waiting = round.waiting;
      wakeAt = Math.min(nextWake(event.pipelines, event.now), ...[...ledger.resumeAfter.values()].filter((after) => after > event.now).map((after) => after + FIRE_SLACK_MS));
      break;
    }
    case 'held':
      sayOnce(event.message, event.holder === undefined ? event.message : `held by ${event.holder}`);
      waiting = 1;
      wakeAt = nextWake(event.pipelines, event.now);
      break;
    case 'broken':
      // With --once a broken project is the answer; the service says so and reads it again later.
      if (ledger.once) return step({ kind: 'done', ledger }, { kind: 'end-round' }, end(ledger, event.error));
      effects.push({ kind: 'report', diagnostics: event.error.diagnostics });
      // An error, and yet the service goes on: said, so that no one takes it for stopped or for serving.
      sayOnce('pipe schedule goes on: it reads the project again every minute, and starts what is due once the project is fixed (--once and --list stop on it, exit 2)');
      waiting = 0;
      wakeAt = event.now + MAX_SLEEP_MS;
      break;
    default:
      throw unknownState(event satisfies never);
  }
  effects.push({ kind: 'end-round' });
  if (waiting > 0 && state.again) return step({ kind: 'checking', ledger, again: false }, ...effects, { kind: 'check' });
  if (!ledger.once) return step({ kind: 'sleeping', ledger }, ...effects, { kind: 'sleep', until: wakeAt });
  if (waiting > 0) return step({ kind: 'sleeping', ledger }, ...effects, { kind: 'sleep', until: event.now + ONCE_RETRY_MS });
  if (ledger.running.size > 0) return step({ kind: 'draining', ledger }, ...effects);
  if (ledger.runs === 0 && event.kind === 'checked') effects.push({ kind: 'say', message: nothingDue(event.pipelines, event.now) });
  return step({ kind: 'done', ledger }, ...effects, end(ledger));
}

/** What `--once` says when it started nothing: when each pipeline fires next. */
function nothingDue(pipelines: readonly Pipeline[], now: number): string {
  const next = pipelines.flatMap((p) => nextFireTimes(p.schedule!, now, 1).map((t) => `\n  ${p.name}: ${describeFire(p.schedule!, t)}`));
  return `nothing is due now${next.length > 0 ? `; next:${next.join('')}` : ''}`;
}
