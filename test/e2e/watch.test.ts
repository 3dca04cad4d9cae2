import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyExample, Live, ModelGate, queryRows, removeTempDirs, tempDir, writeProjectFiles } from './helpers.js';
import { WatchIn } from '../support/watch-in-process.js';
import { cliIn } from '../support/cli-in-process.js';
import { historyIn, runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * `pipe watch` on the example. What only a process shows is the binary's: that another process
 * reads the warehouse between builds (within one process DuckDB's file lock keeps no one out),
 * and how it ends on Ctrl-C. What it rebuilds on each save is followed in the test's own process.
 */

const watchers: WatchIn[] = [];
const live: Live[] = [];
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.stop();
  for (const l of live.splice(0)) {
    l.child.kill('SIGKILL');
    await l.exited;
  }
});

function watch(dir: string): WatchIn {
  const w = new WatchIn(dir, '2024-01-02');
  watchers.push(w);
  return w;
}

function watchProcess(dir: string): Live {
  const l = new Live(['watch', '--date', '2024-01-02', '--json', '--project', dir]);
  live.push(l);
  return l;
}

const ofType = (type: string) => (e: Record<string, unknown>) => e.type === type;
const taskOf = (e: Record<string, unknown>) => (e.task as { id: string }).id;

describe('pipe watch', () => {
  it('builds, then rebuilds a saved model and its downstream only, and reads between builds work; exits cleanly on SIGINT', async () => {
    const dir = copyExample();
    const w = watchProcess(dir);
    const first = await w.idle();
    expect(first.passed.filter(ofType('task-succeeded')).length).toBe(9);
    expect(first.event.keeps).toBeUndefined();
    const db = join(dir, 'warehouse.duckdb');
    // The warehouse is closed while idle: another process can read it.
    expect(await queryRows(db, 'SELECT count(*) AS n FROM dim_customers')).toEqual([{ n: '20' }]);

    const file = join(dir, 'models/marts/dim_customers.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('c.country,', "upper(c.country) || '!' as country,"));
    const change = await w.next(ofType('watch-change'));
    expect(change.event).toMatchObject({ files: ['models/marts/dim_customers.sql'], rebuild: ['dim_customers'] });
    const cycle = await w.idle();
    expect(cycle.passed.filter(ofType('task-succeeded')).map(taskOf)).toEqual(['dim_customers@2024-01-02']);
    const countries = await queryRows(db, 'SELECT DISTINCT country FROM dim_customers ORDER BY 1');
    expect(countries.every((r) => String(r.country).endsWith('!'))).toBe(true);

    // An upstream view: it and everything downstream are rebuilt.
    const stg = join(dir, 'models/staging/stg_orders.sql');
    writeFileSync(stg, `${readFileSync(stg, 'utf8')}\n-- touched\n`);
    const up = await w.next(ofType('watch-change'));
    expect([...(up.event.rebuild as string[])].sort()).toEqual(['daily_revenue', 'dim_customers', 'fct_orders', 'order_lines', 'stg_orders']);
    await w.idle();

    // The warehouse deleted between builds: the next save builds what the selection needs again.
    rmSync(db);
    writeFileSync(file, `${readFileSync(file, 'utf8')}
-- again
`);
    const anew = await w.next(ofType('watch-change'));
    expect(anew.event.rebuild).toEqual(expect.arrayContaining(['raw_customers', 'stg_customers', 'dim_customers', 'fct_orders', 'daily_revenue']));
    expect((await w.idle()).passed.filter(ofType('task-failed'))).toEqual([]);
    expect(await queryRows(db, 'SELECT count(*) AS n FROM dim_customers')).toEqual([{ n: '20' }]);

    // Ctrl-C while idle: the watching process ends with status 0.
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('reports template and SQL errors with file and line, keeps watching, and rebuilds on the fix', async () => {
    const dir = copyExample();
    const w = watch(dir);
    await w.idle();
    const file = join(dir, 'models/marts/dim_customers.sql');
    const good = readFileSync(file, 'utf8');

    writeFileSync(file, good.replace('c.country,', 'c.country, {{ oops( }}'));
    const blocked = await w.next(ofType('watch-change'));
    expect(blocked.event).toMatchObject({ files: ['models/marts/dim_customers.sql'], rebuild: [], blocked: true });
    const diag = await w.next(ofType('diagnostic'));
    const d = diag.event.diagnostic as { code: string; location: { file: string; line: number } };
    expect(d.code).toBe('template-syntax');
    expect(d.location.file).toBe('models/marts/dim_customers.sql');
    expect(d.location.line).toBe(good.split('\n').findIndex((l) => l.includes('c.country,')) + 1);
    await w.idle();

    writeFileSync(file, good.replace('c.country,', "c.country, 'abc'::INTEGER as bad,"));
    const failed = await w.next(ofType('task-failed'));
    const error = failed.event.error as { kind: string; location: { file: string; line: number } };
    expect(error.kind).toBe('Conversion');
    expect(error.location).toEqual({ file: 'models/marts/dim_customers.sql', line: good.split('\n').findIndex((l) => l.includes('c.country,')) + 1 });
    await w.idle();

    writeFileSync(file, good);
    const fixed = await w.next((e) => e.type === 'task-succeeded' && taskOf(e) === 'dim_customers@2024-01-02');
    expect(fixed.event.rows).toBe(20);
    await w.idle();

    // Found while planning, once the change was said with what it rebuilds: said not rebuilt, not changed again.
    const checks = join(dir, 'models/marts/dim_customers.yaml');
    const goodChecks = readFileSync(checks, 'utf8');
    writeFileSync(checks, goodChecks.replace('unique: [customer_id]', 'unique: [customer_idd]'));
    const said = await w.next(ofType('watch-change'));
    expect(said.event).toMatchObject({ files: ['models/marts/dim_customers.yaml'], rebuild: ['dim_customers'] });
    const refused = await w.next(ofType('diagnostic'));
    expect(refused.passed.filter(ofType('watch-change'))).toEqual([]);
    expect(refused.passed.filter(ofType('notice')).map((e) => e.message)).toEqual(['not rebuilt: dim_customers (the project has errors)']);
    expect((refused.event.diagnostic as { location: unknown }).location).toEqual({ file: 'models/marts/dim_customers.yaml', line: 2 });
    const after = await w.idle();
    expect(after.passed.filter((e) => e.type === 'task-started' || e.type === 'watch-change')).toEqual([]);
    writeFileSync(checks, goodChecks);
    await w.idle();
  });

  it('adds a new model, drops a deleted one from the graph (not its table), reloads a changed seed', async () => {
    const dir = copyExample();
    const w = watch(dir);
    await w.idle();
    writeProjectFiles(dir, { 'models/marts/order_count.sql': "select count(*) as n from {{ ref('fct_orders') }}" });
    const added = await w.next((e) => e.type === 'task-succeeded' && taskOf(e) === 'order_count@2024-01-02');
    expect(added.event.rows).toBe(1);
    await w.idle();

    rmSync(join(dir, 'models/marts/order_count.sql'));
    const gone = await w.next((e) => e.type === 'notice' && String(e.message).includes('order_count left the project'));
    expect(String(gone.event.message)).toContain('not dropped');
    await w.idle();
    expect(await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT n FROM order_count')).toHaveLength(1);

    const seed = join(dir, 'seeds/raw_customers.csv');
    writeFileSync(seed, `${readFileSync(seed, 'utf8')}21,Zoe,Nieuw,NL,2023-12-01\n`);
    const change = await w.next(ofType('watch-change'));
    expect(change.event.rebuild).toEqual(expect.arrayContaining(['raw_customers', 'stg_customers', 'dim_customers']));
    await w.idle();
    expect(await queryRows(join(dir, 'warehouse.duckdb'), "SELECT customer_name FROM dim_customers WHERE customer_id = 21")).toEqual([
      { customer_name: 'Zoe Nieuw' },
    ]);
  });

  it("rebuilds what an installed package's change changes: dbt_packages/ (edited, or replaced whole as dbt deps does) and a local: package outside the project", async () => {
    const dir = tempDir();
    const local = tempDir();
    writeProjectFiles(local, {
      'dbt_project.yml': "name: localpkg\nversion: '1.0'\n",
      'macros/lk.sql': "{% macro lk() %}'lp1'{% endmacro %}\n",
    });
    const mypkg = (macro: string) => ({
      'dbt_packages/mypkg/dbt_project.yml': "name: mypkg\nversion: '1.0'\n",
      'dbt_packages/mypkg/macros/pk.sql': `{% macro pk() %}'${macro}'{% endmacro %}\n`,
      'dbt_packages/mypkg/seeds/pkg_codes.csv': 'code\na\n',
    });
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: wpkg\nprofile: wpkg\nmodels:\n  wpkg:\n    +materialized: table\n',
      'profiles.yml': 'wpkg:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
      'packages.yml': `packages:\n  - package: acme/mypkg\n    version: 1.0.0\n  - local: ${relative(dir, local)}\n`,
      ...mypkg('dp1'),
      'models/m.sql': 'select {{ mypkg.pk() }} as v, {{ localpkg.lk() }} as w\n',
      'models/other.sql': 'select 1 as n\n',
      'models/codes.sql': "select count(*) as n from {{ ref('pkg_codes') }}\n",
    });
    const db = join(dir, 'warehouse.duckdb');
    const w = watch(dir);
    await w.idle();
    expect(await queryRows(db, 'SELECT v, w FROM m')).toEqual([{ v: 'dp1', w: 'lp1' }]);

    // An installed package's macro edited: the model that calls it is rebuilt with it, and nothing else.
    writeProjectFiles(dir, { 'dbt_packages/mypkg/macros/pk.sql': "{% macro pk() %}'dp2'{% endmacro %}\n" });
    const edited = await w.next(ofType('watch-change'));
    expect(edited.event).toMatchObject({ files: ['dbt_packages/mypkg/macros/pk.sql'], rebuild: ['m'] });
    await w.idle();
    expect(await queryRows(db, 'SELECT v FROM m')).toEqual([{ v: 'dp2' }]);

    // A local: package's macro, outside the project.
    writeProjectFiles(local, { 'macros/lk.sql': "{% macro lk() %}'lp2'{% endmacro %}\n" });
    expect((await w.next(ofType('watch-change'))).event.rebuild).toEqual(['m']);
    await w.idle();
    expect(await queryRows(db, 'SELECT w FROM m')).toEqual([{ w: 'lp2' }]);

    // A package's seed: reloaded, and what reads it rebuilt.
    writeProjectFiles(dir, { 'dbt_packages/mypkg/seeds/pkg_codes.csv': 'code\na\nb\n' });
    expect([...((await w.next(ofType('watch-change'))).event.rebuild as string[])].sort()).toEqual(['codes', 'pkg_codes']);
    await w.idle();
    expect(await queryRows(db, 'SELECT n FROM codes')).toEqual([{ n: '2' }]);

    // The package replaced whole, as dbt deps upgrading it does.
    rmSync(join(dir, 'dbt_packages/mypkg'), { recursive: true });
    writeProjectFiles(dir, mypkg('dp3'));
    for (;;) {
      await w.idle();
      if ((await queryRows(db, 'SELECT v FROM m'))[0]?.v === 'dp3') break;
    }
    expect(await queryRows(db, 'SELECT v, w FROM m')).toEqual([{ v: 'dp3', w: 'lp2' }]);

    // A local: package declared while watching: watched from the build that reads it on.
    const later = tempDir();
    writeProjectFiles(later, { 'dbt_project.yml': "name: laterpkg\nversion: '1.0'\n", 'macros/nk.sql': "{% macro nk() %}'n1'{% endmacro %}\n" });
    writeProjectFiles(dir, {
      'packages.yml': `packages:\n  - package: acme/mypkg\n    version: 1.0.0\n  - local: ${relative(dir, local)}\n  - local: ${relative(dir, later)}\n`,
      'models/n.sql': 'select {{ laterpkg.nk() }} as k\n',
    });
    await w.next((e) => e.type === 'task-succeeded' && taskOf(e) === 'n@2024-01-02');
    await w.idle();
    writeProjectFiles(later, { 'macros/nk.sql': "{% macro nk() %}'n2'{% endmacro %}\n" });
    expect((await w.next(ofType('watch-change'))).event.rebuild).toEqual(['n']);
    await w.idle();
    expect(await queryRows(db, 'SELECT k FROM n')).toEqual([{ k: 'n2' }]);
  });

  it('a save made the moment watch says it started is built: no save is lost while the watchers get ready', async () => {
    const dir = copyExample();
    const path = 'models/marts/answer.sql';
    writeProjectFiles(dir, { [path]: 'select 1 as answer' });
    const w = watch(dir);
    await w.next((e) => e.type === 'watch-started');
    writeProjectFiles(dir, { [path]: 'select 2 as answer' });
    for (;;) {
      await w.idle();
      const rows = await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT answer FROM answer').catch(() => []);
      if (rows[0]?.answer === 2) break;
    }
  });

  it('two saves in quick succession, and one during the build: the final content is built', async () => {
    const dir = copyExample();
    const gate = new ModelGate(dir);
    const w = watch(dir);
    await w.idle();
    const path = 'models/marts/answer.sql';
    writeProjectFiles(dir, { [path]: 'select 1 as answer' });
    // The second version holds its build reading the gate, so the next save lands during it.
    writeProjectFiles(dir, { [path]: `select 42 as answer where ${gate.sql} >= 0` });
    await w.next((e) => e.type === 'task-started' && taskOf(e) === 'answer@2024-01-02');
    writeProjectFiles(dir, { [path]: 'select 43 as answer' });
    gate.open();
    for (;;) {
      await w.idle();
      const rows = await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT answer FROM answer').catch(() => []);
      if (rows[0]?.answer === 43) break;
    }
    expect(await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT answer FROM answer')).toEqual([{ answer: 43 }]);
  });

  it('--keep-open keeps the warehouse between builds and lends it to a pipe command that asks', async () => {
    const dir = copyExample();
    const db = join(dir, 'warehouse.duckdb');
    const w = new Live(['watch', '--keep-open', '--date', '2024-01-02', '--json', '--project', dir]);
    live.push(w);
    // Idle, it says it keeps the file (not that the file is free to read).
    expect((await w.idle()).event).toMatchObject({ type: 'watch-waiting', keeps: true });
    // Held between builds: a program other than pipe cannot open it, and the note says watch lends it.
    await expect(queryRows(db, 'SELECT 1')).rejects.toThrow(/lock/i);
    const note = JSON.parse(readFileSync(`${db}.pipe-holder.json`, 'utf8')) as { what: string; lends?: boolean; pid: number };
    expect(note).toMatchObject({ pid: w.child.pid, lends: true });
    expect(note.what).toContain('pipe watch, between builds');

    // A pipe command asks for it, even one that would not wait for a busy warehouse.
    const shown = await cliIn(['show', 'dim_customers', '--limit', '1', '--json', '--project', dir]);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    await w.next((e) => e.type === 'notice' && String(e.message).includes('asked for the warehouse'));
    const ran = await cliIn(['run', '--date', '2024-01-02', '--select', 'dim_customers', '--wait', '0', '--json', '--project', dir]);
    expect(ran.code).toBe(0);
    expect(await queryRows(db, 'SELECT count(*) AS n FROM dim_customers')).toEqual([{ n: '20' }]);

    // The next save opens it again and rebuilds, then keeps it.
    const file = join(dir, 'models/marts/dim_customers.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('c.country,', "upper(c.country) || '!' as country,"));
    const cycle = await w.idle();
    expect(cycle.passed.filter(ofType('task-succeeded')).map(taskOf)).toEqual(['dim_customers@2024-01-02']);
    await expect(queryRows(db, 'SELECT 1')).rejects.toThrow(/lock/i);
    const countries = await cliIn(['show', 'dim_customers', '--json', '--project', dir]);
    expect(countries.code).toBe(0);
    const rows = JSON.parse(countries.stdout) as { rows: Record<string, unknown>[] } | Record<string, unknown>[];
    const list = Array.isArray(rows) ? rows : rows.rows;
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((r) => String(r.country).endsWith('!'))).toBe(true);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    // Watching ended: the file is let go of.
    expect(await queryRows(db, 'SELECT count(*) AS n FROM dim_customers')).toEqual([{ n: '20' }]);
  });

  it('--keep-open: a command asking while a build runs is told it waits for that build, and watch says it lets go at its end', async () => {
    const dir = copyExample();
    const gate = new ModelGate(dir);
    const w = new Live(['watch', '--keep-open', '--date', '2024-01-02', '--json', '--project', dir]);
    live.push(w);
    await w.idle();
    // A save of a model that waits at the gate: the build holds the file until the gate opens.
    writeProjectFiles(dir, { 'models/marts/gated.sql': `select ${gate.sql} as n` });
    const letGo = await gate.reached();
    // pipe history does not ask for it: it reads the run logs, as while any process holds the file.
    const logged = await historyIn(dir);
    expect(logged.code).toBe(0);
    expect(logged.stdout).toMatch(/^\d{8}T\d{6}-[0-9a-f]{4} +watch +running /m);
    const told: string[] = [];
    const ran = runIn(dir, { date: '2024-01-02', select: ['dim_customers'], waitMs: 0, onEvent: (e) => e.type === 'notice' && told.push(e.message) });
    await expect.poll(() => told.length).toBe(1);
    expect(told[0]).toMatch(/in use by another process \(pipe watch \(run \d{8}T\d{6}-[0-9a-f]{4}\), PID \d+, since [^)]+\), which lends it: asked for it, waiting up to 1 minute for it to let go \(at the end of its build in progress\)$/);
    await w.next((e) => e.type === 'notice' && e.message === 'another pipe command asked for the warehouse: watch lets go of it when this build ends, and opens it again at the next save');
    letGo();
    const r = await ran;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Lent, it is not kept: the file is free to read until the next save.
    expect((await w.next(ofType('watch-waiting'))).event.keeps).toBeUndefined();
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('--keep-open hears a request after answering one that was there as it kept the file', async () => {
    const dir = copyExample();
    const db = join(dir, 'warehouse.duckdb');
    // A request made while watch built (here: before it started) is answered as the build ends.
    writeFileSync(`${db}.pipe-wanted`, JSON.stringify({ pid: 1, at: new Date().toISOString() }));
    const w = new Live(['watch', '--keep-open', '--date', '2024-01-02', '--json', '--project', dir]);
    live.push(w);
    await w.next((e) => e.type === 'notice' && String(e.message).includes('asked for the warehouse'));
    const file = join(dir, 'models/marts/dim_customers.sql');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n-- again\n`);
    expect((await w.next((e) => e.type === 'watch-waiting' && e.keeps === true)).event.keeps).toBe(true);
    // Kept again: the next command's request is heard, and it gets the file.
    const shown = await cliIn(['show', 'dim_customers', '--limit', '1', '--json', '--project', dir]);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(existsSync(`${db}.pipe-wanted`)).toBe(false);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });
});
