import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain } from '../e2e/helpers.js';
import { cliIn } from '../support/cli-in-process.js';
import { runIn, runOperationIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * `pipe run-operation`, dbt's run-operation, on a real DuckDB file: the macro's queries run as
 * it renders, each once; what it returns is not run; what it says is told; a failing query or
 * an unknown macro is said with its place. Checked against dbt-duckdb 1.11 on the same macros.
 */

const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
  'models/orders.sql': 'select 1 as id',
  'macros/ops.sql': `{% macro make_audit(schema_name, n=1) %}
  {% do adapter.create_schema(api.Relation.create(database=target.database, schema=schema_name)) %}
  {% do run_query("create or replace table " ~ schema_name ~ ".counts as select range as i from range(" ~ n ~ ")") %}
  {% set r = run_query("select count(*) from " ~ schema_name ~ ".counts") %}
  {{ log("counted " ~ r.columns[0].values()[0], info=True) }}
  {% do print("done") %}
  drop table main.orders
{% endmacro %}
{% macro columns_of(model) %}
  {% for c in adapter.get_columns_in_relation(ref(model)) %}{% do print(c.name ~ ' ' ~ c.dtype) %}{% endfor %}
{% endmacro %}
{% macro broken() %}
  {% do run_query("select * from nowhere") %}
{% endmacro %}
{% macro loaded(model) %}
  {% set r = load_relation(ref(model)) %}{% do print(model ~ ': ' ~ ('none' if r is none else r ~ ' ' ~ r.type)) %}
{% endmacro %}
`,
  'dbt_packages/tools/dbt_project.yml': 'name: tools\nvars:\n  label: from-tools\n',
  'dbt_packages/tools/macros/tag.sql': `{% macro tag_run() %}{% do run_query("create or replace table main.tagged as select '" ~ var('label') ~ "' as label, '" ~ project_name ~ "' as project") %}{% endmacro %}`,
};

