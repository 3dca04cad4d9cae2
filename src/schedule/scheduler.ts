import { existsSync } from 'node:fs';
import { didYouMean } from '../diagnostics/suggest.js';
import formatDuration from 'ms';
import type { Pipeline } from '../analyze/project-settings.js';
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { analyze, saidOfBuilt } from '../analyze/analyze.js';
import { dayInterval, defaultRunDate, formatDate, intervalLabel, systemClock, type Clock } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import type { ProjectOptions } from '../commands/context.js';
import { openProject, templateCacheOf } from '../commands/open-project.js';
import { chooseSelection, mayBuild, NOTHING_BROKEN, pythonModelsBuilt } from '../commands/choose-selection.js';
import { newRunId } from '../commands/lifecycle.js';
import { run, type EarlierRun } from '../commands/run.js';
import { Distributed, type DistributedOptions } from '../commands/distributed.js';
import { Engine, type EngineHandle } from '../execute/engine.js';
import { readScheduleState, scheduledSql, stateExists, type ScheduleState } from '../warehouse/run-state.js';
import { WarehouseLockedError } from '../warehouse/warehouse.js';
import { Alarm, sleep } from '../util/sleep.js';
import { StateMachine } from '../util/state-machine.js';
import { unknownState } from '../util/unknown-state.js';
import { describeFire, intervalFor, nextFireTimes } from './due.js';
import { planRound, type RunToStart } from './round.js';
import { initialSchedulerState, nextSchedulerState, RESUME_AFTER_MS, type ScheduleResult, type SchedulerEffect, type SchedulerEvent } from './scheduler-machine.js';
import { pushTo } from '../util/multi-map.js';

/**
 * `pipe schedule`: a long-lived service that runs each scheduled pipeline when it is due,
 * through the same code path as `pipe run`. What was triggered is recorded in the warehouse
 * (`_pipe.schedule`), so a restart neither re-runs a succeeded interval nor skips a due one:
 * it resumes intervals whose run never finished, and catches up on missed ones when asked.
 * The warehouse is open only while runs are in progress, so other commands work in between.
 *
 * What happens when is decided in scheduler-machine.ts (and what a round starts in round.ts);
 * this file connects it to the world: it reads the project and the warehouse, records and
 * starts runs, keeps the timer, and turns their outcomes and the stop signal into events.
 */

export interface ScheduleOptions extends ProjectOptions {
  /** Pipelines to schedule; default every pipeline with a schedule. */
  readonly pipelines?: readonly string[];
  /** Run what is due now, wait for it, and exit. */
  readonly once?: boolean;
  /**
   * Each run's tasks execute on `pipe worker` processes, as `pipe run --distributed` places
   * them; this process decides what is due and coordinates the runs.
   */
  readonly distributed?: DistributedOptions;
  readonly emit: EventSink;
  readonly signal: AbortSignal;
}

export type { ScheduleResult };

/** How long the scheduler waits, once stopping, for notifications still on their way before it says so. */
const NOTIFY_QUIET_MS = 1000;

/** The shortest sleep between rounds: a fire time just past is not chased in a busy loop. */
const MIN_SLEEP_MS = 100;

function scheduled(options: ProjectOptions & { pipelines?: readonly string[] }, clock: Clock): Pipeline[] {
  const project = openProject(options);
  const analysis = analyze(project.files, { interval: dayInterval(defaultRunDate(clock)), validated: project, templateCache: templateCacheOf(project) });
  // An error that keeps one node from being built refuses the pipelines that build it (below).
  const problems = analysis.diagnostics.filter((d) => d.severity === 'error' && d.blocks === undefined);
  if (problems.length > 0) throw new DiagnosticError(analysis.diagnostics.filter((d) => d.severity === 'error'));
  const all = [...analysis.pipelines.values()];
  // A pipeline named twice is scheduled once: each of its intervals runs once at a time.
  const wanted = options.pipelines?.length ? [...new Set(options.pipelines)] : all.filter((p) => p.schedule).map((p) => p.name);
  const out: Pipeline[] = [];
  const missing = unknownPipelines(analysis.pipelines, wanted);
  for (const name of wanted) {
    const p = analysis.pipelines.get(name);
    if (p && !p.schedule) missing.push(error('not-scheduled', `pipeline '${name}' has no schedule`, { file: p.file }, { hint: "add one, e.g. schedule: '0 2 * * *'" }));
    else if (p) out.push(p);
  }
  if (missing.length > 0) throw new DiagnosticError(missing);
  const blocked = analysis.diagnostics.filter((d) => d.blocks !== undefined);
  if (blocked.length > 0) {
    const built = new Set(out.flatMap((p) => [...mayBuild(analysis, chooseSelection(analysis, project, {}, p, NOTHING_BROKEN).selected), ...pythonModelsBuilt(project.files.pythonModels ?? [], project, {}, p, analysis)]));
    const blocking = blocked.filter((d) => d.blocks!.some((n) => built.has(n))).map((d) => saidOfBuilt(d, built));
    if (blocking.length > 0) throw new DiagnosticError(blocking);
  }
  if (out.length === 0) throw new DiagnosticError([error('no-schedule', 'no pipeline has a schedule: add schedule: to a file in pipelines/')]);
  return out;
}

