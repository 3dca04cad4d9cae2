import { existsSync } from 'node:fs';
import type { Pipeline } from '../analyze/project-settings.js';
import { DiagnosticError, error } from '../analyze/diagnostics.js';
import { analyze } from '../analyze/analyze.js';
import { dayInterval, defaultRunDate, formatDate, systemClock, type Clock } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import type { ProjectOptions } from '../commands/context.js';
import { openProject } from '../commands/open-project.js';
import { newRunId } from '../commands/lifecycle.js';
import { run } from '../commands/run.js';
import { Engine, type EngineHandle } from '../execute/engine.js';
import { readScheduleState, scheduledSql, stateExists, type ScheduleState } from '../warehouse/run-state.js';
import { WarehouseLockedError } from '../warehouse/warehouse.js';
import { droppedMessage, dueRuns, nextFireTimes, intervalFor, type Due } from './due.js';

/**
 * `pipe schedule`: a long-lived service that runs each scheduled pipeline when it is due,
 * through the same code path as `pipe run`. What was triggered is recorded in the warehouse
 * (`_pipe.schedule`), so a restart neither re-runs a succeeded interval nor skips a due one:
 * it resumes intervals whose run never finished, and catches up on missed ones when asked.
 * The warehouse is open only while runs are in progress, so other commands work in between.
 */

export interface ScheduleOptions extends ProjectOptions {
  /** Pipelines to schedule; default every pipeline with a schedule. */
  readonly pipelines?: readonly string[];
  /** Run what is due now, wait for it, and exit. */
  readonly once?: boolean;
  readonly emit: EventSink;
  readonly signal: AbortSignal;
}

export interface ScheduleResult {
  readonly runs: number;
  readonly failed: number;
}

const MAX_SLEEP_MS = 60_000;

function scheduled(options: ProjectOptions & { pipelines?: readonly string[] }, clock: Clock): Pipeline[] {
  const project = openProject(options);
  const analysis = analyze(project.files, { interval: dayInterval(defaultRunDate(clock)), validated: project });
  const problems = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (problems.length > 0) throw new DiagnosticError(problems);
  const all = [...analysis.pipelines.values()];
  const wanted = options.pipelines?.length ? options.pipelines : all.filter((p) => p.schedule).map((p) => p.name);
  const out: Pipeline[] = [];
  const missing = [];
  for (const name of wanted) {
    const p = analysis.pipelines.get(name);
    if (!p) missing.push(error('unknown-pipeline', `no pipeline named '${name}' in pipelines/`));
    else if (!p.schedule) missing.push(error('not-scheduled', `pipeline '${name}' has no schedule:`, { file: p.file }, { hint: "add e.g. schedule: '0 2 * * *'" }));
    else out.push(p);
  }
  if (missing.length > 0) throw new DiagnosticError(missing);
  if (out.length === 0) throw new DiagnosticError([error('no-schedule', 'no pipeline has a schedule: add schedule: to a file in pipelines/')]);
  return out;
}

