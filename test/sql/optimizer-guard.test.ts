import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * DuckDB 1.5.5's top_n_window_elimination returns one row of NULLs for `QUALIFY row_number()
 * OVER (ORDER BY x) = 1` over a query that selects nothing: pipe turns it off, in every instance
 * and whatever disabled_optimizers a project sets.
 */

const BEST = `with t as (select * from (values (1, 10), (2, 20)) v(id, n))
select 'best' as label, id, n from t
where n > {{ var('above', 100) }}
qualify row_number() over (order by n desc) = 1`;

describe("DuckDB's optimizer that gives wrong results", () => {
  it('is off: a QUALIFY over no rows builds no row, and one over rows the first', async () => {
    const dir = tempProject({ 'pipe.yaml': 'name: shop\n', 'models/best.sql': BEST });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryWarehouse(dir, 'select * from best')).toEqual([]);
    expect((await runIn(dir, { date: '2024-01-02', vars: { above: 5 } })).code).toBe(0);
    expect(await queryWarehouse(dir, 'select * from best')).toEqual([{ label: 'best', id: 2, n: 20 }]);
  });

  it("stays off when the project's settings disable optimizers of their own", async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\nsettings:\n  disabled_optimizers: join_order\n',
      'models/best.sql': BEST,
      'models/setting.sql': "select current_setting('disabled_optimizers') as disabled",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryWarehouse(dir, 'select * from best')).toEqual([]);
    expect(await queryWarehouse(dir, 'select * from setting')).toEqual([{ disabled: 'join_order,top_n_window_elimination' }]);
  });

  it('may not be turned back on by a hook or a sql_header, which set it for every later task too', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/hooked.sql': `{{ config(materialized='table', pre_hook="set disabled_optimizers='filter_pushdown'") }}\nselect 1 as y`,
      'models/headed.sql': `{{ config(materialized='table', sql_header="set disabled_optimizers = '';") }}\nselect 1 as y`,
      'models/best.sql': BEST,
    });
    const r = await runIn(dir, { date: '2024-01-02', threads: 1 });
    expect(r.code).toBe(1);
    const failed = eventsOfType(r.events, 'task-failed').map((e) => [(e.task as { model: string }).model, (e.error as { message: string }).message]);
    expect(failed.map(([m]) => m).sort()).toEqual(['headed', 'hooked']);
    for (const [, message] of failed) expect(message).toContain("sets disabled_optimizers, a setting of the whole warehouse in which pipe keeps DuckDB 1.5.5's top_n_window_elimination off");
    expect(await queryWarehouse(dir, 'select * from best')).toEqual([]);
  });
});