/** The last fire time handled per pipeline, read-only, when the warehouse exists and is free to read. */
/** What the warehouse records of the schedules: nothing yet when it or its state does not exist. */
const NO_SCHEDULE_STATE: ScheduleState = { lastFire: new Map(), unfinished: new Map(), succeeded: new Map() };

async function scheduleState(options: ProjectOptions): Promise<{ state?: ScheduleState; note?: string }> {
  const { warehousePath: dbPath, warehouseSetup: setup } = openProject(options);
  if (!existsSync(dbPath)) return { state: NO_SCHEDULE_STATE };
  try {
    const warehouse = await Engine.open(dbPath, { readOnly: true, setup });
    const session = await warehouse.session();
    try {
      return { state: (await stateExists(session)) ? await readScheduleState(session) : NO_SCHEDULE_STATE };
    } finally {
      session.close();
      warehouse.close();
    }
  } catch (e) {
    if (e instanceof WarehouseLockedError) return { note: `what is due now is not shown: ${e.message}` };
    throw e;
  }
}

/**
 * `pipe schedule --list`: the next fire times of each scheduled pipeline and what each run
 * covers, and, from the warehouse, what a start now would run and which missed intervals it
 * would leave out.
 */
export async function listSchedules(options: ProjectOptions & { pipelines?: readonly string[] }, count = 5, json = false): Promise<string> {
  const { listed, note } = await scheduleListing(options, count);
  if (json) return [...listed.map((l) => JSON.stringify({ type: 'schedule', ...l })), ...(note ? [JSON.stringify({ type: 'note', message: note })] : [])].join('\n');
  const lines: string[] = [];
  for (const l of listed) {
    lines.push(`${l.pipeline}: '${l.cron}' (${l.timezone}), ${l.interval}, catchup ${l.catchup ? `on (at most ${l.max_catchup})` : 'off'}, max_active_runs ${l.max_active_runs}`);
    if (l.warning) lines.push(`  warning: ${l.warning}`);
    const starts = l.due_now.map((d) => (d.resumes ? `${d.interval} (resumes run ${d.resumes})` : d.interval));
    if (starts.length > 0) lines.push(`  due now: ${starts.join(', ')}${l.waiting > 0 ? `; ${l.waiting} more when a run ends (max_active_runs ${l.max_active_runs})` : ''}`);
    for (const said of l.said) lines.push(`  ${said}`);
    for (const f of l.next) lines.push(`  ${f.text}`);
  }
  if (note) lines.push(note);
  return lines.join('\n');
}

/** One scheduled pipeline as `--list` shows it (its `--json` form's fields). */
interface ScheduleListed {
  readonly pipeline: string;
  readonly cron: string;
  readonly timezone: string;
  readonly interval: string;
  readonly catchup: boolean;
  readonly max_catchup: number;
  readonly max_active_runs: number;
  readonly warning?: string;
  /** What a start now would run (read from the warehouse): intervals due, and runs it would resume. */
  readonly due_now: readonly { readonly interval: string; readonly resumes?: string }[];
  readonly waiting: number;
  /** What a start now would say (the missed intervals it leaves out). */
  readonly said: readonly string[];
  /** The next fire times: when (UTC), the interval each covers, and as the text says it. */
  readonly next: readonly { readonly at: string; readonly covers: string; readonly text: string }[];
}

async function scheduleListing(options: ProjectOptions & { pipelines?: readonly string[] }, count: number): Promise<{ listed: ScheduleListed[]; note?: string }> {
  const clock = options.clock ?? systemClock;
  const now = clock.now();
  const pipelines = scheduled(options, clock);
  const { state, note } = await scheduleState(options);
  const listed = pipelines.map((p): ScheduleListed => {
    const s = p.schedule!;
    // What a start now would do, as its first round plans it: the intervals it resumes (a run that never finished) and those due.
    const round = state ? planRound([p], state, now, new Map()) : undefined;
    return {
      pipeline: p.name,
      cron: s.cron,
      timezone: s.timezone,
      interval: s.interval,
      catchup: s.catchup,
      max_catchup: s.maxCatchup,
      max_active_runs: s.maxActiveRuns,
      ...(s.leavesGaps ? { warning: s.leavesGaps } : {}),
      due_now: (round?.actions ?? []).flatMap((a) => (a.kind === 'start' ? [{ interval: a.due.label, ...(a.reason === 'resume' ? { resumes: a.resumes } : {}) }] : [])),
      waiting: round?.waiting ?? 0,
      said: (round?.actions ?? []).flatMap((a) => (a.kind === 'say' ? [a.message] : [])),
      next: nextFireTimes(s, now, count).map((t) => ({ at: new Date(t).toISOString(), covers: intervalLabel(intervalFor(s, t)), text: describeFire(s, t) })),
    };
  });
  return { listed, ...(note ? { note } : {}) };
}

