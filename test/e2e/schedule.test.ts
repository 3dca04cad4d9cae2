import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killRunning, ModelGate, queryRows, removeTempDirs, RunningPipe, scheduledProject, scheduledRuns, writeProjectFiles } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';
import { retryIn, scheduleIn } from '../support/in-process.js';

afterAll(removeTempDirs);

afterEach(killRunning);

/**
 * A scheduler process killed in the middle of a run, and one holding the warehouse. What the
 * scheduler runs, catches up and notifies: test/commands/schedule.test.ts.
 */

/** A model held reading a FIFO (see ModelGate) while the scheduler runs it. */
function heldModel(dir: string): ModelGate {
  const gate = new ModelGate(dir);
  writeProjectFiles(dir, { 'models/marts/slow.sql': `select 1 as n, '{{ ds }}' as ds where ${gate.sql} >= 0` });
  return gate;
}

describe('pipe schedule', () => {

  it('resumes an interval whose run was interrupted', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: UTC
`);
    heldModel(dir);
    const running = new RunningPipe(['schedule', '--once', '--json', '--project', dir], { env: { PIPE_NOW: '2024-01-05T03:00:00Z' } });
    await running.waitFor((e) => e.type === 'task-started' && (e.task as { id: string }).id === 'slow@2024-01-04');
    running.child.kill('SIGKILL');
    await running.exited;
    writeProjectFiles(dir, { 'models/marts/slow.sql': "select 1 as n, '{{ ds }}' as ds" });
    // --list says what a start would do: resume the interval.
    const list = await scheduleIn(dir, { list: true, clock: { now: () => Date.parse('2024-01-05T04:00:00Z') } });
    expect(list.stdout).toMatch(/due now: 2024-01-04 \(resumes run \S+\)/);
    const resumed = await scheduleIn(dir, { clock: { now: () => Date.parse('2024-01-05T04:00:00Z') } });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('2024-01-04 (resume');
    const runs = await scheduledRuns(dir);
    expect(runs.map((r) => r.ds)).toEqual(['2024-01-04', '2024-01-04']);
    expect(runs.at(-1)!.status).toBe('succeeded');
    // The resume is linked to the run it took over: that run is not retried again.
    const linked = await queryRows(join(dir, 'warehouse.duckdb'), "SELECT count(*)::INTEGER AS n FROM _pipe.runs WHERE parent_run_id IS NOT NULL AND (params->>'resume_of') = parent_run_id");
    expect(linked).toEqual([{ n: 1 }]);
    const retry = await retryIn(dir);
    expect(retry.code).toBe(0);
    expect(retry.stdout + retry.stderr).toContain('nothing to retry');
  });




  it('while a scheduled run holds the warehouse, other commands say which run and process hold it', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: UTC
`);
    const gate = heldModel(dir);
    const running = new RunningPipe(['schedule', '--once', '--json', '--project', dir], { env: { PIPE_NOW: '2024-01-05T03:00:00Z' } });
    const started = await running.waitFor((e) => e.type === 'task-started' && (e.task as { id: string }).id === 'slow@2024-01-04');
    const runId = started.runId as string;
    // pipe history follows the run from its log; a command that writes is refused, naming the holder
    // (run by the CLI in this process: the scheduler is the other process).
    const refused = await cliIn(['test', '--project', dir]);
    running.child.kill('SIGINT');
    // Once the scheduler says it is stopping, the held model gets rows without end: only the interrupt ends it.
    await running.waitFor((e) => e.type === 'notice' && String(e.message).startsWith('stopping'));
    gate.flood();
    const stopped = await running.exited;
    // Stopped by a signal: 130, like every command.
    expect(stopped.code).toBe(130);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`pipe run nightly (run ${runId})`);
    expect(refused.stderr).toContain(`PID ${running.child.pid}`);
    expect(refused.stderr).not.toContain('Conflicting lock');
  });

});
