import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import type { PipeEvent } from '../../src/events/events.js';
import { execute } from '../../src/execute/executor.js';
import { planRun } from '../../src/plan/plan.js';
import { locateSqlError, type SqlErrorPlace } from '../../src/plan/sql-error-location.js';
import type { Task } from '../../src/plan/task.js';
import { loadProject } from '../../src/project/load-project.js';
import { Engine, type EngineHandle } from '../../src/execute/engine.js';
import { ensureState } from '../../src/warehouse/run-state.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

const dirs: string[] = [];
let warehouse: EngineHandle;
let session: WarehouseSession;
const interval = dayInterval(parseDate('2024-01-02')!);

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-sql-error-'));
  dirs.push(dir);
  warehouse = await Engine.open(join(dir, 'w.duckdb'));
  session = await warehouse.session();
  await ensureState(session);
});

afterAll(() => {
  session?.close();
  warehouse?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Plans every model of a small project for 2024-01-02 and returns its tasks by model. */
function tasks(files: Record<string, string>): Map<string, Task> {
  const root = mkdtempSync(join(tmpdir(), 'pipe-sql-error-project-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const analysis = analyze(loadProject(root), { interval });
  expect(analysis.diagnostics).toEqual([]);
  const plan = planRun(
    { analysis, selected: new Set(analysis.graph.nodes), catalog: new Map(), seedHashes: new Map(), fullRefresh: false, runId: 'r' },
    interval,
  );
  expect(plan.diagnostics).toEqual([]);
  return new Map(plan.tasks.map((t) => [t.node, t]));
}

/** The statement that runs the model's query: a staging statement, or the one a publishing transaction writes the table with. */
function queryStatement(task: Task): string {
  for (const s of task.steps) {
    if (s.kind === 'statement') return s.sql;
    if (s.kind === 'publish' && s.countsRowsAt !== undefined) return s.statements[s.countsRowsAt];
  }
  throw new Error(`no statement of ${task.node} runs its query`);
}

/** Runs the task's query statement on DuckDB and maps the real error back to the file. */
async function locate(task: Task): Promise<{ message: string; place: SqlErrorPlace | undefined }> {
  const sql = queryStatement(task);
  try {
    await session.exec(sql);
  } catch (e) {
    const message = (e as Error).message;
    return { message, place: locateSqlError(session.dialect.errorLine(message)?.line, sql, task.origin!) };
  }
  throw new Error(`expected ${task.node} to fail`);
}

const source = (s: string) => ({ 'models/m.sql': s });

describe('locateSqlError with real DuckDB errors', () => {
  it('maps the statement line to the same line of a plain model', async () => {
    const t = tasks(source("select\n  id,\n  nosuch + 1 as broken\nfrom (select 1 as id) s"));
    const { message, place } = await locate(t.get('m')!);
    // DuckDB counts the CREATE TABLE line of the staging statement.
    expect(message).toMatch(/LINE 4:/);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 3 });
  });

  it('keeps lines when config() and template expressions render on their own lines', async () => {
    const t = tasks(source("{{ config(materialized='table') }}\n-- for {{ ds }}\nselect '{{ ds }}' as d,\n  nosuch as broken\nfrom (select 1 as id) s"));
    expect((await locate(t.get('m')!)).place?.location).toEqual({ file: 'models/m.sql', line: 4 });
  });

  it('takes the line written as it rendered over lines whose expressions might have rendered it, below a loop', async () => {
    const t = tasks({
      'models/n.sql': 'select 1 as x',
      'models/m.sql': "with a as (\n    select 1 as id\n    from {{ ref('n') }}\n), b as (\n    select 2 as id\n    from {{ ref('n') }}\n)\n{% for i in range(3) %}\n-- loop {{ i }}\n{% endfor %}\nselect *\nfrom bX",
    });
    expect((await locate(t.get('m')!)).place?.location).toEqual({ file: 'models/m.sql', line: 12 });
  });

  it('finds the line below a macro that expands to several lines', async () => {
    const t = tasks({
      'macros/cols.sql': '{% macro cols() %}\n  id,\n  id * 2 as twice,\n  id * 3 as thrice\n{% endmacro %}',
      'models/m.sql': 'select\n  {{ cols() }},\n  nosuch as broken\nfrom (select 1 as id) s',
    });
    const { place } = await locate(t.get('m')!);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 3 });
  });

  it('finds a line with template expressions below a multi-line macro', async () => {
    const t = tasks({
      'macros/cols.sql': '{% macro cols() %}\n  id,\n  id * 2 as twice,\n  id * 3 as thrice\n{% endmacro %}',
      'models/m.sql': "select\n  {{ cols() }},\n  '{{ ds }}' as d,\n  nosuch_{{ ds_nodash }} as broken\nfrom (select 1 as id) s",
    });
    const { place } = await locate(t.get('m')!);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 4 });
  });

  it('maps a line below inlined ephemeral models back to the file', async () => {
    const t = tasks({
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id,\n  2 as amount",
      'models/m.sql': "select\n  id,\n  nosuch as broken\nfrom {{ ref('eph') }}",
    });
    const task = t.get('m')!;
    expect(task.origin!.inserted).toBeDefined();
    expect((await locate(task)).place?.location).toEqual({ file: 'models/m.sql', line: 3 });
  });

  it("maps an error inside an inlined ephemeral model to that model's file and line, one inlined through another too", async () => {
    const t = tasks({
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id,\n  nosuch as broken",
      'models/m.sql': "select\n  id\nfrom {{ ref('eph') }}",
    });
    expect((await locate(t.get('m')!)).place?.location).toEqual({ file: 'models/eph.sql', line: 3 });
    const nested = tasks({
      'models/base.sql': "{{ config(materialized='ephemeral') }}\n-- the base rows\nselect 1 as id,\n  {{ ds_nodash }} as day,\n  nosuch_{{ ds_nodash }} as broken",
      'models/mid.sql': "{{ config(materialized='ephemeral') }}\nselect id\nfrom {{ ref('base') }}",
      'models/m.sql': "with x as (select 1 as y)\nselect\n  id\nfrom {{ ref('mid') }}, x",
    });
    expect((await locate(nested.get('m')!)).place?.location).toEqual({ file: 'models/base.sql', line: 5 });
  });

  it('finds the line that calls a multi-line macro for an error in its output, or in the text after it', async () => {
    const model = "select\n  id,\n  {{ amount('v') }} as amount\nfrom (select 1 as id, 2 as v) s";
    for (const body of ['round({{ col }}\n    / 100.0, 2) +', 'round({{ col }}\n    / / 100.0, 2)']) {
      const t = tasks({ 'macros/m.sql': `{% macro amount(col) %}\n  ${body}\n{% endmacro %}`, 'models/m.sql': model });
      const { message, place } = await locate(t.get('m')!);
      expect(message).toMatch(/syntax error/);
      expect(place?.location).toEqual({ file: 'models/m.sql', line: 3 });
    }
  });

  it('finds the line that calls a macro over several lines whose output has a line the file has above it (select)', async () => {
    const t = tasks({
      'macros/inner.sql': '{% macro inner(a, b) %}\n\n    \n        select\n            1 as x\n{% endmacro %}\n',
      'models/m.sql': '{% set a = 1 %}\n\n{% set b = 2 %}\n\nselect 0 as x\nunion all\nselect\n    x\nfrom (\n    selct {{ inner(\n        a=1,\n        b=2\n    ) }}\n) as t\n',
    });
    const { message, place } = await locate(t.get('m')!);
    expect(message).toMatch(/syntax error at or near "select"/);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 10 });
  });

  it("finds the line that calls a macro whose output's lines another line's expressions could match (select * from {{ ref() }})", async () => {
    const macros = [
      '{% macro fill() %}\n    cast(null as int) as\n    id\n{% endmacro %}',
      "{% macro bad() %}\nselect * from (select 1 as v) as t\nleft join (select 1 as w) as my-col_option on true\n{% endmacro %}",
    ].join('\n');
    const model = [
      'with base as (',
      '    select * from (select 1 as id) b',
      '), f as (',
      '    select',
      '        {{',
      '            fill()',
      '        }}',
      '    from base',
      '), joined as (',
      '    {{ bad() }}',
      ')',
      'select * from joined',
    ].join('\n');
    const t = tasks({ 'macros/m.sql': macros, 'models/m.sql': model.replace('select * from (select 1 as id) b', "select * from {{ 'b' }}") });
    const { message, place } = await locate(t.get('m')!);
    expect(message).toMatch(/syntax error/);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 10 });
  });

  it('finds the line of a one-line if/else whose taken branch failed', async () => {
    const t = tasks(source("select\n  id,\n  {% if ds == '2024-01-02' %}nosuch as broken{% else %}id as broken{% endif %}\nfrom (select 1 as id) s"));
    const { place } = await locate(t.get('m')!);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 3 });
  });

  it('names every line an if/else may have rendered a failing line from, where its text is on each branch', async () => {
    // The else branch rendered: its line 6 is the output's line 4, where the if branch has the same text.
    const branches = "select *\nfrom (select timestamp '2024-01-01' as ts) t\n{% if var('a', false) %}\nwhere ts not like 'x'\n{% else %}\nwhere ts not like 'x'\n{% endif %}";
    const { place } = await locate(tasks(source(branches)).get('m')!);
    expect(place?.location).toBeUndefined();
    expect(place?.lines).toEqual([4, 6]);
    expect(place?.context?.find((l) => l.startsWith('>'))).toMatch(/^>\s+4 \| where ts not like 'x'$/);
    // The same text twice with no branch between: its place in the output is its line.
    const twice = "select *\nfrom (select 1 as id) t\nwhere id = 1\nunion all\nselect *\nfrom (select timestamp '2024-01-01' as ts) t\nwhere ts not like 'x'";
    const again = await locate(tasks(source(twice.replace('where id = 1', "where ts not like 'x'").replace('select 1 as id', "select timestamp '2024-01-01' as ts"))).get('m')!);
    expect(again.place?.location?.line).toBe(3);
  });

  it('finds the line of a one-line if/else shifted by a multi-line macro', async () => {
    const t = tasks({
      'macros/cols.sql': '{% macro cols() %}\n  id,\n  id * 2 as twice\n{% endmacro %}',
      'models/m.sql': "select\n  {{ cols() }},\n  {% if ds == '2024-01-01' %}id as x{% else %}nosuch as x{% endif %}\nfrom (select 1 as id) s",
    });
    const { place } = await locate(t.get('m')!);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 3 });
  });
});