describe('pipe run-operation', () => {
  it("runs the macro's queries as it renders, each once, with --args, and not what it returns", async () => {
    const dir = tempProject(FILES);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await runOperationIn(dir, { macro: 'make_audit', args: { schema_name: 'audit', n: 4 } });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryWarehouse(dir, 'select count(*) as n from audit.counts')).toEqual([{ n: '4' }]);
    // The macro returns a statement: dbt does not run it, nor does pipe.
    expect(await queryWarehouse(dir, 'select count(*) as n from main.orders')).toEqual([{ n: '1' }]);
    expect(eventsOfType(r.events, 'template-message').map((e) => [e.kind, e.message, e.location])).toEqual([
      ['log', 'counted 4', { file: 'macros/ops.sql', line: 5, column: 6 }],
      ['print', 'done', { file: 'macros/ops.sql', line: 6, column: 9 }],
    ]);
  });

  it("load_relation(ref(x)) is none until x is built, as in dbt (nothing is built before an operation)", async () => {
    const dir = tempProject({ ...FILES, 'models/cte.sql': "{{ config(materialized='ephemeral') }}select 1 as id" });
    const said = async () => {
      const r = await runOperationIn(dir, { macro: 'loaded', args: { model: 'orders' } });
      const e = await runOperationIn(dir, { macro: 'loaded', args: { model: 'cte' } });
      expect(r.code, explain(r)).toBe(0);
      return [...eventsOfType(r.events, 'template-message'), ...eventsOfType(e.events, 'template-message')].map((m) => m.message);
    };
    expect(await said()).toEqual(['orders: none', 'cte: none']);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(await said()).toEqual(['orders: "main"."orders" table', 'cte: none']);
  });

  it('prints what the macro prints as it is, alone on stdout, as dbt does: YAML to copy stays YAML', async () => {
    const dir = tempProject({
      ...FILES,
      'macros/yaml.sql': `{% macro model_yaml(name) %}{%- set text -%}
version: 2
models:
  - name: {{ name }}
{% endset %}{% if execute %}{{ print(text) }}{{ log('second: ' ~ name, info=True) }}{% endif %}{% endmacro %}`,
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await cliIn(['run-operation', 'model_yaml', '--args', '{name: orders}', '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toBe('version: 2\nmodels:\n  - name: orders\n\nsecond: orders\n');
    // With --json, the events as every command gives them.
    const json = await cliIn(['run-operation', 'model_yaml', '--args', '{name: orders}', '--project', dir, '--json']);
    expect(eventsOfType(json.events, 'template-message').map((e) => e.message)).toEqual(['version: 2\nmodels:\n  - name: orders\n', 'second: orders']);
  });

  it("prints a run_query() result's print_table() as dbt-duckdb prints it (agate's layout, checked against dbt 1.11)", async () => {
    const dir = tempProject({
      ...FILES,
      'macros/show.sql': `{% macro show_it() %}
{% set r = run_query("select 1234567 as big, 3.14159::double as pi, 'hello' as word, null::varchar as nothing, 2.5::decimal(10,2) as dec, true as flag union all select 5, 10.0, 'a much longer text value than twenty', 'x', 1.00, false") %}
{% do r.print_table() %}
{% set m = run_query("select range as i, 'r' || range as label, 1 as a, 2 as b, 3 as c, 4 as d, 5 as e from range(25)") %}
{% do m.print_table() %}
{% endmacro %}
{% macro nums() %}
{% set r = run_query("select 99999999999999999999::hugeint as h, 9007199254740993::bigint as b, 12345678901234567.891::decimal(38,3) as d, 1e-10::double as tiny, 1234.5::double as f, -0.0::double as nz, 3::float as fl, -7 as neg union all select 1, 2, 3.5, 2.25, -1234567.25, 1, 4, -12") %}
{% do r.print_table(max_columns=10) %}
{% endmacro %}`,
    });
    const printed = async (macro: string) => {
      const r = await cliIn(['run-operation', macro, '--project', dir]);
      expect(r.code, explain(r)).toBe(0);
      return r.stdout.trimEnd().split('\n');
    };
    // Exact numbers (never through a double), decimals as their most precise value has them, grouped where there are any.
    expect(await printed('nums')).toEqual([
      '|                    h |                b |                    d |   tiny |             f | nz | fl | neg |',
      '| -------------------- | ---------------- | -------------------- | ------ | ------------- | -- | -- | --- |',
      '| 99999999999999999999 | 9007199254740993 | 12,345,678,901,23... | 0.000… |      1,234.50 | -0 |  3 |  -7 |',
      '|                    1 |                2 |                3.500 | 2.250… | -1,234,567.25 |  1 |  4 | -12 |',
    ]);
    expect(await printed('show_it')).toEqual([
      '|     big |      pi | word                 | nothing | dec |  flag |',
      '| ------- | ------- | -------------------- | ------- | --- | ----- |',
      '| 1234567 |  3.142… | hello                |         | 2.5 |  True |',
      '|       5 | 10.000… | a much longer tex... | x       | 1.0 | False |',
      '|  i | label | a | b | c | d | ... |',
      '| -- | ----- | - | - | - | - | --- |',
      '|  0 | r0    | 1 | 2 | 3 | 4 | ... |',
      '|  1 | r1    | 1 | 2 | 3 | 4 | ... |',
      '|  2 | r2    | 1 | 2 | 3 | 4 | ... |',
      '|  3 | r3    | 1 | 2 | 3 | 4 | ... |',
      '|  4 | r4    | 1 | 2 | 3 | 4 | ... |',
      '|  5 | r5    | 1 | 2 | 3 | 4 | ... |',
      '|  6 | r6    | 1 | 2 | 3 | 4 | ... |',
      '|  7 | r7    | 1 | 2 | 3 | 4 | ... |',
      '|  8 | r8    | 1 | 2 | 3 | 4 | ... |',
      '|  9 | r9    | 1 | 2 | 3 | 4 | ... |',
      '| 10 | r10   | 1 | 2 | 3 | 4 | ... |',
      '| 11 | r11   | 1 | 2 | 3 | 4 | ... |',
      '| 12 | r12   | 1 | 2 | 3 | 4 | ... |',
      '| 13 | r13   | 1 | 2 | 3 | 4 | ... |',
      '| 14 | r14   | 1 | 2 | 3 | 4 | ... |',
      '| 15 | r15   | 1 | 2 | 3 | 4 | ... |',
      '| 16 | r16   | 1 | 2 | 3 | 4 | ... |',
      '| 17 | r17   | 1 | 2 | 3 | 4 | ... |',
      '| 18 | r18   | 1 | 2 | 3 | 4 | ... |',
      '| 19 | r19   | 1 | 2 | 3 | 4 | ... |',
      '| ... | ...   | ... | ... | ... | ... | ... |',
    ]);
  });

  it('reads the relations of ref() and source() as they are, building nothing', async () => {
    const dir = tempProject(FILES);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await runOperationIn(dir, { macro: 'columns_of', args: { model: 'orders' } });
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'template-message').map((e) => e.message)).toEqual(['id INTEGER']);
    const unknown = await runOperationIn(dir, { macro: 'columns_of', args: { model: 'nope' } });
    // Refused before any query of it ran: the call was wrong (exit 2), nothing was done.
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("ref('nope'): no model or seed is named 'nope'");
  });

  it("gives the macro's node as model, as dbt does: to the macro and to those it calls", async () => {
    const dir = tempProject({
      ...FILES,
      'macros/who.sql': "{% macro who() %}{% do print(model.unique_id ~ ' ' ~ model.resource_type ~ ' ' ~ model.original_file_path) %}{% do tools.who_pkg() %}{% endmacro %}",
      'dbt_packages/tools/macros/who.sql': "{% macro who_pkg() %}{% do print('pkg sees ' ~ model.name) %}{% endmacro %}",
    });
    const own = await runOperationIn(dir, { macro: 'who', args: {} });
    expect(own.code, explain(own)).toBe(0);
    expect(eventsOfType(own.events, 'template-message').map((e) => e.message)).toEqual(['macro.shop.who macro macros/who.sql', 'pkg sees who']);
    const pkg = await runOperationIn(dir, { macro: 'tools.who_pkg', args: {} });
    expect(eventsOfType(pkg.events, 'template-message').map((e) => e.message)).toEqual(['pkg sees who_pkg']);
  });

  it("calls an installed package's macro with the package's vars", async () => {
    const dir = tempProject(FILES);
    const r = await runOperationIn(dir, { macro: 'tools.tag_run', args: {} });
    expect(r.code, explain(r)).toBe(0);
    // project_name is the root project's, in a package's macro too, as in dbt.
    expect(await queryWarehouse(dir, 'select label, project from main.tagged')).toEqual([{ label: 'from-tools', project: 'shop' }]);
  });

  it("finds a package's macro by its bare name when one installed package has it and the project none, as dbt does; names each when several have it", async () => {
    const dir = tempProject(FILES);
    const r = await runOperationIn(dir, { macro: 'tag_run', args: {} });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryWarehouse(dir, 'select label from main.tagged')).toEqual([{ label: 'from-tools' }]);
    const two = tempProject({
      ...FILES,
      'dbt_packages/kit/dbt_project.yml': 'name: kit\n',
      'dbt_packages/kit/macros/tag.sql': '{% macro tag_run() %}{% endmacro %}',
    });
    const both = await runOperationIn(two, { macro: 'tag_run', args: {} });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("run-operation tag_run: 2 installed packages have a macro named 'tag_run': kit.tag_run, tools.tag_run");
  });

  it('a failing query fails with exit 1 at the macro; an unknown macro, --args that are no mapping, or a call its template refuses before a query ran, with exit 2', async () => {
    const dir = tempProject(FILES);
    const failed = await runOperationIn(dir, { macro: 'broken', args: {} });
    expect(failed.code).toBe(1);
    const unexpected = await runOperationIn(dir, { macro: 'make_audit', args: { schema_name: 'audit', n: 4, nope: 1 } });
    expect(unexpected.code).toBe(2);
    expect(unexpected.stderr).toContain("takes no keyword argument 'nope'");
    expect(failed.stderr).toContain('macros/ops.sql:13:9: error: broken: a query that macros/ops.sql:13 asks the warehouse for failed: Catalog Error: Table with name nowhere does not exist!');
    const unknown = await runOperationIn(dir, { macro: 'make_audi', args: {} });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: run-operation make_audi: the project has no macro named 'make_audi'");
    expect(unknown.stderr).toContain("did you mean 'make_audit'?");
    const noPackage = await runOperationIn(dir, { macro: 'tool.tag_run', args: {} });
    expect(noPackage.stderr).toContain("run-operation tool.tag_run: no installed package is named 'tool'");
    const badArgs = await cliIn(['run-operation', 'make_audit', '--project', dir, '--args', '[1, 2]']);
    expect(badArgs.code).toBe(2);
    expect(badArgs.stderr).toContain("--args must be a YAML mapping of the macro's arguments, e.g. '{table: orders}', got '[1, 2]'");
    const viaCli = await cliIn(['run-operation', 'make_audit', '--project', dir, '--args', '{schema_name: lab, n: 2}']);
    expect(viaCli.code, viaCli.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select count(*) as n from lab.counts')).toEqual([{ n: '2' }]);
  });
});

describe('pipe run-operation in a project with a test that names no node', () => {
  it('runs no test: pipe run runs it, on its own', async () => {
    const dir = tempProject({ ...FILES, 'tests/lonely.sql': 'select 1 as x where false' });
    const r = await runOperationIn(dir, { macro: 'loaded', args: { model: 'orders' } });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('lonely');
    const ran = await runIn(dir, {});
    expect(ran.code, explain(ran)).toBe(0);
    expect(eventsOfType(ran.events, 'check-passed').map((e) => e.check)).toContain('lonely');
  });
});
