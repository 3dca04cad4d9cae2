import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderDag, type DagFormat } from '../../src/graph/render-dag.js';
import {
  copyExample,
  eventsOfType,
  explain,
  queryRows,
  removeTempDirs,
  taskIdsOf,
  taskOf,
  tempDir,
  warehouseOf,
  writeProjectFiles,
  type PipeResult,
} from '../e2e/helpers.js';
import { compileIn, historyIn, nodesIn, runIn } from '../support/in-process.js';
import { planRunCommand } from '../../src/commands/run.js';

afterAll(removeTempDirs);

/** Commands that show the project and its runs: compile, dag, ls, history, called in-process. */

/** Every model file of a project, with the names its template passes to ref(). */
function refsInFiles(project: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.sql')) {
        const refs = [...readFileSync(path, 'utf8').matchAll(/ref\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
        out.set(basename(entry.name, '.sql'), [...new Set(refs)]);
      }
    }
  };
  walk(join(project, 'models'));
  return out;
}

/** The example's edges: its ref() calls, plus fct_orders' relationships check on stg_customers. */
function exampleEdges(project: string): string[] {
  const edges = new Set<string>();
  for (const [model, refs] of refsInFiles(project)) for (const r of refs) edges.add(`${r} -> ${model}`);
  edges.add('stg_customers -> fct_orders');
  return [...edges].sort();
}

function exampleNodes(project: string): string[] {
  const seeds = readdirSync(join(project, 'seeds')).filter((f) => f.endsWith('.csv')).map((f) => basename(f, '.csv'));
  return [...seeds, ...refsInFiles(project).keys()].sort();
}

