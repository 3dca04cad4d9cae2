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
