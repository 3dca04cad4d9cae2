import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  copyExample,
  errorLines,
  expectRefusedBeforeRunning,
  diagnosticsOf,
  eventsOfType,
  explain,
  pipe,
  removeTempDirs,
  writeProjectFiles,
  type PipeResult,
} from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

/**
 * What the command line shows for a mistake: exit 2 before anything runs, the diagnostic printed
 * with the file, line, column, source line and hint (or as a --json event), never a stack trace,
 * and no warehouse created. Every kind of mistake is tested as a library call in
 * test/commands/bad-input.test.ts; these are representatives of its printed forms, parsed and run
 * by the CLI in the test's process. The binary runs where its working folder is what is tested.
 */

/** Runs `pipe run` on a fresh copy of the example with `files` added; checks exit 2 and that no warehouse appeared. */
async function badRun(files: Record<string, string>, extraArgs: readonly string[] = []): Promise<PipeResult & { dir: string }> {
  const dir = copyExample();
  writeProjectFiles(dir, files);
  const r = await cliIn(['run', '--date', '2024-01-02', ...extraArgs, '--project', dir]);
  expectRefusedBeforeRunning(r, dir);
  return { ...r, dir };
}

describe('bad input: exit 2, pointing at the source, nothing written', () => {
  it('an unknown ref() gives file:line:col, the source line and a suggestion', async () => {
    const r = await badRun({ 'models/marts/recent_orders.sql': "select *\nfrom {{ ref('stg_ordrs') }}\nwhere true\n" });
    expect(r.stderr).toContain('models/marts/recent_orders.sql:2:9');
    expect(r.stderr).toContain("from {{ ref('stg_ordrs') }}");
    expect(r.stderr).toContain("did you mean 'stg_orders'");
    expect(errorLines(r.stderr)).toHaveLength(1);
  });

  it('run inside a project\'s subfolder: says which folder above is the project', () => {
    const dir = copyExample();
    const r = pipe(['run', '--date', '2024-01-02'], { cwd: join(dir, 'models') });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'models')} has no models/ folder`);
    expect(r.stderr).toContain(`hint: ${dir} is one: run pipe there, or pass --project ${dir}`);
  });

  it('--project naming a file, and an --hour that is no whole hour, are refused with what to pass', async () => {
    const dir = copyExample();
    const file = await cliIn(['run', '--date', '2024-01-02', '--project', join(dir, 'pipe.yaml')]);
    expect(file.code, explain(file)).toBe(2);
    expect(file.stderr).toContain(`${join(dir, 'pipe.yaml')} is a file, not a project directory`);
    expect(file.stderr).toContain(`hint: pass the folder it is in: --project ${dir}`);
    for (const hour of ['', '1e1', '0x1', '24']) {
      const r = await cliIn(['run', '--date', '2024-01-02', '--hour', hour, '--dry-run', '--project', dir]);
      expect(r.code, `--hour '${hour}'`).toBe(2);
      expect(r.stderr).toContain(`--hour must be 0 to 23, got '${hour}'`);
    }
    // A backfill's --retries is bounded as a model's retries are.
    for (const retries of ['11', '-1', '1.5']) {
      const r = await cliIn(['backfill', '--start', '2024-01-01', '--end', '2024-01-02', '--retries', retries, '--dry-run', '--project', dir]);
      expect(r.code, `--retries '${retries}'`).toBe(2);
      expect(r.stderr).toContain(`--retries must be a whole number from 0 to 10, got '${retries}'`);
    }
  });

  it('an option of one value given twice is refused, not the last one taken; repeatable ones add up', async () => {
    const dir = copyExample();
    for (const args of [
      ['run', '--date', '2024-01-02', '-d', '2024-01-03'],
      ['backfill', '--start', '2024-01-01', '--end', '2024-01-02', '--end=2024-01-03'],
      ['run', '--date', '2024-01-02', '--threads', '2', '--threads', '4'],
    ]) {
      const r = await cliIn([...args, '--dry-run', '--project', dir]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/error: --(date|end|threads) is given twice: give it once/);
    }
    const ok = await cliIn(['run', '--date', '2024-01-02', '--var', 'a=1', '--var', 'b=2', '--select', 'fct_orders', '--select', '+dim_customers', '--dry-run', '--project', dir]);
    expect(ok.code, explain(ok)).toBe(0);
  });

  it('a memory_limit DuckDB cannot work in: says DuckDB ran out of memory and what to raise, not an internal error', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\nvars: {currency: EUR}\nsettings:\n  memory_limit: 1KB\n' });
    // Before its run starts (reading the run state), nothing ran: the setting is bad input (2).
    for (const args of [['run', '--date', '2024-01-02'], ['run', '--date', '2024-01-02', '--dry-run'], ['backfill', '--start', '2024-01-01', '--end', '2024-01-02', '--dry-run']]) {
      const r = await cliIn([...args, '--project', dir]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/error: DuckDB ran out of memory: /);
      expect(r.stderr).toContain('hint: raise memory_limit under settings: (pipe.yaml, or the profile in a dbt project), or lower threads: nothing was run');
      expect(r.stderr).not.toContain('internal error');
    }
  });

  it('an unknown --select name: one error with a suggestion', async () => {
    const r = await badRun({}, ['--select', 'fct_ordrs']);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('fct_ordrs');
    expect(r.stderr).toContain("'fct_orders'");
    const json = await cliIn(['run', '--date', '2024-01-02', '--select', 'fct_ordrs', '--json', '--project', r.dir]);
    expect(json.code).toBe(2);
    expect(diagnosticsOf(json.events)).toEqual([expect.objectContaining({ hint: expect.stringContaining('fct_orders') })]);
    expect(eventsOfType(json.events, 'run-started')).toEqual([]);
  });
});