/** The last fire time handled per pipeline, read-only, when the warehouse exists and is free to read. */
async function lastFires(options: ProjectOptions): Promise<{ lastFire?: Map<string, number>; note?: string }> {
  const dbPath = openProject(options).warehousePath;
  if (!existsSync(dbPath)) return { lastFire: new Map() };
  try {
    const warehouse = await Engine.open(dbPath, { readOnly: true });
    const session = await warehouse.session();
    try {
      return { lastFire: (await stateExists(session)) ? (await readScheduleState(session)).lastFire : new Map() };
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
export async function listSchedules(options: ProjectOptions & { pipelines?: readonly string[] }, count = 5): Promise<string> {
  const clock = options.clock ?? systemClock;
  const now = clock.now();
  const lines: string[] = [];
  const pipelines = scheduled(options, clock);
  const { lastFire, note } = await lastFires(options);
  for (const p of pipelines) {
    const s = p.schedule!;
    lines.push(`${p.name}: '${s.cron}' (${s.timezone}), ${s.interval}, catchup ${s.catchup ? `on (at most ${s.maxCatchup})` : 'off'}, max_active_runs ${s.maxActiveRuns}`);
    if (lastFire) {
      const { due, dropped } = dueRuns(s, lastFire.get(p.name), now);
      if (due.length > 0) lines.push(`  due now: ${due.map((d) => d.label).join(', ')}`);
      if (dropped) lines.push(`  ${droppedMessage(p.name, dropped)}`);
    }
    for (const t of nextFireTimes(s, now, count)) {
      const local = new Intl.DateTimeFormat('sv-SE', { timeZone: s.timezone, dateStyle: 'short', timeStyle: 'short' }).format(t);
      const interval = intervalFor(s, t);
      const covers = s.interval === 'hourly' ? new Date(interval.start).toISOString().slice(0, 13).replace('T', ' ') + ':00 UTC' : formatDate(interval.start);
      lines.push(`  ${local} ${s.timezone}  (${new Date(t).toISOString()})  covers ${covers}`);
    }
  }
  if (note) lines.push(note);
  return lines.join('\n');
}

export async function schedule(options: ScheduleOptions): Promise<ScheduleResult> {
  const clock = options.clock ?? systemClock;
  const { emit, signal } = options;
  const inFlight = new Map<string, Promise<void>>(); // `${pipeline}@${label}` -> run
  const active = new Map<string, number>(); // pipeline -> runs in progress
  let runs = 0;
  let failed = 0;
  let wake: (() => void) | undefined;
  const notifying: Promise<void>[] = [];
  /** Notices already given (dropped intervals, a held warehouse): each is said once, not every round. */
  const said = new Set<string>();

  /** Starts a run of `due`; a resume names the run it takes over (linked as its parent, so it is not retried again). */
  const start = async (p: Pipeline, due: Due, reason: 'due' | 'catch-up' | 'resume', warehouse: EngineHandle, resumes?: string) => {
    const key = `${p.name}@${due.label}`;
    const runId = newRunId();
    const session = await warehouse.session();
    try {
      await session.exec(scheduledSql(p.name, due.fireAt, due.label, runId, clock.now()));
    } finally {
      session.close();
    }
    emit({ type: 'notice', message: `${p.name}: starting ${due.label} (${reason}, due ${new Date(due.fireAt).toISOString()}) as run ${runId}` });
    active.set(p.name, (active.get(p.name) ?? 0) + 1);
    runs++;
    const hourly = p.schedule!.interval === 'hourly';
    const date = formatDate(due.interval.start);
    const job = run({
      project: options.project,
      db: options.db,
      clock,
      pipeline: p.name,
      date,
      hour: hourly ? new Date(due.interval.start).getUTCHours() : undefined,
      runId,
      scheduledAt: due.fireAt,
      resumes,
      signal,
      emit,
    })
      .then((outcome) => {
        if (outcome.status !== 'succeeded') failed++;
        // Delivery goes on while the next runs start; the scheduler waits for it before it exits.
        notifying.push(outcome.notified);
      })
      .catch((e: unknown) => {
        failed++;
        if (e instanceof DiagnosticError) for (const d of e.diagnostics) emit({ type: 'diagnostic', diagnostic: d });
        // Stopped before it wrote anything: the interval is resumed at the next start.
        else if (signal.aborted && e === signal.reason) emit({ type: 'notice', message: `${p.name} ${due.label} not started: the scheduler is stopping` });
        else emit({ type: 'notice', message: `${p.name} ${due.label} could not start: ${e instanceof Error ? e.message : String(e)}` });
      })
      .finally(() => {
        inFlight.delete(key);
        active.set(p.name, (active.get(p.name) ?? 1) - 1);
        wake?.();
      });
    inFlight.set(key, job);
  };

  /** Starts what is due now; returns how many runs are still waiting for a free slot. */
  const tick = async (): Promise<number> => {
    const pipelines = scheduled(options, clock);
    const dbPath = openProject(options).warehousePath;
    let warehouse: EngineHandle;
    try {
      warehouse = await Engine.open(dbPath, { holder: 'pipe schedule' });
    } catch (e) {
      if (!(e instanceof WarehouseLockedError)) throw e;
      const message = `${e.message}; the scheduler tries again shortly`;
      if (!said.has(message)) emit({ type: 'notice', message });
      said.add(message);
      return 1;
    }
    let waiting = 0;
    try {
      const session = await warehouse.session();
      let state: ScheduleState;
      try {
        await warehouse.engine.prepareForWriting();
        state = await readScheduleState(session);
      } finally {
        session.close();
      }
      const now = clock.now();
      for (const p of pipelines) {
        const s = p.schedule!;
        const done = state.succeeded.get(p.name) ?? new Set<string>();
        const candidates: { due: Due; reason: 'due' | 'catch-up' | 'resume'; resumes?: string }[] = [];
        // The latest unfinished run of an interval is the one a resume takes over.
        for (const u of [...(state.unfinished.get(p.name) ?? [])].reverse()) {
          candidates.push({ due: { fireAt: u.fireAt, interval: intervalFor(s, u.fireAt), label: u.label }, reason: 'resume', resumes: u.runId });
        }
        candidates.sort((a, b) => a.due.fireAt - b.due.fireAt);
        const { due: fresh, dropped } = dueRuns(s, state.lastFire.get(p.name), now);
        if (dropped) {
          const message = droppedMessage(p.name, dropped);
          if (!said.has(message)) emit({ type: 'notice', message });
          said.add(message);
        }
        fresh.forEach((d, i) => candidates.push({ due: d, reason: i < fresh.length - 1 ? 'catch-up' : 'due' }));
        const seen = new Set<string>();
        for (const c of candidates) {
          const key = `${p.name}@${c.due.label}`;
          if (seen.has(c.due.label) || done.has(c.due.label) || inFlight.has(key)) continue;
          seen.add(c.due.label);
          if ((active.get(p.name) ?? 0) >= s.maxActiveRuns) {
            waiting++;
            continue;
          }
          await start(p, c.due, c.reason, warehouse, c.resumes);
        }
      }
    } finally {
      warehouse.close();
    }
    return waiting;
  };

  const sleepUntilNext = async () => {
    const now = clock.now();
    let next = now + MAX_SLEEP_MS;
    try {
      for (const p of scheduled(options, clock)) {
        const [t] = nextFireTimes(p.schedule!, now, 1);
        if (t !== undefined && t < next) next = t;
      }
    } catch {
      // a broken project file: look again after the usual pause
    }
    await new Promise<void>((res) => {
      const timer = setTimeout(res, Math.max(100, Math.min(MAX_SLEEP_MS, next - now + 50)));
      wake = () => {
        clearTimeout(timer);
        res();
      };
      signal.addEventListener('abort', () => wake?.(), { once: true });
    });
    wake = undefined;
  };

  emit({ type: 'notice', message: `scheduler started (PID ${process.pid}); SIGTERM or Ctrl-C stops it, letting running models roll back` });
  while (!signal.aborted) {
    let waiting = 0;
    try {
      waiting = await tick();
    } catch (e) {
      if (!(e instanceof DiagnosticError) || options.once) throw e;
      for (const d of e.diagnostics) emit({ type: 'diagnostic', diagnostic: d });
    }
    if (options.once && waiting === 0) break;
    if (options.once) {
      await Promise.race([...inFlight.values(), new Promise((r) => setTimeout(r, 1000))]);
      continue;
    }
    await sleepUntilNext();
  }
  await Promise.all(inFlight.values());
  await Promise.all(notifying);
  return { runs, failed };
}