describe('locateSqlError on given text', () => {
  const lineIn = (message: string) => DUCKDB.errorLine(message)?.line;
  const origin = { file: 'models/m.sql', source: 'select\n  a,\n  b\nfrom t', sql: 'select\n  a,\n  b\nfrom t' };

  it('needs a LINE in the message and the SQL inside the statement', () => {
    expect(locateSqlError(lineIn('Binder Error: no line here'), `CREATE TABLE x AS\n${origin.sql}`, origin)).toBeUndefined();
    expect(locateSqlError(lineIn('Binder Error: x\n\nLINE 2: a'), 'something else entirely', origin)).toBeUndefined();
  });

  it('returns nothing for a line outside the model SQL', () => {
    // LINE 1 is the CREATE TABLE line added by the strategy.
    expect(locateSqlError(lineIn('Binder Error: x\n\nLINE 1: CREATE'), `CREATE TABLE x AS\n${origin.sql}`, origin)).toBeUndefined();
    expect(locateSqlError(lineIn('Binder Error: x\n\nLINE 9: '), `CREATE TABLE x AS\n${origin.sql}`, origin)).toBeUndefined();
  });

  it('finds a line with two expressions, the text between them starting with a space', () => {
    const source = "{{ config(materialized='table') }}\nselect x from {{ ref('a') }} union all select x from {{ ref('b') }} where nosuch = 1\n";
    const sql = '\nselect x from "main"."a" union all select x from "main"."b" where nosuch = 1\n';
    const place = locateSqlError(lineIn('Binder Error: x\n\nLINE 3: ... where nosuch = 1'), `CREATE TABLE x AS\n${sql}`, { file: 'models/m.sql', source, sql });
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 2 });
  });

  it('numbers the context around the failing line', () => {
    const place = locateSqlError(lineIn('Binder Error: x\n\nLINE 4: b'), `CREATE TABLE x AS\n${origin.sql}`, origin);
    expect(place?.location).toEqual({ file: 'models/m.sql', line: 3 });
  });
});

