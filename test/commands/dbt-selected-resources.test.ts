import { afterAll, describe, expect, it } from 'vitest';
import { explain } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * dbt's `selected_resources` in a model (datavault4dbt's execution-aware loading reads it): the
 * unique ids of what the run selects, as the model renders when its task runs; none at parse
 * time, as in dbt. The values are dbt-duckdb 1.11's for the same project and selection.
 */
describe("dbt's selected_resources in a model", () => {
  it("is the run's selection as the model runs", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': 'select 1 as id',
      'models/b.sql': 'select 2 as id',
      'macros/selected.sql': '{% macro selected() %}{% set names = [] %}{% for r in selected_resources %}{% do names.append(r) %}{% endfor %}{{ return(names | sort | join(",")) }}{% endmacro %}',
      'models/m.sql': "select '{% if execute %}{{ selected() }}{% endif %}' as sel, {{ selected_resources | length }} as n",
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['m', 'a'] });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.m')).toEqual([{ sel: 'model.shop.a,model.shop.m', n: 2 }]);
    expect((await runIn(dir, { date: '2024-01-02', select: ['m'] })).code).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.m')).toEqual([{ sel: 'model.shop.m', n: 1 }]);
  });
});
