import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, PIPE_BIN, queryRows, removeTempDirs, warehouseOf } from './helpers.js';

afterAll(removeTempDirs);

/** A run's outcome is decided by its tasks, never by its output streams. */
describe('a closed stdout', () => {
  it('stops the printing, not the run: `pipe run | head -1` builds everything and exits 0', async () => {
    const dir = copyExample();
    const child = spawn(process.execPath, [PIPE_BIN, 'run', '--date', '2024-01-02', '--project', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Read the first line, then close the pipe as `head -1` does.
    await new Promise<void>((res) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) {
          child.stdout.destroy();
          res();
        }
      });
    });
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(code).toBe(0);
    const runs = await queryRows(warehouseOf(dir), 'select status, (select count(*)::INTEGER from _pipe.tasks) as tasks from _pipe.runs');
    expect(runs).toEqual([{ status: 'succeeded', tasks: 9 }]);
    const done = await queryRows(warehouseOf(dir), "select count(distinct task_id)::INTEGER as n from _pipe.task_results where status = 'succeeded'");
    expect(done).toEqual([{ n: 9 }]);
  });
});
