import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCAFFOLD_DATE } from '../../src/commands/init-scaffold.js';
import { errorLines, eventsOfType, explain, ordersOn, queryRows, removeTempDirs, taskIdsOf, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { initIn, runIn, testIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/** Every file under `dir` with its text: what a refused `pipe init` must leave exactly as it was. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('pipe init', () => {
  it('writes a project that pipe run builds and pipe test passes, and says how', async () => {
    const parent = tempDir();
    const demo = join(parent, 'demo');
    const made = await initIn(demo, parent);
    expect(made.code, explain(made)).toBe(0);
    expect(Object.keys(tree(demo)).sort()).toEqual([
      '.gitignore',
      'models/marts/fct_orders.sql',
      'models/marts/fct_orders.yaml',
      'models/staging/stg_orders.sql',
      'pipe.yaml',
      'pipelines/daily.yaml',
      'seeds/raw_orders.csv',
    ]);
    for (const file of Object.keys(tree(demo))) expect(made.stdout).toContain(file);
    expect(made.stdout).toContain(`cd ${demo} && pipe run --date ${SCAFFOLD_DATE}\n  pipe test --date ${SCAFFOLD_DATE}\n`);

    const run = await runIn(demo, { date: SCAFFOLD_DATE });
    expect(run.code, explain(run)).toBe(0);
    expect(taskIdsOf(run.events, 'task-succeeded').sort()).toEqual(['fct_orders@2024-01-02', 'raw_orders', 'stg_orders@2024-01-02']);
    expect(eventsOfType(run.events, 'check-failed')).toEqual([]);
    const db = warehouseOf(demo);
    const seeded = ordersOn(SCAFFOLD_DATE, demo);
    expect(seeded.length).toBeGreaterThan(1);
    expect(await queryRows(db, "SELECT order_id::INTEGER AS order_id, order_date::VARCHAR AS order_date, (amount * 100)::INTEGER AS cents, currency FROM fct_orders ORDER BY order_id")).toEqual(
      seeded.map((o) => ({
        order_id: Number(o.order_id),
        order_date: SCAFFOLD_DATE,
        cents: Math.round(Number(o.quantity) * Number(o.unit_price) * 100),
        currency: 'EUR',
      })),
    );

    const checked = await testIn(demo, { date: SCAFFOLD_DATE });
    expect(checked.code, explain(checked)).toBe(0);
    expect(taskIdsOf(checked.events, 'task-succeeded')).toEqual(['fct_orders@2024-01-02']);

    // What the run wrote beside the project (the warehouse, run logs, kept templates) is not for git.
    const onDisk = Object.keys(tree(demo));
    expect(onDisk.some((f) => f.startsWith('.pipe/'))).toBe(true);
    execFileSync('git', ['init', '-q'], { cwd: demo });
    const untracked = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: demo, encoding: 'utf8' });
    expect(untracked.trim().split('\n').map((l) => l.slice(3)).sort()).toEqual(onDisk.filter((f) => !f.startsWith('.pipe/') && !f.endsWith('.duckdb') && !f.endsWith('.wal')).sort());

    // The pipeline it wrote selects the same models: the next day joins the table.
    const nextDay = await runIn(demo, { pipeline: 'daily', date: '2024-01-03' });
    expect(nextDay.code, explain(nextDay)).toBe(0);
    expect(await queryRows(db, 'SELECT order_date::VARCHAR AS d, count(*)::INTEGER AS n FROM fct_orders GROUP BY 1 ORDER BY 1')).toEqual([
      { d: SCAFFOLD_DATE, n: seeded.length },
      { d: '2024-01-03', n: ordersOn('2024-01-03', demo).length },
    ]);
  });

  it('writes into the folder it is run in, and then names no folder to go to', async () => {
    const here = tempDir();
    writeFileSync(join(here, 'README.md'), 'notes\n');
    writeFileSync(join(here, '.gitignore'), 'secrets.env\n');
    const made = await initIn(here, here);
    expect(made.code, explain(made)).toBe(0);
    // The folder's own .gitignore is kept as it was, and not listed as written.
    expect(readFileSync(join(here, '.gitignore'), 'utf8')).toBe('secrets.env\n');
    expect(made.stdout).not.toContain('.gitignore');
    expect(made.stdout).toContain('Created a pipe project in this folder:');
    expect(made.stdout).toContain(`\n  pipe run --date ${SCAFFOLD_DATE}\n`);
    expect(readFileSync(join(here, 'README.md'), 'utf8')).toBe('notes\n');
  });

  it('is what pipe suggests in a folder with no project', async () => {
    const r = await runIn(tempDir(), { date: SCAFFOLD_DATE });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/hint: .*start a project here with pipe init/);
  });

  describe('refuses, with exit status 2, leaving every file as it was', () => {
    const refused = async (files: Record<string, string>, expected: RegExp) => {
      const dir = tempDir();
      writeProjectFiles(dir, files);
      const before = tree(dir);
      const r = await initIn(dir);
      expect(r.code, explain(r)).toBe(2);
      expect(errorLines(r.stderr).join('\n')).toMatch(expected);
      expect(tree(dir)).toEqual(before);
    };

    it('a folder with a pipe project', () => refused({ 'pipe.yaml': 'name: shop\n' }, /already holds a pipe project \(.*\/pipe\.yaml\)/));

    it('a project in a folder whose name needs quoting, whose hint quotes it', async () => {
      const dir = join(tempDir(), 'demo dir');
      writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\n' });
      const r = await initIn(dir);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain(`hint: pipe runs it as it is: cd '${dir}' && pipe run`);
    });

    it("a folder inside a project's models/ (or seeds/, macros/ ...), whose files the project would read as its own; beside them is a project of its own", async () => {
      const outer = tempDir();
      writeProjectFiles(outer, { 'pipe.yaml': 'name: shop\n', 'models/orders.sql': 'select 1 as n\n' });
      const before = tree(outer);
      const r = await initIn(join(outer, 'models', 'sub'));
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain(`is inside the models/ folder of the project at ${outer}`);
      expect(tree(outer)).toEqual(before);
      expect((await initIn(join(outer, 'projects', 'other'))).code).toBe(0);
    });

    it('a folder with models/', () => refused({ 'models/orders.sql': 'select 1 as n\n' }, /already holds a pipe project \(.*\/models\/\)/));

    it('a dbt project', () => refused({ 'dbt_project.yml': "name: shop\nversion: '1.0'\n", 'models/orders.sql': 'select 1 as n\n' }, /already holds a dbt project \(.*\/models\/, .*\/dbt_project\.yml\)/));

    it('files it would write, naming each', () =>
      refused(
        { 'seeds/raw_orders.csv': 'id\n1\n', 'pipelines/daily.yaml': 'select: [x]\n', 'warehouse.duckdb': 'not ours' },
        /writes only files that do not exist, and these do: .*\/seeds\/raw_orders\.csv, .*\/pipelines\/daily\.yaml, .*\/warehouse\.duckdb$/m,
      ));

    it('a file where it needs a folder', () => refused({ seeds: 'a file' }, /these do: .*\/seeds$/m));

    it('an empty folder name (an unset variable)', async () => {
      const r = await initIn('  ');
      expect(r.code, explain(r)).toBe(2);
      expect(errorLines(r.stderr).join('\n')).toContain('pipe init was given an empty folder name');
    });

    it('a file given as the folder', async () => {
      const dir = tempDir();
      writeProjectFiles(dir, { notes: 'text' });
      const r = await initIn(join(dir, 'notes'));
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toMatch(/notes exists and is not a folder/);
      expect(tree(dir)).toEqual({ notes: 'text' });
    });
  });
});