/** The pipelines named that the project does not have. */
function unknownPipelines(known: ReadonlyMap<string, Pipeline>, names: readonly string[]): Diagnostic[] {
  const has = [...known.keys()].sort();
  const hint = has.length > 0 ? `pipelines/ has ${has.join(', ')}` : "add a file to pipelines/ with a schedule, e.g. schedule: '0 2 * * *'";
  return names.filter((n) => !known.has(n)).map((n) => error('unknown-pipeline', `no pipeline named '${n}' in pipelines/`, undefined, { hint: didYouMean(n, has) ?? hint }));
}

export async function schedule(options: ScheduleOptions): Promise<ScheduleResult> {
  const clock = options.clock ?? systemClock;
  const project = openProject(options);
  // A name on the command line that is no pipeline is refused before the scheduler starts (the
  // rest of the project is read by each round, and a service waits for it to be mended).
  const unknown = unknownPipelines(project.pipelines, options.pipelines ?? []);
  if (unknown.length > 0) throw new DiagnosticError(unknown);
  // Refused (not a lake on Postgres), or its Postgres unreachable, before anything is due; a
  // round then opens the lake while no worker attaches it for the first time.
  const gate = options.distributed ? await Distributed.open(project, options.distributed, 'pipe schedule --distributed') : undefined;
  try {
    return await scheduleWith(options, clock, gate);
  } finally {
    await gate?.close();
  }
}

