import { describe, expect, it } from 'vitest';
import { packageNames, unsupportedDiagnostics, unsupportedUses } from '../../src/analyze/dbt/unsupported-jinja.js';

const uses = (sql: string, packages: string[] = ['dbt_utils']) =>
  unsupportedUses('models/m.sql', sql, new Set(packages)).map((u) => [u.cause, u.location.line, u.location.column]);

describe('dbt Jinja pipe cannot render yet', () => {
  it('finds every use in a file, with its line and column', () => {
    expect(
      uses(`{% if execute %}
select {{ dbt_utils.star(ref('b')) }}, {{ dbt.date_trunc('day', 'x') }}
{% do things.append(1) %}{% endif %}
{{ "a".upper() }} {{ run_query('select 1') }} {{ adapter.dispatch('m')() }}
{{ ref('pkg', 'model') }} {{ ref('m', v=2) }} {{ graph.nodes }} {{ return(1) }}`),
    ).toEqual([
      ['execute', 1, 1],
      ['dbt_utils.star()', 2, 11],
      ['dbt.date_trunc()', 2, 43],
      ['{% do %}', 3, 1],
      ["Python's .upper()", 4, 7],
      ['run_query()', 4, 22],
      ['adapter.dispatch', 4, 50],
      ['ref() of another package', 5, 4],
      ['ref() with a model version', 5, 30],
      ['graph.nodes', 5, 50],
      ['return()', 5, 68],
    ]);
  });

  it('reads past comments, raw blocks, string literals and SQL outside the tags', () => {
    expect(
      uses(`{# {{ run_query('x') }} #}
{% raw %}{{ adapter.get_relation() }}{% endraw %}
select log(amount) as l, 'dbt_utils.star(x)' as s, target.id from t
{{ ref('orders') }} {{ "adapter.x" }} {{ var('x') | upper }}`),
    ).toEqual([]);
  });

  it('knows the packages a packages.yml installs and the well-known ones', () => {
    const names = packageNames([
      { data: { packages: [{ package: 'calogica/dbt_date', version: '0.10.0' }, { git: 'https://example.org/acme/my-macros.git' }, { local: '../shared' }] } },
    ]);
    expect([...names]).toEqual(expect.arrayContaining(['dbt_date', 'my_macros', 'shared', 'dbt_utils', 'dbt_expectations']));
    expect(uses("{{ my_macros.f() }} {{ other.g() }}", [...names])).toEqual([['my_macros.f()', 1, 4]]);
  });

  it('reports one error per cause, every other use related to it', () => {
    const all = [
      ...unsupportedUses('models/a.sql', '{{ dbt_utils.star(x) }}\n{{ dbt_utils.star(y) }}', new Set(['dbt_utils'])),
      ...unsupportedUses('models/b.sql', '{{ dbt_utils.star(z) }} {% do x %}', new Set(['dbt_utils'])),
    ];
    const ds = unsupportedDiagnostics(all);
    expect(ds.map((d) => [d.message, d.location, d.related?.map((r) => r.location)])).toEqual([
      [
        'dbt_utils.star() is not supported by pipe (3 uses in 2 files)',
        { file: 'models/a.sql', line: 1, column: 4 },
        [
          { file: 'models/a.sql', line: 2, column: 4 },
          { file: 'models/b.sql', line: 1, column: 4 },
        ],
      ],
      ['{% do %} is not supported by pipe', { file: 'models/b.sql', line: 1, column: 25 }, []],
    ]);
  });
});
