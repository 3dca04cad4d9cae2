import { describe, expect, it } from 'vitest';
import { DiagnosticError, error } from '../../src/diagnostics/diagnostics.js';
import type { Pipeline, Schedule } from '../../src/analyze/project-settings.js';
import {
  initialSchedulerState,
  MAX_SLEEP_MS,
  nextSchedulerState,
  ONCE_RETRY_MS,
  RESUME_AFTER_MS,
  type SchedulerEffect,
  type SchedulerEvent,
  type SchedulerState,
} from '../../src/schedule/scheduler-machine.js';
import type { ScheduleState } from '../../src/warehouse/run-state.js';
import { feed as feedAll } from '../support/feed.js';
import { planRound } from '../../src/schedule/round.js';

function pipeline(name: string, schedule: Partial<Schedule> = {}): Pipeline {
  return {
    name,
    file: `pipelines/${name}.yaml`,
    select: [],
    exclude: [],
    vars: {},
    secret_vars: [],
    notify: { on_failure: [], on_success: [], on_retry: [] },
    schedule: { cron: '0 2 * * *', timezone: 'UTC', interval: 'daily', catchup: false, maxCatchup: 30, maxActiveRuns: 1, ...schedule },
  };
}

const at = (iso: string) => Date.parse(iso);
const NOW = at('2024-01-05T03:00:00Z');

function warehouse(s: { lastFire?: Record<string, string>; succeeded?: Record<string, string[]>; unfinished?: Record<string, { fireAt: string; label: string; runId: string }[]> } = {}): ScheduleState {
  return {
    lastFire: new Map(Object.entries(s.lastFire ?? {}).map(([p, t]) => [p, at(t)])),
    succeeded: new Map(Object.entries(s.succeeded ?? {}).map(([p, labels]) => [p, new Set(labels)])),
    unfinished: new Map(Object.entries(s.unfinished ?? {}).map(([p, us]) => [p, us.map((u) => ({ ...u, fireAt: at(u.fireAt) }))])),
  };
}

const checked = (pipelines: Pipeline[], state: ScheduleState = warehouse(), now = NOW): SchedulerEvent => ({ kind: 'checked', now, pipelines, state });
const ended = (key: string, succeeded = true): SchedulerEvent => ({ kind: 'run-ended', key, succeeded });

const feed = (state: SchedulerState, ...events: SchedulerEvent[]) => feedAll(nextSchedulerState, state, events);

/** The effects without the pipeline objects and interval details: what is started, said, slept. */
function brief(effects: readonly SchedulerEffect[]): unknown[] {
  return effects.map((e) => {
    switch (e.kind) {
      case 'start-run':
        return { start: e.key, reason: e.reason, ...(e.resumes ? { resumes: e.resumes } : {}) };
      case 'sleep':
        return { sleep: new Date(e.until).toISOString() };
      case 'say':
        return { say: e.message };
      case 'end':
        return { end: e.result, ...(e.error ? { error: e.error } : {}) };
      default:
        return e.kind;
    }
  });
}

const once = initialSchedulerState(true);
const service = initialSchedulerState(false);

