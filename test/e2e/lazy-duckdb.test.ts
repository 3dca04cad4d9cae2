import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeProjects, tempProject } from '../support/projects.js';
import { REPO } from './helpers.js';

/**
 * DuckDB's client (a native library) is loaded when pipe first opens a DuckDB instance: a
 * command that opens none does not load it, and one that opens the warehouse does.
 */

afterAll(removeProjects);

const PROJECT = {
  'pipe.yaml': 'name: small\n',
  'models/orders.sql': "select 1 as id, '{{ ds }}' as ds\n",
};

/** Runs the built CLI in a process of its own with `args`; its output, and whether DuckDB's library was loaded by the end. */
function pipeIn(dir: string, args: readonly string[]): { stdout: string; stderr: string; loaded: boolean } {
  const loader = new URL(`file://${join(REPO, 'dist/cli/load-cli.js')}`).href;
  const script = `const { loadCli } = await import(${JSON.stringify(loader)});
const code = await loadCli().runCli(['node', 'pipe', ...${JSON.stringify(args)}, '--project', ${JSON.stringify(dir)}]);
const loaded = process.report.getReport().sharedObjects.some((s) => s.includes('duckdb'));
process.stderr.write(JSON.stringify({ code, loaded }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const { code, loaded } = JSON.parse(child.stderr.slice(child.stderr.lastIndexOf('{'))) as { code: number; loaded: boolean };
  expect(code, child.stderr).toBe(0);
  return { stdout: child.stdout, stderr: child.stderr, loaded };
}

describe("DuckDB's client", () => {
  it('is not loaded by a compile with no warehouse to read, and is once the warehouse exists', () => {
    const dir = tempProject(PROJECT);
    const before = pipeIn(dir, ['compile', '--json', '--date', '2024-01-02']);
    expect(before.loaded).toBe(false);
    expect(JSON.parse(before.stdout.trim())).toMatchObject({ type: 'compiled', model: 'orders' });
    expect(pipeIn(dir, ['run', '--date', '2024-01-02']).loaded).toBe(true);
    const after = pipeIn(dir, ['compile', '--json', '--date', '2024-01-02']);
    expect(after.loaded).toBe(true);
    expect(after.stdout).toBe(before.stdout);
  });
});
