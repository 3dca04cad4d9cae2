import { afterAll, describe, expect, it } from 'vitest';
import { explain } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * dbt's macros that read a query's columns without running it (get_column_schema_from_query,
 * get_columns_in_query, get_empty_subquery_sql; Snowplow's base events model selects by them),
 * on a real DuckDB file: the model renders again as its task runs and sees what its upstream
 * published in the same run. The values are dbt-duckdb 1.11's for the same project.
 */

const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
  'models/up.sql': "select range::int as id, 'n' || range as name, 1.5::decimal(4,2) as amount{% if var('wide', false) %}, true as flag{% endif %} from range(2)",
  'models/m.sql': `{% set cols = get_column_schema_from_query('select * from ' ~ ref('up')) %}
{% if execute %}{% set names = get_columns_in_query('select * from ' ~ ref('up')) %}{% else %}{% set names = [] %}{% endif %}
select '{% for c in cols %}{{ c.name }}:{{ c.dtype }}:{{ c.data_type }}{% if not loop.last %},{% endif %}{% endfor %}' as cols,
  '{{ names | join(",") }}' as names,
  '{{ get_empty_subquery_sql("select 1") | replace("\\n", " ") }}' as sub`,
};

describe("dbt's macros that read a query's columns", () => {
  it('give what dbt gives, from the columns upstream published in the same run', async () => {
    const dir = tempProject(FILES);
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.m')).toEqual([
      {
        cols: 'id:INTEGER:INTEGER,name:VARCHAR:character varying(256),amount:DECIMAL(4,2):DECIMAL(4,2)',
        names: 'id,name,amount',
        sub: 'select * from (         select 1     ) as __dbt_sbq     where false     limit 0 ',
      },
    ]);
    const second = await runIn(dir, { date: '2024-01-03', vars: { wide: true } });
    expect(second.code, explain(second)).toBe(0);
    expect(await queryWarehouse(dir, 'select cols, names from main.m')).toEqual([
      { cols: 'id:INTEGER:INTEGER,name:VARCHAR:character varying(256),amount:DECIMAL(4,2):DECIMAL(4,2),flag:BOOLEAN:BOOLEAN', names: 'id,name,amount,flag' },
    ]);
  });

  it("say that get_columns_in_query outside {% if execute %} fails in dbt's parse", async () => {
    const dir = tempProject({ ...FILES, 'models/m.sql': "{% set names = get_columns_in_query('select * from ' ~ ref('up')) %}\nselect '{{ names | join(\",\") }}' as names" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/m.sql:1:16: error: get_columns_in_query() reads the warehouse, which dbt's parse does not");
    expect(r.stderr).toContain('call it inside {% if execute %}');
  });
});