describe('the scheduler', () => {
  it('--once: a due interval is started, runs, and the scheduler is done when it ends', () => {
    const r = feed(once, { kind: 'woke' }, checked([pipeline('nightly')]), ended('nightly@2024-01-04'));
    expect(brief(r.effects[0])).toEqual(['check']);
    expect(brief(r.effects[1])).toEqual([{ start: 'nightly@2024-01-04', reason: 'due' }, 'end-round']);
    expect(r.effects[1][0]).toMatchObject({ kind: 'start-run', due: { fireAt: at('2024-01-05T02:00:00Z'), label: '2024-01-04' } });
    expect(brief(r.effects[2])).toEqual([{ end: { runs: 1, failed: 0 } }]);
    expect(r.state.kind).toBe('done');
  });

  it('--once with nothing due says when each pipeline fires next, and ends after the round', () => {
    const pipelines = [pipeline('nightly', { timezone: 'Europe/Amsterdam' }), pipeline('hourly', { cron: '0 * * * *', interval: 'hourly' })];
    const state = warehouse({ lastFire: { nightly: '2024-01-05T01:00:00Z', hourly: '2024-01-05T03:00:00Z' } });
    const r = feed(once, { kind: 'woke' }, checked(pipelines, state));
    expect(brief(r.effects[1])).toEqual([
      'end-round',
      {
        say: [
          'nothing is due now; next:',
          '  nightly: 2024-01-06 02:00 Europe/Amsterdam  (2024-01-06T01:00:00.000Z)  covers 2024-01-05',
          '  hourly: 2024-01-05 04:00 UTC  (2024-01-05T04:00:00.000Z)  covers 2024-01-05 03:00 UTC',
        ].join('\n'),
      },
      { end: { runs: 0, failed: 0 } },
    ]);
  });

  it('the service sleeps until just after the next fire time, and a run that ends starts a round', () => {
    const pipelines = [pipeline('nightly'), pipeline('hourly', { cron: '0 * * * *', interval: 'hourly' })];
    const r = feed(service, { kind: 'woke' }, checked(pipelines, warehouse(), at('2024-01-05T03:59:30Z')));
    expect(brief(r.effects[1])).toEqual([
      { start: 'nightly@2024-01-04', reason: 'due' },
      { start: 'hourly@2024-01-05T02', reason: 'due' },
      'end-round',
      { sleep: '2024-01-05T04:00:00.050Z' },
    ]);
    const next = feed(r.state, ended('hourly@2024-01-05T02', false));
    expect(brief(next.effects[0])).toEqual(['wake-up', 'check']);
    expect(next.state).toMatchObject({ kind: 'checking', ledger: { runs: 2, failed: 1, running: new Map([['nightly@2024-01-04', 'nightly']]) } });
  });

  it('a run that ended without an outcome (it could not start) is resumed by a round a minute later, not by the round its end starts', () => {
    const r = feed(service, { kind: 'woke' }, checked([pipeline('nightly')]));
    expect(brief(r.effects[1])).toEqual([{ start: 'nightly@2024-01-04', reason: 'due' }, 'end-round', { sleep: '2024-01-05T03:01:00.000Z' }]);
    // Triggered, and its run never recorded: the warehouse shows the interval unfinished.
    const unfinished = warehouse({
      lastFire: { nightly: '2024-01-05T02:00:00Z' },
      unfinished: { nightly: [{ fireAt: '2024-01-05T02:00:00Z', label: '2024-01-04', runId: 'never-recorded' }] },
    });
    const endedAt = NOW + 5_000;
    const next = feed(r.state, { kind: 'run-ended', key: 'nightly@2024-01-04', succeeded: false, unfinishedAt: endedAt }, checked([pipeline('nightly')], unfinished, endedAt));
    expect(brief(next.effects[0])).toEqual(['wake-up', 'check']);
    expect(brief(next.effects[1])).toEqual(['end-round', { sleep: new Date(endedAt + RESUME_AFTER_MS).toISOString() }]);
    expect(next.state.ledger.failed).toBe(1);
    const later = endedAt + RESUME_AFTER_MS + 50;
    const resumed = feed(next.state, { kind: 'woke' }, checked([pipeline('nightly')], unfinished, later));
    expect(brief(resumed.effects[1])).toEqual([{ start: 'nightly@2024-01-04', reason: 'resume', resumes: 'never-recorded' }, 'end-round', { sleep: new Date(later + MAX_SLEEP_MS).toISOString() }]);
    // Started again, it is this process's once more: the state showing it unfinished resumes nothing.
    const again = feed(resumed.state, { kind: 'woke' }, checked([pipeline('nightly')], unfinished, later + 1_000));
    expect(brief(again.effects[1])).toEqual(['end-round', { sleep: new Date(later + 1_000 + MAX_SLEEP_MS).toISOString() }]);
  });

  it('sleeps at most a minute, so that a changed project is read again', () => {
    const r = feed(service, { kind: 'woke' }, checked([pipeline('weekly', { cron: '0 2 * * 1' })], warehouse({ lastFire: { weekly: '2024-01-01T02:00:00Z' } })));
    expect(brief(r.effects[1])).toEqual(['end-round', { sleep: new Date(NOW + MAX_SLEEP_MS).toISOString() }]);
  });

  it('runs beyond max_active_runs wait for a slot; the end of a run starts the next', () => {
    const p = pipeline('nightly', { catchup: true });
    const first = warehouse({ lastFire: { nightly: '2024-01-02T02:00:00Z' } });
    const r = feed(once, { kind: 'woke' }, checked([p], first));
    expect(brief(r.effects[1])).toEqual([{ start: 'nightly@2024-01-02', reason: 'catch-up' }, 'end-round', { sleep: new Date(NOW + ONCE_RETRY_MS).toISOString() }]);

    // A round while it runs starts nothing: its interval is in flight (unfinished), the others wait.
    const running = { lastFire: { nightly: '2024-01-03T02:00:00Z' }, unfinished: { nightly: [{ fireAt: '2024-01-03T02:00:00Z', label: '2024-01-02', runId: 'r1' }] } };
    const busy = feed(r.state, { kind: 'woke' }, checked([p], warehouse(running)));
    expect(brief(busy.effects[1])).toEqual(['end-round', { sleep: new Date(NOW + ONCE_RETRY_MS).toISOString() }]);

    const after = feed(busy.state, ended('nightly@2024-01-02'), checked([p], warehouse({ lastFire: running.lastFire, succeeded: { nightly: ['2024-01-02'] } })));
    expect(brief(after.effects[0])).toEqual(['wake-up', 'check']);
    expect(brief(after.effects[1])).toEqual([{ start: 'nightly@2024-01-03', reason: 'catch-up' }, 'end-round', { sleep: new Date(NOW + ONCE_RETRY_MS).toISOString() }]);
  });

  it('a run that ends during a round, while runs wait for a slot, starts another round at once', () => {
    const p = pipeline('nightly', { catchup: true, maxActiveRuns: 2 });
    const r = feed(service, { kind: 'woke' }, checked([p], warehouse({ lastFire: { nightly: '2024-01-01T02:00:00Z' } })));
    expect(brief(r.effects[1]).filter((e) => typeof e === 'object' && e && 'start' in e)).toEqual([
      { start: 'nightly@2024-01-01', reason: 'catch-up' },
      { start: 'nightly@2024-01-02', reason: 'catch-up' },
    ]);
    const state = warehouse({
      lastFire: { nightly: '2024-01-03T02:00:00Z' },
      succeeded: { nightly: ['2024-01-01'] },
      unfinished: { nightly: [{ fireAt: '2024-01-03T02:00:00Z', label: '2024-01-02', runId: 'r2' }] },
    });
    const again = feed(r.state, { kind: 'woke' }, ended('nightly@2024-01-01'), checked([p], state));
    expect(brief(again.effects[2])).toEqual([{ start: 'nightly@2024-01-03', reason: 'catch-up' }, 'end-round', 'check']);
    expect(again.state).toMatchObject({ kind: 'checking', again: false });
  });

  it('resumes an unfinished run, linked to it, before the due ones', () => {
    const state = warehouse({
      lastFire: { nightly: '2024-01-04T02:00:00Z' },
      unfinished: {
        nightly: [
          { fireAt: '2024-01-04T02:00:00Z', label: '2024-01-03', runId: 'old' },
          { fireAt: '2024-01-04T02:00:00Z', label: '2024-01-03', runId: 'latest' },
        ],
      },
    });
    const r = feed(once, { kind: 'woke' }, checked([pipeline('nightly', { maxActiveRuns: 2 })], state));
    expect(brief(r.effects[1])).toEqual([
      { start: 'nightly@2024-01-03', reason: 'resume', resumes: 'latest' },
      { start: 'nightly@2024-01-04', reason: 'due' },
      'end-round',
    ]);
  });

  it('names the missed intervals it leaves out once, not every round', () => {
    const p = pipeline('nightly');
    const state = warehouse({ lastFire: { nightly: '2024-01-01T02:00:00Z' } });
    const r = feed(service, { kind: 'woke' }, checked([p], state), ended('nightly@2024-01-04'), checked([p], state));
    const said = r.effects.flat().filter((e) => e.kind === 'say');
    expect(said).toEqual([
      { kind: 'say', message: 'nightly: not running 3 missed intervals (2024-01-01 … 2024-01-03): catchup is off; pipe backfill nightly --start 2024-01-01 --end 2024-01-03 builds them' },
    ]);
  });

  it('says a held warehouse once per holder, and tries again', () => {
    const held = (message: string): SchedulerEvent => ({ kind: 'held', now: NOW, pipelines: [pipeline('nightly')], message });
    const r = feed(service, { kind: 'woke' }, held('held by A'), { kind: 'woke' }, held('held by A'), { kind: 'woke' }, held('held by B'));
    expect(r.effects.flat().filter((e) => e.kind === 'say')).toEqual([
      { kind: 'say', message: 'held by A' },
      { kind: 'say', message: 'held by B' },
    ]);
    expect(brief(r.effects[3])).toEqual(['end-round', { sleep: new Date(NOW + MAX_SLEEP_MS).toISOString() }]);
    // --once tries again in a second.
    expect(brief(feed(once, { kind: 'woke' }, held('held by A')).effects[1])).toEqual([{ say: 'held by A' }, 'end-round', { sleep: new Date(NOW + ONCE_RETRY_MS).toISOString() }]);
    // One process holding it for one run after another (another scheduler) is one holder: said once, though each message names its run.
    const byProcess = (run: string): SchedulerEvent => ({ kind: 'held', now: NOW, pipelines: [pipeline('nightly')], message: `in use by pipe run nightly (run ${run}), PID 42`, holder: 'pid 42' });
    const p = feed(service, { kind: 'woke' }, byProcess('r1'), { kind: 'woke' }, byProcess('r2'), { kind: 'woke' }, byProcess('r3'));
    expect(p.effects.flat().filter((e) => e.kind === 'say')).toEqual([{ kind: 'say', message: 'in use by pipe run nightly (run r1), PID 42' }]);
  });

  it('a broken project is reported and read again later; with --once it is the answer', () => {
    const broken: SchedulerEvent = { kind: 'broken', now: NOW, error: new DiagnosticError([error('no-schedule', 'no pipeline has a schedule')]) };
    const r = feed(service, { kind: 'woke' }, broken);
    // Said once that it goes on: an error printed by a process that stays could be taken for one that stopped.
    const goesOn = { say: 'pipe schedule goes on: it reads the project again every minute, and starts what is due once the project is fixed (--once and --list stop on it, exit 2)' };
    expect(brief(r.effects[1])).toEqual(['report', goesOn, 'end-round', { sleep: new Date(NOW + MAX_SLEEP_MS).toISOString() }]);
    const again = feed(r.state, { kind: 'woke' }, { ...broken, now: NOW + MAX_SLEEP_MS });
    expect(brief(again.effects[1])).toEqual(['report', 'end-round', { sleep: new Date(NOW + 2 * MAX_SLEEP_MS).toISOString() }]);
    const o = feed(once, { kind: 'woke' }, broken);
    expect(brief(o.effects[1])).toEqual(['end-round', { end: { runs: 0, failed: 0 }, error: (broken as { error: unknown }).error }]);
  });

  it('stop while asleep with runs in flight: starts nothing, ends when they have rolled back', () => {
    const r = feed(service, { kind: 'woke' }, checked([pipeline('nightly')]), { kind: 'stop' }, { kind: 'woke' }, ended('nightly@2024-01-04', false));
    expect(brief(r.effects[2])).toEqual(['wake-up']);
    expect(r.effects[3]).toEqual([]);
    expect(brief(r.effects[4])).toEqual([{ end: { runs: 1, failed: 1 } }]);
  });

  it('stop during a round: the round starts nothing, closes the warehouse, and the scheduler ends', () => {
    const r = feed(service, { kind: 'woke' }, { kind: 'stop' }, checked([pipeline('nightly')]));
    expect(r.effects[1]).toEqual([]);
    expect(brief(r.effects[2])).toEqual(['end-round', { end: { runs: 0, failed: 0 } }]);
    expect(feed(service, { kind: 'stop' }).effects).toEqual([[{ kind: 'wake-up' }, { kind: 'end', result: { runs: 0, failed: 0 } }]]);
  });

  it('an event that cannot happen is an internal error', () => {
    expect(() => nextSchedulerState(service, checked([pipeline('nightly')]))).toThrow("internal error: 'checked' while sleeping");
  });
});

