import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, explain, removeTempDirs, warehouseOf } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

/**
 * `pipe run --dry-run` as a user meets it: its exit status and its two formats, from the command
 * line parsed and run by the CLI in the test's process.
 */

afterAll(removeTempDirs);

describe('pipe run --dry-run', () => {
  it('prints each task with its SQL in run order and exits 0, as text or JSON; bad input exits 2; nothing is written', async () => {
    const dir = copyExample();
    const text = await cliIn(['run', 'daily', '--dry-run', '--date', '2024-01-05', '--project', dir]);
    expect(text.code, explain(text)).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe('-- run 2024-01-05: 9 tasks, up to 4 at once');
    const heads = lines.filter((l) => /^-- \d+\. /.test(l));
    expect(heads.map((l) => Number(/^-- (\d+)\./.exec(l)![1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(heads[6]).toMatch(/^-- 7\. fct_orders@2024-01-05 \(incremental\)  ← /);
    expect(text.stdout).toContain('BEGIN TRANSACTION;');
    expect(text.stdout.trimEnd().endsWith('-- nothing was written (--dry-run)')).toBe(true);

    const json = await cliIn(['run', 'daily', '--dry-run', '--json', '--date', '2024-01-05', '--project', dir]);
    expect(json.code, explain(json)).toBe(0);
    expect(json.events[0]).toEqual({ type: 'planned-run', ds: '2024-01-05', date_is_default: false, threads: 4, tasks: 9 });
    const tasks = json.events.slice(1);
    expect(tasks.map((t) => t.order)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(tasks.every((t) => t.type === 'planned-task' && Array.isArray(t.steps) && (t.steps as unknown[]).length > 0)).toBe(true);

    const bad = await cliIn(['run', '--dry-run', '--select', 'fct_ordrs', '--date', '2024-01-05', '--project', dir]);
    expect(bad.code, explain(bad)).toBe(2);
    expect(bad.stderr).toContain("selector 'fct_ordrs'");
    expect(bad.stdout).toBe('');
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });
});