describe('SQL errors reported by the executor', () => {
  it('names the model file line in the task error, caret kept under the same text', async () => {
    const t = tasks({
      'macros/cols.sql': '{% macro cols() %}\n  id,\n  id * 2 as twice\n{% endmacro %}',
      'models/bad.sql': 'select\n  {{ cols() }},\n  nosuch as broken\nfrom (select 1 as id) s',
    });
    const events: PipeEvent[] = [];
    const result = await execute({ engine: warehouse.engine, runId: 'err-1', tasks: [t.get('bad')!], threads: 1, emit: (e) => events.push(e) });
    expect(result.status).toBe('failed');
    const failed = events.find((e) => e.type === 'task-failed');
    if (failed?.type !== 'task-failed') throw new Error('no task-failed event');
    expect(failed.error.location).toEqual({ file: 'models/bad.sql', line: 3 });
    const lines = failed.error.message.split('\n');
    const at = lines.findIndex((l) => l.startsWith('models/bad.sql:3: '));
    expect(at).toBeGreaterThan(0);
    expect(lines[at]).toBe('models/bad.sql:3:   nosuch as broken');
    // The caret stands under `nosuch`.
    expect(lines[at + 1].indexOf('^')).toBe(lines[at].indexOf('nosuch'));
  });
  it('names the model file line for an error in a view, raised inside the publishing transaction', async () => {
    const t = tasks({ 'models/v.sql': "{{ config(materialized='view') }}\nselect\n  id,\n  nosuch as broken\nfrom (select 1 as id) s" });
    const events: PipeEvent[] = [];
    const result = await execute({ engine: warehouse.engine, runId: 'err-2', tasks: [t.get('v')!], threads: 1, emit: (e) => events.push(e) });
    expect(result.status).toBe('failed');
    const failed = events.find((e) => e.type === 'task-failed');
    if (failed?.type !== 'task-failed') throw new Error('no task-failed event');
    expect(failed.error.location).toEqual({ file: 'models/v.sql', line: 4 });
    expect(failed.error.message).toContain('models/v.sql:4:   nosuch as broken');
  });
});
