import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, eventsOfType, explain, parseJsonLines, pipe, removeTempDirs, tempDir, writeProjectFiles } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';
import { runIn } from '../support/in-process.js';
import { displayWidth, loadDisplayWidth } from '../../src/logging/width.js';

afterAll(removeTempDirs);

/**
 * Each read-only command's command line reaches its function and prints its forms, exit 0. What
 * the commands answer is tested as library calls (test/commands); this is their wiring in the
 * CLI, parsed and dispatched by it in this process. The binary itself is spawned where the
 * environment it starts in is what is tested.
 */

describe('the commands of the command line', () => {
  it('ls, dag, compile, backfill --dry-run, test, history and show take their options and print their forms', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, { 'pipelines/marts.yaml': 'select: [tag:daily]\n' });

    const ls = await cliIn(['ls', '--json', '--select', '+daily_revenue', '--exclude', 'tag:staging', '--project', dir]);
    expect(ls.code, explain(ls)).toBe(0);
    expect(ls.events.map((e) => e.name).sort()).toEqual(['daily_revenue', 'fct_orders', 'order_lines', 'raw_customers', 'raw_orders', 'raw_products']);
    expect(ls.events.every((e) => e.type === 'node')).toBe(true);
    // dbt's ls forms: --resource-type, and --output name or path, one a line.
    const names = await cliIn(['ls', '--resource-type', 'seed', '--output', 'name', '--project', dir]);
    expect(names.stdout).toBe('raw_customers\nraw_orders\nraw_products\n');
    const paths = await cliIn(['ls', '--select', 'daily_revenue', '--output', 'path', '--project', dir]);
    expect(paths.stdout).toBe('models/marts/daily_revenue.sql\n');
    // --output json prints what dbt ls --output json prints of each node: dbt's keys, its unique ids.
    const records = await cliIn(['ls', '--select', 'daily_revenue', 'raw_orders', '--output', 'json', '--project', dir]);
    const parsed = records.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((r) => Object.keys(r))).toEqual([
      ['name', 'resource_type', 'package_name', 'original_file_path', 'unique_id', 'alias', 'config', 'tags', 'depends_on'],
      ['name', 'resource_type', 'package_name', 'original_file_path', 'unique_id', 'alias', 'config', 'tags', 'depends_on'],
    ]);
    expect(parsed.map((r) => [r.unique_id, r.resource_type, r.original_file_path])).toEqual([
      ['seed.shop.raw_orders', 'seed', 'seeds/raw_orders.csv'],
      ['model.shop.daily_revenue', 'model', 'models/marts/daily_revenue.sql'],
    ]);
    expect((parsed[1].depends_on as { nodes: string[] }).nodes).toEqual(['model.shop.fct_orders']);

    const dag = await cliIn(['dag', '--format', 'json', '--pipeline', 'marts', '--project', dir]);
    expect(dag.code, explain(dag)).toBe(0);
    expect((JSON.parse(dag.stdout) as { nodes: { name: string }[] }).nodes.map((n) => n.name).sort()).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    const mermaid = await cliIn(['dag', '--format', 'mermaid', '--project', dir]);
    expect(mermaid.stdout.split('\n')[0]).toMatch(/^(graph|flowchart) /);

    const inline = await cliIn(['compile', '--inline', "select * from {{ ref('fct_orders') }}", '--project', dir]);
    expect(inline.stdout).toBe('select * from "main"."fct_orders"\n');
    const compiled = await cliIn(['compile', '--select', 'tag:daily', '--date', '2024-01-05', '--json', '--project', dir]);
    expect(compiled.code, explain(compiled)).toBe(0);
    expect(eventsOfType(compiled.events, 'compiled').map((c) => c.model).sort()).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);

    const plan = await cliIn(['backfill', '--start', '2024-01-01', '--end', '2024-01-03', '--dry-run', '--project', dir]);
    expect(plan.code, explain(plan)).toBe(0);
    expect(plan.stdout).toMatch(/dim_customers\s+table\s+once, with ds 2024-01-03/);

    const built = await runIn(dir, { date: '2024-01-02' });
    expect(built.code, explain(built)).toBe(0);
    const runId = eventsOfType(built.events, 'run-started')[0].runId as string;

    const checked = await cliIn(['test', '--date', '2024-01-02', '--json', '--project', dir]);
    expect(checked.code, explain(checked)).toBe(0);
    expect(eventsOfType(checked.events, 'task-succeeded').length).toBeGreaterThan(0);

    const runs = await cliIn(['history', '--json', '--project', dir]);
    expect(runs.code, explain(runs)).toBe(0);
    expect(parseJsonLines(runs.stdout).filter((e) => e.type === 'run').map((r) => r.run_id)).toContain(runId);
    const tasks = await cliIn(['history', runId, '--project', dir]);
    expect(tasks.code, explain(tasks)).toBe(0);
    expect(tasks.stdout.split('\n').find((l) => l.startsWith('fct_orders@2024-01-02'))).toMatch(/\bsucceeded\b/);

    const shown = await cliIn(['show', 'fct_orders', '--date', '2024-01-02', '--where', "status = 'shipped'", '--limit', '2', '--json', '--project', dir]);
    expect(shown.code, explain(shown)).toBe(0);
    expect((JSON.parse(shown.stdout) as { status: string }[]).map((r) => r.status)).toEqual(['shipped', 'shipped']);
    const badLimit = await cliIn(['show', 'fct_orders', '--limit', '0', '--project', dir]);
    expect(badLimit.code).toBe(2);
    // An inline query may start with a -- comment (the depends_on one errors suggest), after --inline or after the model's place.
    const commented = "-- depends_on: {{ ref('fct_orders') }}\nselect count(*)::INTEGER as n from {{ ref('fct_orders') }}";
    for (const args of [['--inline', commented], [`--inline=${commented}`], ['--inline', '--', commented]]) {
      const r = await cliIn(['show', '--json', '--project', dir, ...args]);
      expect(r.code, explain(r)).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([{ n: 6 }]);
    }
    const both = await cliIn(['show', 'fct_orders', '--inline', 'select 1', '--project', dir]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('names two things to show: give one')]);
    const selected = await cliIn(['show', '--inline', commented, '-s', 'fct_orders', '--project', dir]);
    expect([selected.code, selected.stderr]).toEqual([2, expect.stringContaining(`error: pipe show --inline ${JSON.stringify(commented)} --select fct_orders names two things to show: give one`)]);
  });

  it('compile prints the SQL byte for byte, one model or several: a CRLF file keeps its carriage returns, which it runs with', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: crlf\n', 'models/m.sql': 'select 1 as a\r\n, 2 as b\r\n', 'models/n.sql': 'select 3 as c' });
    const one = await cliIn(['compile', 'm', '--date', '2024-01-02', '--project', dir]);
    expect(one.stdout).toContain('select 1 as a\r\n, 2 as b');
    const all = await cliIn(['compile', '--date', '2024-01-02', '--project', dir]);
    expect(all.code, explain(all)).toBe(0);
    expect(all.stdout).toContain('-- m (table) · models/m.sql · ds 2024-01-02\nselect 1 as a\r\n, 2 as b');
    expect(all.stdout).not.toContain('\\x0d');
    // A query ending in a -- comment: its ; on a line of its own, so that the script printed runs.
    writeProjectFiles(dir, { 'models/n.sql': 'select 3 as c\n-- where c is not null' });
    const commented = await cliIn(['compile', '--date', '2024-01-02', '--project', dir]);
    expect(commented.stdout).toContain('-- n (table) · models/n.sql · ds 2024-01-02\nselect 3 as c\n-- where c is not null\n;\n');
  });

  it("a dbt command pipe has not is answered with what pipe does instead, exit 2; an unknown one as unknown", async () => {
    const build = await cliIn(['build', '--select', 'orders']);
    expect(build.code).toBe(2);
    expect(build.stderr).toBe('error: pipe has no build command: pipe run does what dbt build does: seeds, snapshots and models in dependency order, each model published only once its tests pass (pipe run --select … as with dbt)\n');
    for (const [command, says] of [['seed', 'resource_type:seed'], ['snapshot', 'resource_type:snapshot'], ['deps', 'dbt_packages/'], ['parse', 'pipe compile'], ['list', 'pipe ls'], ['clean', '.pipe/']]) {
      const r = await cliIn([command]);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^error: pipe has no ${command} command: .*${says.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    }
    const unknown = await cliIn(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown command 'frobnicate'");
  });

  it('a table of wide names is aligned by the columns a terminal gives them, in a process that had not loaded the width libraries', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: wide\n',
      'models/주문.sql': 'select 1 as x\n',
      'models/orders_daily.sql': "select * from {{ ref('주문') }}\n",
      'models/café_totals.sql': "select * from {{ ref('orders_daily') }}\n",
    });
    // Spawned: the libraries are loaded by a process on the first text that needs them, and its table made again.
    const ls = pipe(['ls', '--project', dir]);
    expect(ls.code, explain(ls)).toBe(0);
    await loadDisplayWidth();
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['NAME', '주문', 'orders_daily', 'café_totals']);
    // KIND starts at one column in every line: 주문 takes four.
    const kindAt = lines.map((l) => displayWidth(l.slice(0, l.search(/ (KIND|table)/) + 1)));
    expect(new Set(kindAt).size, ls.stdout).toBe(1);
  });

  it("--profiles-dir and --target reach a dbt project's profile", () => {
    const dir = tempDir();
    const profiles = tempDir();
    writeProjectFiles(dir, { 'dbt_project.yml': 'name: shop\nprofile: shop\n', 'models/one.sql': 'select 1 as n\n' });
    writeProjectFiles(profiles, {
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n    local:\n      type: duckdb\n      path: local.duckdb\n',
    });
    // A home of its own: a ~/.dbt of the machine must not answer instead.
    const env = { HOME: tempDir(), DBT_PROFILES_DIR: '', DBT_TARGET: '' };
    const chosen = pipe(['ls', '--json', '--project', dir, '--profiles-dir', profiles, '--target', 'local'], { env });
    expect(chosen.code, explain(chosen)).toBe(0);
    const byDefault = pipe(['ls', '--project', dir, '--profiles-dir', profiles], { env });
    expect(byDefault.code, explain(byDefault)).toBe(2);
    expect(byDefault.stderr).toContain("profiles.yml:5: error: target 'dev' is of type 'postgres'");
  });
});