describe('planRound on a state read while runs of this process were in flight', () => {
  it('never resumes an interval this process started, even when the state still shows its run running', () => {
    const p = pipeline('nightly', { catchup: true, maxActiveRuns: 3 });
    const state = warehouse({
      lastFire: { nightly: '2024-01-05T02:00:00Z' },
      unfinished: { nightly: [{ fireAt: '2024-01-04T02:00:00Z', label: '2024-01-03', runId: 'r3' }] },
    });
    // The run of 2024-01-03 ended between the read and this round: no longer running, but started here.
    const round = planRound([p], state, NOW, new Map(), new Set(['nightly@2024-01-03']));
    expect(round.actions).toEqual([]);
    // A run that a dead process left running is resumed.
    const resumed = planRound([p], state, NOW, new Map(), new Set());
    expect(resumed.actions).toMatchObject([{ kind: 'start', key: 'nightly@2024-01-03', reason: 'resume', resumes: 'r3' }]);
  });

  it('resumes the interval a run was started for, as its label names it, whatever its fire time covers now', () => {
    // 00:00 in Amsterdam on the 9th (23:00Z on the 8th) covers the 7th; a run recorded for the 8th resumes the 8th.
    const p = pipeline('nightly', { cron: '@daily', timezone: 'Europe/Amsterdam' });
    const state = warehouse({ lastFire: { nightly: '2024-01-08T23:00:00Z' }, unfinished: { nightly: [{ fireAt: '2024-01-08T23:00:00Z', label: '2024-01-08', runId: 'r8' }] } });
    const round = planRound([p], state, at('2024-01-09T03:00:00Z'), new Map());
    expect(round.actions).toMatchObject([{ kind: 'start', key: 'nightly@2024-01-08', reason: 'resume', due: { label: '2024-01-08', interval: { start: at('2024-01-08T00:00:00Z'), end: at('2024-01-09T00:00:00Z') } } }]);
  });
});
