import { describe, expect, it } from 'vitest';
import type { PipeEvent } from '../../src/events/events.js';
import { runsInFlightAfter, scheduleStopNotice, stopNotice, stopPointAfter, type StopPoint } from '../../src/cli/stop-notice.js';

const started = { type: 'run-started', runId: 'r1' } as unknown as PipeEvent;
const finished = { type: 'run-finished', runId: 'r1' } as unknown as PipeEvent;
const waiting: PipeEvent = { type: 'notice', message: 'the warehouse is in use by another process; waiting up to 1 minute for it', waitsFor: 'warehouse' };
const other: PipeEvent = { type: 'notice', message: 'anything else' };

describe('what the first Ctrl-C says', () => {
  it('a command waiting for the warehouse says the wait ends and nothing ran; once its run started, that tasks roll back', () => {
    const after = (events: PipeEvent[]) => events.reduce<StopPoint>(stopPointAfter, 'preparing');
    expect(stopNotice(after([other]))).toContain('stopping: no task has started, and none will');
    expect(stopNotice(after([other, waiting]))).toContain('no longer waiting for the warehouse; nothing was run');
    expect(stopNotice(after([waiting, started]))).toContain('any running is rolled back');
    // A wait told after the run started (a later open) does not take back that tasks ran.
    expect(stopNotice(after([started, waiting]))).toContain('any running is rolled back');
    // run-operation runs queries as it renders, with no run to tell of them.
    expect(stopNotice('unknown')).toContain('any running is rolled back');
  });

  it('a scheduler with no run in flight says none is, not that models roll back', () => {
    const inFlight = (events: PipeEvent[]) => events.reduce(runsInFlightAfter, 0);
    expect(scheduleStopNotice(inFlight([]))).toBe('stopping: no run is in flight, and none starts now');
    expect(scheduleStopNotice(inFlight([started, finished]))).toBe('stopping: no run is in flight, and none starts now');
    expect(scheduleStopNotice(inFlight([started]))).toContain('the running one rolls back its running models');
    expect(scheduleStopNotice(inFlight([started, started]))).toContain('2 running ones roll back');
  });
});
