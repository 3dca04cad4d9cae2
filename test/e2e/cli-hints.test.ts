import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, explain, removeTempDirs, tempDir, writeProjectFiles } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

/** The commands a failed run's summary hints at, by the CLI's own output in the test's process: each works as printed. */
describe('the hints after a failed run', () => {
  it('name the flags that find the warehouse, so that both work as printed', async () => {
    const dir = copyExample();
    const db = join(tempDir(), 'elsewhere.duckdb');
    writeProjectFiles(dir, { 'models/marts/broken.sql': 'select 1 / 0 as x, error(\'no\') as y' });
    const r = await cliIn(['run', '--date', '2024-01-02', '--db', db, '--project', dir]);
    expect(r.code).toBe(1);
    const hint = (label: string) => r.stdout.split('\n').find((l) => l.startsWith(label))!.slice(label.length).trim();
    const retry = hint('re-run what did not succeed:');
    const details = hint('details:');
    expect(retry).toMatch(new RegExp(`^pipe retry \\S+ --project ${dir} --db ${db}$`));
    expect(details).toBe(retry.replace('pipe retry', 'pipe history'));
    const shown = await cliIn(details.split(' ').slice(1));
    expect(shown.code, explain(shown)).toBe(0);
    expect(shown.stdout).toContain('broken');
  });
});

describe('a command line refused before any command runs, with --json', () => {
  it('is a diagnostic on stdout too, as every other error is, whoever refuses it: an option, commander, an option of dbt', async () => {
    for (const [args, says] of [
      [['run', '--json', '--threads', '0'], "--threads must be a whole number of at least 1, got '0'"],
      [['run', '--json', '--bogus'], "unknown option '--bogus'"],
      [['run', '--json', '--state', 'target'], '--state is dbt'],
    ] as const) {
      const r = await cliIn(args);
      expect(r.code).toBe(2);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; diagnostic: { code: string; message: string } });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ type: 'diagnostic', diagnostic: { code: 'bad-option' } });
      expect(lines[0].diagnostic.message).toContain(says);
      expect(r.stderr).toContain(says);
    }
  });
});

describe('a mistake on the command line', () => {
  it("points at the help of the command it was made in, whose hint works as printed", async () => {
    for (const [args, says] of [
      [['run', '--dat', '2024-01-02'], '(pipe run --help shows how to use it)'],
      [['source', 'freshness', '--bogus'], '(pipe source freshness --help shows how to use it)'],
      [['source', 'fresh'], '(pipe source --help lists its commands)'],
      [['run-operation'], '(pipe run-operation --help shows how to use it)'],
      [['runn'], '(pipe --help lists the commands)'],
    ] as const) {
      const r = await cliIn(args);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain(says);
      const help = await cliIn([...says.slice(1, -1).split(' --help')[0].split(' ').slice(1), '--help']);
      expect(help.code, explain(help)).toBe(0);
      expect(help.stdout).toMatch(/^Usage: pipe/);
    }
    // pipe show names what it shows as an argument, or as dbt show does, with --select: one of them.
    expect(await cliIn(['show'])).toMatchObject({ code: 2, stderr: 'error: pipe show needs what to show: a model, seed or source (pipe show orders), or a query with --inline\n' });
    expect(await cliIn(['show', 'a', '-s', 'b'])).toMatchObject({ code: 2, stderr: 'error: pipe show a --select b names two things to show: give one\n' });
  });
});