describe('pipe compile', () => {
  it('prints the SQL of a date with its bounds, refs resolved and the ephemeral model inlined; writes nothing', async () => {
    const dir = copyExample();
    const r = await compileIn(dir, { model: 'fct_orders', date: '2024-01-05' });
    expect(r.code, explain(r)).toBe(0);
    const sql = r.stdout;
    expect(sql).toContain("'2024-01-05'");
    expect(sql).toContain("'2024-01-06'");
    expect(sql).not.toMatch(/\{\{|\{%|ref\(|cents_to_amount/);
    expect(sql).toMatch(/\bwith\b/i);
    // The ephemeral model's own text, inlined as a CTE, reading the staging views.
    expect(sql).toContain('o.quantity * p.price_cents as amount_cents');
    expect(sql).toContain('"stg_orders"');
    expect(sql).toContain('"stg_products"');
    const { currency } = (parseYaml(readFileSync(join(dir, 'pipe.yaml'), 'utf8')) as { vars: { currency: string } }).vars;
    expect(sql).toContain(`'${currency}'`);
    expect(existsSync(warehouseOf(dir))).toBe(false);

    // Run as it is, it returns exactly what pipe run publishes for that date.
    const run = await runIn(dir, { date: '2024-01-05' });
    expect(run.code, explain(run)).toBe(0);
    const again = await compileIn(dir, { model: 'fct_orders', date: '2024-01-05' });
    expect(again.code, explain(again)).toBe(0);
    const db = warehouseOf(dir);
    const compiled = await queryRows(db, `SELECT * FROM (${again.stdout.trim().replace(/;$/, '')}) ORDER BY ALL`);
    const published = await queryRows(db, "SELECT * FROM fct_orders WHERE order_date = '2024-01-05' ORDER BY ALL");
    expect(compiled.length).toBeGreaterThan(0);
    expect(compiled).toEqual(published);
  });

  it('--json gives one object per selected model', async () => {
    const dir = copyExample();
    const r = await compileIn(dir, { select: ['tag:daily'], date: '2024-01-05' });
    expect(r.code, explain(r)).toBe(0);
    const compiled = r.models;
    expect(compiled.map((c) => c.model).sort()).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    for (const c of compiled) {
      expect(c.ds).toBe('2024-01-05');
      expect(c.sql).not.toContain('{{');
    }
  });
});

describe('the plan pipe compile shows', () => {
  it('is the plan pipe run would run, less what only running reads: the tasks go without their tracking, and without their statements but where making them renders templates', async () => {
    const dir = copyExample();
    expect((await runIn(dir, { date: '2024-01-04' })).code).toBe(0);
    const planned = async (shownOnly: boolean) => {
      const { prepared, plan } = await planRunCommand({ project: dir, date: '2024-01-05' }, { runId: 'compile', access: 'read', shownOnly });
      prepared.warehouse?.close();
      return plan;
    };
    const run = await planned(false);
    const shown = await planned(true);
    expect(run.tasks.filter((t) => t.tracking !== undefined).length).toBeGreaterThan(0);
    expect(shown.tasks.filter((t) => t.tracking !== undefined)).toEqual([]);
    // A seed's state statements carry the time they were planned at.
    const rest = (tasks: typeof run.tasks) => tasks.map(({ tracking: _, renderAtRun: __, stateStatements: ___, steps: ____, ...t }) => t);
    expect(rest(shown.tasks)).toEqual(rest(run.tasks));
    const runSteps = new Map(run.tasks.map((t) => [t.id, t.steps]));
    // Models with checks keep their steps (their checks render as the steps are made); the others have none.
    const kept = shown.tasks.filter((t) => t.steps.length > 0);
    for (const t of kept) expect(t.steps).toEqual(runSteps.get(t.id));
    const left = shown.tasks.filter((t) => t.steps.length === 0);
    expect(left.map((t) => t.node)).toContain('stg_orders');
    expect(kept.filter((t) => t.kind !== 'seed').map((t) => t.node)).toContain('fct_orders');
    expect(runSteps.get(left.find((t) => t.node === 'stg_orders')!.id)!.length).toBeGreaterThan(0);
    expect(shown.diagnostics).toEqual(run.diagnostics);
  });
});

describe('pipe dag and pipe ls', () => {
  let dir: string;
  beforeAll(() => {
    dir = copyExample();
  });

  const dag = async (format: DagFormat): Promise<string> => {
    const r = await nodesIn(dir);
    expect(r.code, explain(r)).toBe(0);
    return renderDag(r.nodes, format);
  };

  it('--format json: every model and seed, and an edge for every ref()', async () => {
    const g = JSON.parse(await dag('json')) as { nodes: { name: string; upstream: string[] }[]; edges: [string, string][] };
    expect(g.nodes.map((n) => n.name).sort()).toEqual(exampleNodes(dir));
    expect(g.edges.map(([a, b]) => `${a} -> ${b}`).sort()).toEqual(exampleEdges(dir));
    // Nodes come in dependency order.
    const position = new Map(g.nodes.map((n, i) => [n.name, i]));
    for (const [a, b] of g.edges) expect(position.get(a)!).toBeLessThan(position.get(b)!);
  });

  it('--format mermaid, dot and text show the same graph', async () => {
    const expected = exampleEdges(dir);

    const mermaid = await dag('mermaid');
    expect(mermaid.split('\n')[0]).toMatch(/^(graph|flowchart) /);
    const ids = new Map<string, string>();
    for (const m of mermaid.matchAll(/^\s*(\S+)\["(\w+)[^"]*"\]/gm)) ids.set(m[1], m[2]);
    const mermaidEdges = [...mermaid.matchAll(/^\s*(\S+) --> (\S+)\s*$/gm)].map((m) => `${ids.get(m[1])} -> ${ids.get(m[2])}`);
    expect(mermaidEdges.sort()).toEqual(expected);
    expect([...ids.values()].sort()).toEqual(exampleNodes(dir));

    const dot = await dag('dot');
    expect(dot.trim()).toMatch(/^digraph\b[^{]*\{[\s\S]*\}$/);
    const dotEdges = [...dot.matchAll(/"([^"]+)"\s*->\s*"([^"]+)"/g)].map((m) => `${m[1]} -> ${m[2]}`);
    expect(dotEdges.sort()).toEqual(expected);

    const text = await dag('text');
    for (const name of exampleNodes(dir)) expect(text).toContain(name);
    for (const edge of expected) {
      const [from, to] = edge.split(' -> ');
      expect(text, edge).toMatch(new RegExp(`^${to}\\b.*\\n(\\s+.*\\n)*?\\s+← .*\\b${from}\\b`, 'm'));
    }
  });

  it('pipe ls --json: each node with its kind, file and upstream', async () => {
    const r = await nodesIn(dir);
    expect(r.code, explain(r)).toBe(0);
    const nodes = r.nodes;
    expect(nodes.map((n) => n.name).sort()).toEqual(exampleNodes(dir));
    const kinds = Object.fromEntries(nodes.map((n) => [n.name, n.kind]));
    expect(kinds).toEqual({
      raw_customers: 'seed', raw_orders: 'seed', raw_products: 'seed',
      stg_customers: 'view', stg_orders: 'view', stg_products: 'view',
      order_lines: 'ephemeral', fct_orders: 'incremental', daily_revenue: 'incremental', dim_customers: 'table',
    });
    for (const n of nodes) {
      expect(existsSync(join(dir, n.file)), n.file).toBe(true);
      expect(basename(n.file).replace(/\.(sql|csv)$/, '')).toBe(n.name);
    }
    const edges = nodes.flatMap((n) => n.upstream.map((u) => `${u} -> ${n.name}`)).sort();
    expect(edges).toEqual(exampleEdges(dir));
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });

  it("pipe ls --resource-type keeps the nodes of those types, within the selection, as dbt's ls does", async () => {
    const names = async (o: Parameters<typeof nodesIn>[1]) => (await nodesIn(dir, o)).nodes.map((n) => n.name);
    expect(await names({ resourceTypes: ['seed'] })).toEqual(['raw_customers', 'raw_orders', 'raw_products']);
    expect(await names({ resourceTypes: ['model'], select: ['+fct_orders'] })).toEqual(['stg_customers', 'stg_orders', 'stg_products', 'order_lines', 'fct_orders']);
    expect(await names({ resourceTypes: ['source', 'snapshot'] })).toEqual([]);
  });

  it("list what a run reads: a ref() inside is_incremental() once the model's table exists, so ls --select +m lists what run --select +m builds", async () => {
    const own = tempDir();
    writeProjectFiles(own, {
      'pipe.yaml': 'name: inc\n',
      'models/a1.sql': 'select 1 as id\n',
      'models/b1.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect 2 as id\n{% if is_incremental() %} union all select id from {{ ref('a1') }}{% endif %}\n",
    });
    const upstream = async () => (await nodesIn(own, { select: ['+b1'] })).nodes.map((n) => [n.name, n.upstream]);
    // No table yet: a first build reads nothing.
    expect(await upstream()).toEqual([['b1', []]]);
    const built = await runIn(own, { date: '2024-01-02' });
    expect(built.code, built.stdout).toBe(0);
    expect(await upstream()).toEqual([['a1', []], ['b1', ['a1']]]);
    const again = await runIn(own, { date: '2024-01-03', select: ['+b1'], force: true });
    expect(taskIdsOf(again.events, 'task-succeeded').sort()).toEqual(['a1@2024-01-03', 'b1@2024-01-03']);
  });
});

describe('pipe history', () => {
  let dir: string;
  let ok: PipeResult;
  let failed: PipeResult;
  const runIdOf = (r: PipeResult) => eventsOfType(r.events, 'run-started')[0].runId as string;

  beforeAll(async () => {
    dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/broken_counts.sql': `{{ config(materialized='table') }}
select {% if var('break', false) %}'many'::INTEGER{% else %}count(*){% endif %} as n from {{ ref('fct_orders') }}
`,
      'models/marts/after_broken.sql': "select n from {{ ref('broken_counts') }}\n",
    });
    ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
    failed = await runIn(dir, { date: '2024-01-03', vars: { break: true } });
    expect(failed.code, explain(failed)).toBe(1);
  });

  it('lists runs newest first, with status and task counts', async () => {
    const r = await historyIn(dir, { json: true });
    expect(r.code, explain(r)).toBe(0);
    const runs = r.events.filter((e) => e.type === 'run');
    expect(runs.map((x) => x.run_id)).toEqual([runIdOf(failed), runIdOf(ok)]);
    const finished = (x: PipeResult) => eventsOfType(x.events, 'run-finished')[0];
    expect(runs[0]).toMatchObject({ command: 'run', status: 'failed', failed: 1, skipped: finished(failed).skipped });
    expect(runs[1]).toMatchObject({ command: 'run', status: 'succeeded', failed: 0, tasks: eventsOfType(ok.events, 'task-succeeded').length });
    expect((runs[0].params as { ds: string }).ds).toBe('2024-01-03');
    expect((runs[1].params as { ds: string }).ds).toBe('2024-01-02');

    const text = await historyIn(dir);
    expect(text.code, explain(text)).toBe(0);
    expect(text.stdout.split('\n').find((l) => l.startsWith(runIdOf(failed)))).toMatch(/\bfailed\b.*2024-01-03/);
  });

  it('shows the tasks of one run with status, rows and the error', async () => {
    const r = await historyIn(dir, { runId: runIdOf(failed), json: true });
    expect(r.code, explain(r)).toBe(0);
    const tasks = r.events.filter((e) => e.type === 'task');
    const byId = new Map(tasks.map((t) => [t.task_id as string, t]));
    expect(byId.get('broken_counts@2024-01-03')).toMatchObject({ status: 'failed' });
    expect(String(byId.get('broken_counts@2024-01-03')!.error)).toContain('many');
    expect(byId.get('after_broken@2024-01-03')).toMatchObject({ status: 'skipped' });
    for (const e of eventsOfType(failed.events, 'task-succeeded')) {
      const t = byId.get(taskOf(e).id);
      expect(t, taskOf(e).id).toMatchObject({ status: 'succeeded' });
      if (e.rows !== undefined) expect(Number(t!.rows)).toBe(e.rows);
    }
    expect(tasks).toHaveLength(eventsOfType(failed.events, 'run-started')[0].tasks as number);

    const text = await historyIn(dir, { runId: runIdOf(failed) });
    expect(text.code, explain(text)).toBe(0);
    const line = text.stdout.split('\n').find((l) => l.startsWith('fct_orders@2024-01-03'))!;
    const fctRows = eventsOfType(failed.events, 'task-succeeded').find((e) => taskOf(e).id === 'fct_orders@2024-01-03')!.rows;
    expect(line).toMatch(new RegExp(`\\bsucceeded\\s+1\\s+${fctRows}\\b`));
  });

  it('gives rows as JSON numbers, like the event stream does', async () => {
    const r = await historyIn(dir, { runId: runIdOf(ok), json: true });
    const fct = r.events.find((e) => e.type === 'task' && e.task_id === 'fct_orders@2024-01-02')!;
    const event = eventsOfType(ok.events, 'task-succeeded').find((e) => taskOf(e).id === 'fct_orders@2024-01-02')!;
    expect(fct.rows).toBe(event.rows);
  });

  it('an unknown run id is bad input; a project without a warehouse has no runs', async () => {
    const unknown = await historyIn(dir, { runId: '20000101T000000-0000' });
    expect(unknown.code, explain(unknown)).toBe(2);
    expect(unknown.stderr).toContain('20000101T000000-0000');
    const fresh = copyExample();
    const none = await historyIn(fresh, { json: true });
    expect(none.code, explain(none)).toBe(0);
    expect(none.events.filter((e) => e.type === 'run')).toEqual([]);
    expect(existsSync(warehouseOf(fresh))).toBe(false);
    // A DuckDB file nothing has run on: no such run either, not an empty list.
    const empty = copyExample();
    const instance = await DuckDBInstance.create(warehouseOf(empty));
    instance.closeSync();
    const nope = await historyIn(empty, { runId: 'nope' });
    expect(nope.code, explain(nope)).toBe(2);
    expect(nope.stderr).toContain(`no run 'nope': nothing has run on ${warehouseOf(empty)} yet`);
  });
});

describe('what pipe does not use, told by the commands that only show the project', () => {
  it('pipe ls, pipe dag and pipe compile print the notice and the warnings, as pipe run does', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\n',
      'models/orders.sql': 'select 1 as id',
      'models/docs.md': '{% docs orders %}One row per order.{% enddocs %}',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: order\n',
    });
    for (const r of [await nodesIn(dir), await compileIn(dir, { model: 'orders', date: '2024-01-02' })]) {
      expect(r.code, explain(r)).toBe(0);
      // Its docs blocks are what doc() in descriptions gives (see doc-blocks.test.ts): used, so not told.
      expect(r.stderr).not.toContain('documentation (models/docs.md)');
      expect(r.stderr).toContain("models/schema.yml:3: warning: properties for model 'order', which the project does not have");
      expect(r.stdout).not.toContain('warning');
    }
  });
});
