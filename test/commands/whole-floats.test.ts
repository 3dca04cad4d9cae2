import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, queryRows, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

/**
 * A float written whole (`1.0`) in YAML or JSON is a float in dbt's Python, where JavaScript
 * reads the number 1: `{{ var('rate') }}` prints `1.0` (a DECIMAL in SQL, not an INTEGER), and a
 * test's `values: [1.0]` is the text '1.0'. The expected values are what dbt-duckdb 1.11 builds
 * from the same files.
 */

function dbtProject(files: Record<string, string>): string {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'dbt_project.yml': "name: shop\nprofile: shop\nvars:\n  pf: 2.0\n  pi: 2\n",
    'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n',
    ...files,
  });
  return dir;
}

describe('whole floats from YAML and JSON', () => {
  it("are floats in templates: --vars, dbt_project.yml's vars and a test's arguments, as dbt reads them", async () => {
    const dir = dbtProject({
      'models/m.sql':
        "select '{{ var(\"f\") }}' as f, '{{ var(\"pf\") }}' as pf, '{{ var(\"pi\") }}' as pi, '{{ var(\"g\") }}' as g, {{ var('f') is float }} as f_float, {{ var('f') }} as n\n",
      'models/good.sql': "select '1.0' as v union all select '2.5'\n",
      'models/bad.sql': "select '1' as v\n",
      'models/schema.yml':
        'version: 2\nmodels:\n  - name: good\n    columns:\n      - name: v\n        data_tests:\n          - accepted_values: {values: [1.0, 2.5]}\n  - name: bad\n    columns:\n      - name: v\n        data_tests:\n          - accepted_values: {values: [1.0, 2.5]}\n',
    });
    const r = await cliIn(['run', '--date', '2024-01-02', '--vars', '{f: 1.0, g: [2.0]}', '--json', '--project', dir]);
    expect(r.code, explain(r)).toBe(1);
    const db = join(dir, 'dev.duckdb');
    expect(await queryRows(db, 'select f, pf, pi, g, f_float, n::VARCHAR as n, typeof(n) as t from m')).toEqual([
      { f: '1.0', pf: '2.0', pi: '2', g: '[2.0]', f_float: true, n: '1.0', t: 'DECIMAL(2,1)' },
    ]);
    // '1.0' is among the values, '1' is not: the test of good passes, bad's fails, as in dbt.
    expect(eventsOfType(r.events, 'check-failed').map((e) => [e.task.model, e.failure.check])).toEqual([['bad', 'accepted_values_bad_v__1_0__2_5']]);
    expect(await queryRows(db, 'select count(*)::INTEGER as n from good')).toEqual([{ n: 2 }]);
  });

  it('a retry renders them as its run did, and a compile of the int after the float renders the int', async () => {
    const dir = dbtProject({
      'seeds/ctl.csv': 'fail\n1\n',
      'models/m.sql': "{{ config(materialized='table') }}\nselect '{{ var(\"f\") }}' as f, '{{ var(\"z\", 0) }}|{{ var(\"i\", 0) }}|{{ var(\"n\", 0) }}' as special, (select case when fail = 1 then error('boom') else 1 end from {{ ref('ctl') }}) as ok\n",
    });
    const failed = await cliIn(['run', '--date', '2024-01-02', '--vars', '{f: 1.0, z: -0.0, i: .inf, n: .nan}', '--json', '--project', dir]);
    expect(failed.code, explain(failed)).toBe(1);
    writeProjectFiles(dir, { 'seeds/ctl.csv': 'fail\n0\n' });
    const seeded = await cliIn(['run', '--date', '2024-01-02', '--select', 'ctl', '--vars', 'f: 3', '--json', '--project', dir]);
    expect(seeded.code, explain(seeded)).toBe(0);
    const retried = await cliIn(['retry', '--json', '--project', dir]);
    expect(retried.code, explain(retried)).toBe(0);
    expect(eventsOfType(retried.events, 'notice').map((e) => e.message).filter((m) => m.startsWith('changed since'))).toEqual([]);
    // -0.0, inf and nan too, which JSON writes as 0 and null.
    expect(await queryRows(join(dir, 'dev.duckdb'), 'select f, special from m')).toEqual([{ f: '1.0', special: '-0.0|inf|nan' }]);
    // What compile kept of the float's render is not the int's.
    const asFloat = await cliIn(['compile', 'm', '--date', '2024-01-02', '--vars', '{f: 1.0}', '--project', dir]);
    const asInt = await cliIn(['compile', 'm', '--date', '2024-01-02', '--vars', '{f: 1}', '--project', dir]);
    expect([asFloat.stdout.includes("'1.0' as f"), asInt.stdout.includes("'1' as f")]).toEqual([true, true]);
  });

  it('nan, the infinities, -0.0 and null are told apart by what a run finds current: each change of the var rebuilds the model', async () => {
    const dir = dbtProject({ 'models/m.sql': "{{ config(materialized='table') }}\nselect '{{ var(\"x\") }}' as x\n" });
    const built = [];
    for (const x of ['.nan', 'null', '.inf', '-.inf', '-0.0', '0.0', '0', 'null']) {
      const r = await cliIn(['run', '--date', '2024-01-02', '--vars', `{x: ${x}}`, '--json', '--project', dir]);
      expect(r.code, explain(r)).toBe(0);
      expect(eventsOfType(r.events, 'task-skipped')).toEqual([]);
      built.push((await queryRows(join(dir, 'dev.duckdb'), 'select x from m'))[0].x);
    }
    expect(built).toEqual(['nan', 'None', 'inf', '-inf', '-0.0', '0.0', '0', 'None']);
  });
});

describe('integers past 2^53 from YAML', () => {
  it('are refused where they are written, as no JavaScript number holds them: printed, compared or summed they would be other numbers than dbt\'s', async () => {
    const dir = dbtProject({ 'models/m.sql': "select '{{ var(\"big\", 0) }}' as big\n" });
    const given = await cliIn(['compile', 'm', '--vars', '{big: 12345678901234567891}', '--project', dir]);
    expect(given.code).toBe(2);
    expect(given.stderr).toContain('--var/--vars: 12345678901234567891 is an integer past 2^53, which pipe cannot hold exactly (it would be 12345678901234567168)');
    // Quoted, it is text, printed as written; --var's value that would not print back stays the text typed.
    expect((await cliIn(['compile', 'm', '--vars', "{big: '12345678901234567891'}", '--project', dir])).stdout).toContain("select '12345678901234567891' as big");
    expect((await cliIn(['compile', 'm', '--var', 'big=12345678901234567891', '--project', dir])).stdout).toContain("select '12345678901234567891' as big");
    // In dbt_project.yml, and in a pipe project's pipe.yaml: at its line.
    writeProjectFiles(dir, { 'dbt_project.yml': "name: shop\nprofile: shop\nvars:\n  ids: [1, -98765432109876543210]\n" });
    const project = await cliIn(['compile', 'm', '--project', dir]);
    expect(project.code).toBe(2);
    expect(project.stderr).toContain('dbt_project.yml:4:12: error: -98765432109876543210 is an integer past 2^53');
    const own = tempDir();
    writeProjectFiles(own, { 'pipe.yaml': 'name: own\nvars:\n  kept: 98765432109876543210\n', 'models/m.sql': 'select 1 as x\n' });
    const p = await cliIn(['compile', 'm', '--project', own]);
    expect([p.code, p.stderr.includes('pipe.yaml:3:9: error: 98765432109876543210 is an integer past 2^53')]).toEqual([2, true]);
  });
});
