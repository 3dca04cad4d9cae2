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
      'models/marts/var_types.sql': `select '{{ var("code") }}' as code, '{{ var("mask") }}' as mask, {{ var('n') + 1 }} as n,
  {% if var('flag') %}'on'{% else %}'off'{% endif %} as flag, {{ var('regions') | length }} as regions
`,
    });
    const args = ['--var', 'code=007', '--var', 'mask=0x1F', '--var', 'n=41', '--var', 'flag=false', '--var', 'regions=[eu, us]'];
    const r = await cliIn(['compile', 'var_types', '--date', '2024-01-02', ...args, '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain("select '007' as code, '0x1F' as mask, 42 as n,\n  'off' as flag, 2 as regions");
  });
});
