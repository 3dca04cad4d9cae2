import { afterAll, describe, expect, it } from 'vitest';
import { explain, queryRows, warehouseOf } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * Files saved with Windows (or old Mac) line ends: Jinja's lexer reads `\r\n` and a lone `\r`
 * as `\n`, so a string literal across lines in a rendered file holds `\n`, as dbt builds it; a
 * file without a Jinja delimiter is not rendered by dbt, and keeps its bytes.
 */

const DBT = {
  'dbt_project.yml': "name: p\nprofile: p\nconfig-version: 2\nmodels:\n  p:\n    +materialized: table\n",
  'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
};

describe('line ends of template files', () => {
  it("a rendered model's and macro's literal across lines holds \\n, a file without Jinja its \\r\\n, as dbt builds them", async () => {
    const dir = tempProject({
      ...DBT,
      'macros/mm.sql': "{% macro two_lines() -%}\r\n'm1\r\nm2'\r\n{%- endmacro %}\r\n",
      'models/m1.sql': "select 'x\r\ny' as lit, {{ two_lines() }} as from_macro\r\n",
      'models/plain.sql': "select 'x\r\ny' as lit\r\n",
      'models/old_mac.sql': "select 'x\ry' as lit, {{ 1 }} as j\r",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    const db = warehouseOf(dir);
    expect(await queryRows(db, 'SELECT lit, from_macro FROM m1')).toEqual([{ lit: 'x\ny', from_macro: 'm1\nm2' }]);
    expect(await queryRows(db, 'SELECT lit FROM plain')).toEqual([{ lit: 'x\r\ny' }]);
    expect(await queryRows(db, 'SELECT lit, j FROM old_mac')).toEqual([{ lit: 'x\ny', j: 1 }]);
  });

  it('an error in a file of lone \\r line ends is at its line', async () => {
    const dir = tempProject({ 'pipe.yaml': 'name: p\n', 'models/bad.sql': "select 1 as a,\r{{ 2 }} as b\rfrom no_such_table\r" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('models/bad.sql:3: from no_such_table');
  });
});