async function scheduleWith(options: ScheduleOptions, clock: Clock, gate: Distributed | undefined): Promise<ScheduleResult> {
  const { emit, signal } = options;
  /** Runs in flight, and deliveries of their notifications: the scheduler waits for both before it returns. */
  const jobs = new Set<Promise<void>>();
  /** Per pipeline, its runs in flight, oldest first: a run waits for those of earlier intervals where it depends on its past. */
  const inFlight = new Map<string, EarlierRun[]>();
  const notifying: Promise<void>[] = [];
  /** The warehouse a round holds open, from reading it until its runs are recorded and started. */
  let roundWarehouse: EngineHandle | undefined;
  /** The sleep until the next round. */
  const nap = new Alarm();
  let ended!: (effect: { result: ScheduleResult; error?: unknown }) => void;
  const end = new Promise<{ result: ScheduleResult; error?: unknown }>((res) => (ended = res));

  const closeRound = () => {
    roundWarehouse?.close();
    roundWarehouse = undefined;
  };

  let announced = false;
  /** A round's reading: the project, then the warehouse (left open for the runs it starts). */
  const check = async (): Promise<SchedulerEvent> => {
    try {
      const pipelines = scheduled(options, clock);
      // Said once the project is read and has schedules: a refusal is said alone.
      if (!announced) {
        announced = true;
        emit({ type: 'notice', message: `scheduler started (PID ${process.pid}); SIGTERM or Ctrl-C stops it, letting running models roll back` });
      }
      const { warehousePath: dbPath, warehouseSetup: setup } = openProject(options);
      try {
        const opening = () => Engine.open(dbPath, { holder: 'pipe schedule', setup });
        roundWarehouse = await (gate ? gate.oneAtATime(opening) : opening());
      } catch (e) {
        if (!(e instanceof WarehouseLockedError)) throw e;
        return { kind: 'held', now: clock.now(), pipelines, message: `${e.message}; the scheduler tries again shortly`, ...(e.holderPid === undefined ? {} : { holder: `pid ${e.holderPid}` }) };
      }
      const session = await roundWarehouse.session();
      try {
        await roundWarehouse.engine.prepareForWriting(undefined, emit);
        const state = await readScheduleState(session);
        return { kind: 'checked', now: clock.now(), pipelines, state };
      } finally {
        session.close();
      }
    } catch (e) {
      closeRound();
      return e instanceof DiagnosticError ? { kind: 'broken', now: clock.now(), error: e } : { kind: 'crashed', error: e };
    }
  };

  /** Records the run as triggered, then starts it; its end is an event. A resume names the run it takes over. */
  const startRun = async ({ key, pipeline: p, due, reason, resumes, laterRuns }: RunToStart) => {
    if (!roundWarehouse) throw new Error('internal error: starting a run outside a round');
    const runId = newRunId();
    const session = await roundWarehouse.session();
    try {
      await session.exec(scheduledSql(p.name, due.fireAt, due.label, runId, clock.now()));
    } finally {
      session.close();
    }
    emit({ type: 'notice', message: `${p.name}: starting ${due.label} (${reason === 'due' ? 'due' : `${reason}, due`} ${new Date(due.fireAt).toISOString()}) as run ${runId}` });
    const hourly = p.schedule!.interval === 'hourly';
    const job = run({
      project: options.project,
      db: options.db,
      clock,
      pipeline: p.name,
      date: formatDate(due.interval.start),
      hour: hourly ? new Date(due.interval.start).getUTCHours() : undefined,
      runId,
      scheduledAt: due.fireAt,
      resumes,
      laterRuns,
      // Every pipeline's runs in flight: a depends_on_past model another pipeline builds too waits for its dates as well.
      earlierRuns: { runs: () => [...inFlight.values()].flat(), waiting: (message) => emit({ type: 'notice', message: `${p.name} ${due.label}: ${message}` }) },
      distributed: options.distributed,
      signal,
      emit,
    }).then(
      (outcome) => {
        if ('nothingToDo' in outcome) throw new Error('internal error: a scheduled run found nothing to do');
        // Delivery goes on while the next runs start; the scheduler waits for it before it returns.
        notifying.push(outcome.notified);
        return { succeeded: outcome.status === 'succeeded' };
      },
      (e: unknown) => {
        // Stopped before it wrote anything: the interval is resumed at the next start.
        if (signal.aborted && e === signal.reason) {
          emit({ type: 'notice', message: `${p.name} ${due.label} not started: the scheduler is stopping` });
          return { succeeded: false };
        }
        if (e instanceof DiagnosticError) for (const d of e.diagnostics) emit({ type: 'diagnostic', diagnostic: d });
        const why = e instanceof DiagnosticError ? 'see above' : e instanceof Error ? e.message : String(e);
        emit({ type: 'notice', message: `${p.name} ${due.label} could not start (${why}); it is started again in ${formatDuration(RESUME_AFTER_MS, { long: true })}` });
        // Triggered and left without an outcome: a later round resumes the interval.
        return { succeeded: false, unfinishedAt: clock.now() };
      },
    );
    const mine: EarlierRun = { runId, interval: due.interval, ended: job };
    pushTo(inFlight, p.name, mine);
    const tracked = job.then((ended) => {
      inFlight.set(p.name, (inFlight.get(p.name) ?? []).filter((r) => r !== mine));
      jobs.delete(tracked);
      machine.send({ kind: 'run-ended', key, ...ended });
    });
    jobs.add(tracked);
  };

  const perform = async (effect: SchedulerEffect): Promise<void> => {
    switch (effect.kind) {
      case 'check':
        void check().then((outcome) => machine.send(outcome));
        return;
      case 'say':
        emit({ type: 'notice', message: effect.message });
        return;
      case 'report':
        for (const d of effect.diagnostics) emit({ type: 'diagnostic', diagnostic: d });
        return;
      case 'start-run':
        await startRun(effect);
        return;
      case 'end-round':
        closeRound();
        return;
      case 'sleep':
        nap.set(Math.max(MIN_SLEEP_MS, effect.until - clock.now()), () => machine.send({ kind: 'woke' }));
        return;
      case 'wake-up':
        nap.cancel();
        return;
      case 'end':
        ended(effect);
        return;
      default:
        throw unknownState(effect satisfies never);
    }
  };
  const machine = new StateMachine(initialSchedulerState(options.once ?? false), nextSchedulerState, perform, (error) => {
    nap.cancel();
    closeRound();
    ended({ result: { runs: 0, failed: 0 }, error });
  });

  const stop = () => machine.send({ kind: 'stop' });
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  machine.send({ kind: 'woke' });
  try {
    const { result, error } = await end;
    await Promise.all(jobs);
    // A target that does not answer is tried again, up to its timeout each time: said, rather than wait without a word.
    const delivered = Promise.all(notifying);
    const slow = await Promise.race([delivered.then(() => false), sleep(NOTIFY_QUIET_MS).then(() => true)]);
    if (slow) emit({ type: 'notice', message: 'waiting for the notifications of its runs to be delivered or given up (each target tried 3 times, up to its timeout each); a second Ctrl-C or SIGTERM ends pipe at once' });
    await delivered;
    if (error !== undefined) throw error;
    return result;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
