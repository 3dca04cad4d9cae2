import { afterAll, describe, expect, it } from 'vitest';
import { explain, queryRows, warehouseOf } from '../e2e/helpers.js';
import { compileIn, nodesIn, runIn, statusIn, testIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * A var nobody sets, read by one model: dbt's parse reads it as none, so dbt ls, parse and a
 * run of other models go on, and only what builds that model stops. So in pipe: the error
 * stops the commands that would build the model, and the others say it is left out.
 */

const FILES = {
  'dbt_project.yml': 'name: shop\n',
  'models/stg.sql': "select '{{ var(\"ldts\") }}' as ldts",
  'models/other.sql': 'select 1 as x',
  'models/down.sql': "select * from {{ ref('stg') }}",
};

const VAR_ERROR = "var 'ldts' is not set and has no default; pass --vars '{ldts: VALUE}' or set it under vars: in dbt_project.yml";

describe('a var nobody sets', () => {
  it('stops what builds the model that reads it, at the call; ls, compile, status and a run of other models go on', async () => {
    const dir = tempProject(FILES);
    const all = await runIn(dir, { date: '2024-01-02' });
    expect(all.code).toBe(2);
    expect(all.stderr).toContain(`models/stg.sql:1:12: error: ${VAR_ERROR}`);
    expect(all.events.some((e) => e.type === 'task-started')).toBe(false);

    // The graph is the parse render's, the var read as none: what reads the model is downstream of it.
    const listed = await nodesIn(dir);
    expect(listed.code, explain(listed)).toBe(0);
    expect(listed.nodes.map((n) => [n.name, n.upstream])).toEqual([
      ['other', []],
      ['stg', []],
      ['down', ['stg']],
    ]);
    expect(listed.stderr).toContain(`warning: ${VAR_ERROR}; stg is left out of what this command builds`);
    // Nothing of the none it read is said: the error is.
    expect(listed.stderr).not.toContain('None');

    const compiled = await compileIn(dir, { date: '2024-01-02' });
    expect(compiled.code, explain(compiled)).toBe(0);
    expect(compiled.models.map((m) => m.model)).toEqual(['other', 'down']);
    const status = await statusIn(dir, { json: true });
    expect(status.code, explain(status)).toBe(0);

    const other = await runIn(dir, { date: '2024-01-02', select: ['other'] });
    expect(other.code, explain(other)).toBe(0);
    const downstream = await runIn(dir, { date: '2024-01-02', select: ['stg+'] });
    expect([downstream.code, downstream.stderr]).toEqual([2, expect.stringContaining(VAR_ERROR)]);

    const given = await runIn(dir, { date: '2024-01-02', vars: { ldts: '2024-01-02' } });
    expect(given.code, explain(given)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT ldts FROM down')).toEqual([{ ldts: '2024-01-02' }]);
  });

  it("read into the model's config (its tags), stops every command, as dbt's parse refuses it: a selection by tag would leave the model out without a word", async () => {
    const dir = tempProject({ ...FILES, 'models/stg.sql': "{{ config(tags=['daily', var('extra_tag')]) }}\nselect 1 as x" });
    for (const r of [await runIn(dir, { date: '2024-01-02', select: ['tag:daily'] }), await nodesIn(dir)]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("error: var 'extra_tag' is not set and has no default");
    }
  });

  it("lets pipe test run the tests of the model that reads it, on its published table, as dbt test does", async () => {
    const dir = tempProject({ ...FILES, 'models/stg.yml': 'version: 2\nmodels:\n  - name: stg\n    columns:\n      - name: ldts\n        data_tests: [not_null]\n' });
    expect((await runIn(dir, { date: '2024-01-02', vars: { ldts: 'x' }, select: ['stg'] })).code).toBe(0);
    const r = await testIn(dir, { date: '2024-01-02', select: ['stg'] });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain('PASS  stg 2024-01-02 not_null_stg_ldts models/stg.yml:6');
  });
});

describe('a macro nothing defines, called by one model', () => {
  const files = {
    'dbt_project.yml': 'name: shop\n',
    'models/stg.sql': "select * from {{ ref('other') }}, {{ vault.nosuch_macro(x=1) }}",
    'models/other.sql': 'select 1 as x',
    'models/down.sql': "select * from {{ ref('stg') }}",
    'models/apart.sql': 'select 2 as y',
  };
  const error = 'vault.nosuch_macro() is not defined';

  it("stops what builds that model, at the call; ls and a run of other models go on, as dbt's parse captures the call", async () => {
    const dir = tempProject(files);
    const all = await runIn(dir, { date: '2024-01-02' });
    expect([all.code, all.stderr]).toEqual([2, expect.stringContaining(`models/stg.sql:1:38: error: ${error}`)]);
    expect(all.events.some((e) => e.type === 'task-started')).toBe(false);
    // The graph is the parse render's: what the model reads, and what reads it, past the missing call.
    const listed = await nodesIn(dir);
    expect(listed.code, explain(listed)).toBe(0);
    expect(listed.nodes.map((n) => [n.name, n.upstream])).toEqual([
      ['apart', []],
      ['other', []],
      ['stg', ['other']],
      ['down', ['stg']],
    ]);
    expect(listed.stderr).toContain(`warning: ${error}; stg is left out of what this command builds`);
    const apart = await runIn(dir, { date: '2024-01-02', select: ['apart'] });
    expect(apart.code, explain(apart)).toBe(0);
    for (const select of ['stg', '+down']) {
      const r = await runIn(dir, { date: '2024-01-02', select: [select] });
      expect([r.code, r.stderr], select).toEqual([2, expect.stringContaining(`error: ${error}`)]);
    }
  });

  it('with a unit test of that model, fails that test with why, at its line, and pipe test runs the others', async () => {
    const dir = tempProject({
      ...files,
      'models/other.yml': 'version: 2\nmodels:\n  - name: other\n    columns:\n      - name: x\n        data_tests: [not_null]\n',
      'models/unit.yml': "unit_tests:\n  - name: ut1\n    model: stg\n    given:\n      - input: ref('other')\n        rows: [{x: 1}]\n    expect: {rows: [{x: 1}]}\n",
    });
    expect((await runIn(dir, { date: '2024-01-02', select: ['other'] })).code).toBe(0);
    // Every test: the others run, and the unit test fails, with why, at its line.
    const failing = `unit test ut1 cannot run: it renders stg, which is left out: ${error} (models/stg.sql:1)`;
    const others = await testIn(dir, { date: '2024-01-02' });
    expect(others.code, explain(others)).toBe(1);
    expect(others.events.flatMap((e) => (e.type === 'task-succeeded' ? [(e.task as { id: string }).id] : []))).toEqual(['other@2024-01-02']);
    expect(others.stdout).toContain(failing);
    expect(others.stdout).toContain('at models/unit.yml:2');
    const tested = await testIn(dir, { date: '2024-01-02', select: ['stg'] });
    expect([tested.code, tested.stdout]).toEqual([1, expect.stringContaining(failing)]);
  });

  it('called where its value decides what the model reads or how it is configured, stops every command', async () => {
    for (const sql of ["{{ config(tags=[nosuch_macro()]) }}\nselect 1 as x", "select * from {{ ref(nosuch_macro() or 'other') }}"]) {
      const dir = tempProject({ ...files, 'models/stg.sql': sql });
      const listed = await nodesIn(dir);
      expect([listed.code, listed.stderr], sql).toEqual([2, expect.stringContaining('error: nosuch_macro() is not defined')]);
    }
  });
});
