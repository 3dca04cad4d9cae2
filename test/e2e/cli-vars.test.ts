import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, explain, removeTempDirs, writeProjectFiles } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

/**
 * How `--var` on the command line is read, by the CLI's own parsing in the test's process. Which values win (--var over a pipeline's vars over
 * pipe.yaml's) and which models a selection builds are tested in-process in
 * test/commands/selection.test.ts.
 */

describe('vars on the command line', () => {
  it('--var values are YAML, but a number that would not print back as typed stays text', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/var_types.sql': `select '{{ var("code") }}' as code, '{{ var("mask") }}' as mask, '{{ var("point") }}' as point, {{ var('n') + 1 }} as n,
  {% if var('flag') %}'on'{% else %}'off'{% endif %} as flag, {{ var('regions') | length }} as regions
`,
    });
    const args = ['--var', 'code=007', '--var', 'mask=0x1F', '--var', 'point=100.', '--var', 'n=41', '--var', 'flag=false', '--var', 'regions=[eu, us]'];
    const r = await cliIn(['compile', 'var_types', '--date', '2024-01-02', ...args, '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain("select '007' as code, '0x1F' as mask, '100.' as point, 42 as n,\n  'off' as flag, 2 as regions");
    // Nothing after the = is the empty text; null is none.
    writeProjectFiles(dir, { 'models/marts/var_empty.sql': "select '{{ var('a') }}' as a, {{ 'true' if var('b') is none else 'false' }} as b_is_none\n" });
    const empty = await cliIn(['compile', 'var_empty', '--date', '2024-01-02', ...args, '--var', 'a=', '--var', 'b=null', '--project', dir]);
    expect(empty.code, explain(empty)).toBe(0);
    expect(empty.stdout).toContain("select '' as a, true as b_is_none");
  });

  it("a value YAML reads as a mapping keyed by a mapping ('{{ 7*7 }}') is told in pipe's words alone, with no warning of Node's", async () => {
    const dir = copyExample();
    writeProjectFiles(dir, { 'models/marts/var_jinja.sql': "select {{ var('x') | sqlstring }} as x\n" });
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on('warning', listen);
    try {
      const r = await cliIn(['compile', 'var_jinja', '--date', '2024-01-02', '--var', 'x={{ 7*7 }}', '--project', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('sqlstring quotes one value, not a mapping');
      // Node tells its warnings on the next turns of the event loop.
      await new Promise((done) => setTimeout(done, 10));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', listen);
    }
  });

  it("takes dbt's --vars mapping, and a mapping given to --var, with --var's single values after them", async () => {
    const dir = copyExample();
    writeProjectFiles(dir, { 'models/marts/var_map.sql': "select '{{ var(\"a\") }}' as a, {{ var('n') + 1 }} as n, {{ var('l') | length }} as l, '{{ var('b') }}' as b\n" });
    const r = await cliIn(['compile', 'var_map', '--date', '2024-01-02', '--vars', '{a: x, n: 1, l: [1, 2, 3]}', '--var', 'n=41', '--var', '{b: y}', '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain("select 'x' as a, 42 as n, 3 as l, 'y' as b");
  });

  it("takes --vars in block form as dbt's docs write it ('key: value'), and a key given twice as its last, as dbt does", async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nprofile: shop\nmodel-paths: [models]\nseed-paths: [seeds]\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n',
      'models/marts/var_block.sql': "select {{ var('a') | length }} as a, {{ var('v') }} as v, '{{ var('u') }}' as u\n",
    });
    const r = await cliIn(['compile', 'var_block', '--date', '2024-01-02', '--vars', 'a: [5, 6]', '--vars', '{v: 3, v: 4}', '--vars', 'u: http://x?a=1', '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain("select 2 as a, 4 as v, 'http://x?a=1' as u");
  });

  it('--var NAME=null (or ~) is null, as in --vars; NAME= is the empty text', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, { 'models/marts/var_null.sql': "select {{ var('a') is none }} as a, {{ var('b') is none }} as b, '{{ var('c') }}' as c, {{ var('d') is none }} as d\n" });
    const r = await cliIn(['compile', 'var_null', '--date', '2024-01-02', '--var', 'a=null', '--var', 'b=~', '--var', 'c=', '--vars', '{d: null}', '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain("select True as a, True as b, '' as c, True as d");
  });

  it("reads them in a dbt project as dbt does (YAML 1.1: no is false, 017 is 15), in a pipe project as pipe.yaml's vars (YAML 1.2)", async () => {
    const model = "select '{{ var(\"flags\") | tojson }}' as flags, {{ 'true' if var('full') else 'false' }} as is_full\n";
    const dbt = copyExample();
    writeProjectFiles(dbt, {
      'dbt_project.yml': 'name: shop\nprofile: shop\nmodel-paths: [models]\nseed-paths: [seeds]\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n',
      'models/marts/var_yaml.sql': model,
    });
    const args = ['--vars', '{flags: [yes, on, 017, 1_000, 0o17]}', '--var', 'full=no'];
    const asDbt = await cliIn(['compile', 'var_yaml', '--date', '2024-01-02', ...args, '--project', dbt]);
    expect(asDbt.code, explain(asDbt)).toBe(0);
    expect(asDbt.stdout).toContain(`select '[true, true, 15, 1000, "0o17"]' as flags, false as is_full`);
    const own = copyExample();
    writeProjectFiles(own, { 'models/marts/var_yaml.sql': model });
    const asPipe = await cliIn(['compile', 'var_yaml', '--date', '2024-01-02', ...args, '--project', own]);
    expect(asPipe.code, explain(asPipe)).toBe(0);
    expect(asPipe.stdout).toContain(`select '["yes", "on", 17, "1_000", 15]' as flags, true as is_full`);
  });

  it.each([
    [['--vars', '{a: [1'], "--var/--vars: '{a: [1' is not a YAML mapping: "],
    [['--vars', '{}x'], "--var/--vars: '{}x' is not a YAML mapping"],
    [['--vars', 'a'], "--var/--vars expects NAME=VALUE or a YAML mapping ('{name: value}'), got 'a'"],
    // The parser's own message ends with the place, then shows it: both are said, not a line cut at its colon.
    [['--vars', '{fx_rate: 2'], "--var/--vars: '{fx_rate: 2' is not a YAML mapping: Flow map must end with a } at line 1, column 12\n  {fx_rate: 2\n             ^\n"],
  ])('refuses %j, exit 2', async (args, message) => {
    const dir = copyExample();
    const r = await cliIn(['compile', '--date', '2024-01-02', ...args, '--project', dir]);
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
