import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, killRunning, ModelGate, removeTempDirs, RunningPipe, tempDir, writeProjectFiles } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(async () => {
  await killRunning();
  removeTempDirs();
});

/**
 * `pipe history` from a second process while a backfill holds the warehouse: it reads the run
 * logs and shows the run's progress; once the run is killed and the warehouse free, history
 * reads the warehouse, which tells the run was interrupted. The backfill is a pipe process;
 * history is parsed and run by the CLI in the test's own process, the second one.
 * In-process only: test/commands/run-log.test.ts.
 */

describe('pipe history while a run holds the warehouse', () => {
  it('shows the live run from its log, then the warehouse record once it is killed', async () => {
    const dir = tempDir();
    const gate = new ModelGate(dir);
    writeProjectFiles(dir, {
      'models/first.sql': "{{ config(materialized='table') }}\nselect 1 as x\n",
      // Held at the gate until killed: a run with a finished task and one under way.
      'models/held.sql': `{{ config(materialized='table') }}\nselect x from {{ ref('first') }} where ${gate.sql} >= 0\n`,
    });
    const running = new RunningPipe(['backfill', '--start', '2024-01-01', '--end', '2024-01-02', '--json', '--project', dir]);
    const started = await running.waitFor((e) => e.type === 'task-started' && (e.task as { model: string }).model === 'held');
    const runId = started.runId as string;

    const runs = await cliIn(['history', '--json', '--project', dir]);
    expect(runs.code, explain(runs)).toBe(0);
    expect(eventsOfType(runs.events, 'notice')[0].message).toBe(`warehouse in use by pid ${running.child.pid} (pipe backfill (run ${runId})): showing live run logs`);
    expect(eventsOfType(runs.events, 'run')).toMatchObject([{ run_id: runId, source: 'run-log', command: 'backfill', status: 'running', tasks: 2, succeeded: 1, running: 1, pending: 0 }]);

    const tasks = await cliIn(['history', runId, '--project', dir]);
    expect(tasks.code, explain(tasks)).toBe(0);
    const text = tasks.stdout.split('\n');
    expect(text[0]).toMatch(/^warehouse in use by pid \d+ \(pipe backfill/);
    expect(text[1]).toMatch(new RegExp(`^run ${runId} \\(backfill, running, \\d+\\w*\\): 1 of 2 tasks done, 0 failed, 1 running$`));
    expect(text.find((l) => l.startsWith('first'))).toMatch(/\bsucceeded\b/);
    expect(text.find((l) => l.startsWith('held'))).toMatch(/\brunning\b/);

    running.child.kill('SIGKILL');
    await running.exited;
    const after = await cliIn(['history', '--json', '--project', dir]);
    expect(after.code, explain(after)).toBe(0);
    expect(eventsOfType(after.events, 'notice')).toEqual([]);
    expect(eventsOfType(after.events, 'run')).toMatchObject([{ run_id: runId, status: 'interrupted', succeeded: 1, pending: 1 }]);
  });
});
