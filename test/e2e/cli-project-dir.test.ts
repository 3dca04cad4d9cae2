import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cliIn } from '../support/cli-in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { tempDir, removeTempDirs } from './helpers.js';

afterAll(() => {
  removeProjects();
  removeTempDirs();
});

const home = process.cwd();
afterEach(() => {
  process.chdir(home);
  delete process.env.DBT_PROJECT_DIR;
});

/**
 * dbt reads the project's folder from `DBT_PROJECT_DIR` when `--project-dir` is not given; so
 * does pipe, where the current folder holds no project of its own: a project the user stands
 * in is never traded for one the environment names.
 */
describe('DBT_PROJECT_DIR', () => {
  const DBT = { 'dbt_project.yml': 'name: shop\n', 'models/orders.sql': 'select 1 as id' };

  it('names the project when --project is not given and the current folder holds none', async () => {
    const dir = tempProject(DBT);
    process.chdir(tempDir());
    process.env.DBT_PROJECT_DIR = dir;
    const r = await cliIn(['ls']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('orders');
  });

  it('gives way to --project, and to a project in the current folder', async () => {
    const named = tempProject(DBT);
    const here = tempProject({ 'dbt_project.yml': 'name: here\n', 'models/customers.sql': 'select 1 as id' });
    process.env.DBT_PROJECT_DIR = named;
    process.chdir(here);
    const inHere = await cliIn(['ls']);
    expect(inHere.code, inHere.stderr).toBe(0);
    expect(inHere.stdout).toContain('customers');
    expect(inHere.stdout).not.toContain('orders');
    process.chdir(tempDir());
    const given = await cliIn(['ls', '--project', here]);
    expect(given.stdout).toContain('customers');
  });
});

describe("dbt's options", () => {
  it('--project-dir is --project, as dbt names it', async () => {
    const dir = tempProject({ 'dbt_project.yml': 'name: shop\n', 'models/orders.sql': 'select 1 as id' });
    process.chdir(tempDir());
    const r = await cliIn(['ls', '--project-dir', dir]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('orders');
  });

  it('--state and --defer say what pipe does instead, not a near name', async () => {
    const state = await cliIn(['run', '--select', 'state:modified+', '--defer', '--state', 'prod_artifacts/']);
    expect(state.code).toBe(2);
    expect(state.stderr).toBe(
      "error: --defer is dbt's, and pipe has no such option: pipe builds in one warehouse and reads what a selection does not build from it as it is: there is no other environment to defer to; build the upstream too (--select +model), or point --db or --target at the warehouse that has it\n",
    );
    const only = await cliIn(['run', '--state=prod_artifacts/']);
    expect(only.stderr).toContain('--select state:modified+ needs no --state');
    expect(only.stderr).not.toContain('Did you mean');
    const empty = await cliIn(['run', '--empty']);
    expect([empty.code, empty.stderr]).toEqual([2, "error: --empty is dbt's, and pipe has no such option: pipe has no zero-row build: pipe compile renders every query, and a run into another warehouse (pipe run --db ci.duckdb) checks them against the tables without touching this one\n"]);
    for (const option of ['--fail-fast', '-x', '--warn-error', '--target-path', '--log-path']) {
      const r = await cliIn(['run', option]);
      expect([r.code, r.stderr.startsWith(`error: ${option} is dbt's, and pipe has no such option: `)], option).toEqual([2, true]);
    }
  });

  it("reads dbt's older names of --select (-m, --models, --model) as --select, with dbt's warning, where a command takes --select", async () => {
    const dir = tempProject({ 'models/a.sql': 'select 1 as id', 'models/b.sql': "select * from {{ ref('a') }}" });
    for (const args of [['-m', 'a+'], ['--models', 'a+'], ['--model=a+'], ['--models=a+']]) {
      const r = await cliIn(['ls', '--project', dir, ...args]);
      const option = args[0].split('=')[0];
      expect([r.code, r.stdout.split('\n').slice(1, -1)], args.join(' ')).toEqual([0, [expect.stringMatching(/^a +table/), expect.stringMatching(/^b +table +a$/)]]);
      expect(r.stderr, args.join(' ')).toBe(`warning: ${option} is dbt's older name for --select, read as --select\n`);
    }
    for (const args of [['-m', 'b'], ['-mb']]) {
      const selected = await cliIn(['ls', '--project', dir, ...args]);
      expect(selected.stdout.split('\n').slice(1, -1), args.join(' ')).toEqual([expect.stringMatching(/^b +table +a$/)]);
    }
    // A command without --select is not given one: its own error says what is wrong.
    const history = await cliIn(['history', '--project', dir, '--models', 'a']);
    expect([history.code, history.stderr]).toEqual([2, expect.stringContaining("unknown option '--models'")]);
  });
});
