import { describe, expect, it } from 'vitest';
import { unsupportedDiagnostics, unsupportedUses } from '../../src/analyze/dbt/unsupported-jinja.js';
import { projectNamespaces, type PackageScope } from '../../src/analyze/dbt/packages.js';
import type { ProjectPackages } from '../../src/project/load-packages.js';
import { DEFAULT_LAYOUT } from '../../src/project/layout.js';

/** The namespaces of a project with `declared` in its packages.yml and `installed` in dbt_packages/. */
const scope = (declared: string[] = [], installed: string[] = []) => {
  const packages: ProjectPackages = {
    declared: declared.map((name) => ({ name, location: { file: 'packages.yml', line: 2 } })),
    installed: installed.map((name) => ({ name, dir: `dbt_packages/${name}`, macros: [], layout: DEFAULT_LAYOUT, project: { file: `dbt_packages/${name}/dbt_project.yml`, data: { name }, keyLine: () => 1, pathLine: () => 1 } })),
  };
  return projectNamespaces('shop', packages, undefined, new Map(), []);
};
const NONE = scope();
const uses = (sql: string, s = NONE) => unsupportedUses('models/m.sql', sql, s).map((u) => [u.cause, u.location.line, u.location.column]);

describe('dbt Jinja pipe cannot render yet', () => {
  it('finds every use in a file, with its line and column', () => {
    expect(
      uses(`{% if execute %}
select {{ dbt_utils.star(ref('b')) }}, {{ dbt.get_relations_by_pattern('x') }}
{% do things.append(1) %}{% endif %}
{{ "a".upper() }} {{ run_query('select 1') }} {{ adapter.get_columns_in_relation('m') }}
{{ ref('pkg', 'model') }} {{ ref('m', v=2) }} {{ graph.nodes }} {{ namespace(x=1) }}`),
    ).toEqual([
      ['dbt_utils.star()', 2, 11],
      ['dbt.get_relations_by_pattern()', 2, 43],
      ['ref() of a package that is not installed', 5, 4],
    ]);
  });

  it("renders dbt's cross-database macros, adapter.dispatch, adapter.quote and return()", () => {
    expect(
      uses(`{{ dbt.date_trunc('day', 'x') }} {{ dbt.replace('a', 'b', 'c') }} {{ adapter.dispatch('m', 'shop')() }}
{{ adapter.quote('x') }} {{ return(1) }} {{ dbt.default__dateadd('day', 1, 'x') }}`),
    ).toEqual([]);
  });

  it('leaves alone the Jinja pipe renders as dbt does', () => {
    expect(
      uses(`{% set ns = namespace(cols=[]) %}{% do ns.cols.append('a'.upper()) %}
{{ return(tojson(zip([1], [2]))) }} {{ log('x', info=True) }} {{ exceptions.raise_compiler_error('no') }}
{{ modules.datetime.date(2024, 1, 1) }} {{ invocation_id }} {{ run_started_at.strftime('%Y') }} {{ local_md5('x') }}`),
    ).toEqual([]);
  });

  it('leaves reading the warehouse while rendering alone: models and tests are rendered again when they run', () => {
    const sql = `{% if execute %}{% set t = run_query('select 1') %}{% endif %}
{% call statement('s', fetch_result=True) %}select 1{% endcall %}{{ load_result('s') }}
{{ adapter.get_columns_in_relation(this) }} {{ adapter.get_relation(a, b, c) }} {{ graph.nodes.values() }} {{ api.Relation.create(schema='s', identifier='t') }}`;
    expect(uses(sql)).toEqual([]);
    expect(unsupportedUses('tests/t.sql', sql, NONE)).toEqual([]);
  });

  it('reads past comments, raw blocks, string literals and SQL outside the tags', () => {
    expect(
      uses(`{# {{ run_query('x') }} #}
{% raw %}{{ adapter.get_relation() }}{% endraw %}
select log(amount) as l, 'dbt_utils.star(x)' as s, target.id from t
{{ ref('orders') }} {{ "adapter.x" }} {{ var('x') | upper }}`),
    ).toEqual([]);
  });

  it('refuses the calls of a package that is neither installed nor implemented by pipe, naming why', () => {
    const s = scope(['dbt_utils', 'my_macros'], ['shared']);
    const found = unsupportedUses('models/m.sql', '{{ my_macros.f() }} {{ other.g() }} {{ shared.h() }} {{ dbt_utils.generate_surrogate_key(["a"]) }} {{ dbt_utils.star(x) }} {{ dbt_utils.get_url_host(x) }}', s);
    expect(found.map((u) => [u.cause, u.hint])).toEqual([
      ['my_macros.f()', 'my_macros is declared in packages.yml but not installed, and pipe cannot download it: run dbt deps so that dbt_packages/my_macros exists, or write the SQL it generates'],
      ['dbt_utils.get_url_host()', expect.stringMatching(/^dbt_utils is not installed, and pipe's own dbt_utils has generate_surrogate_key, .*, not get_url_host: install the package/)],
    ]);
    // A model of an installed package is read by the package's name.
    expect(uses("{{ ref('shared', 'stg_orders') }} {{ ref('gone', 'x') }}", s)).toEqual([['ref() of a package that is not installed', 1, 38]]);
    // A well-known package the project does not declare; in a folder without dbt_project.yml, which
    // pipe reads as a pipe project (its packages.yml unread), said so.
    expect(uses('{{ dbt_expectations.expect_x() }}').map(([cause]) => cause)).toEqual(['dbt_expectations.expect_x()']);
    const hint = (s: PackageScope) => unsupportedUses('models/m.sql', '{{ dbt_utils.star(x) }}', s).map((u) => u.hint);
    expect(hint(NONE)).toEqual([
      'dbt_utils is a dbt package, and this folder has no dbt_project.yml: pipe reads it as a pipe project, which has no dbt packages (a dbt project is read with its dbt_project.yml, and its packages.yml with it)',
    ]);
    const dbtProject = { file: 'dbt_project.yml', data: { name: 'shop' }, keyLine: () => 1, pathLine: () => 1 };
    expect(hint(projectNamespaces('shop', { declared: [], installed: [] }, dbtProject, new Map(), []))).toEqual([
      'dbt_utils is a dbt package this project does not declare: add it to packages.yml and run dbt deps, or write the SQL it generates',
    ]);
    // A package's name further down a chain is an attribute, not a call of the package (there is a package called metrics).
    expect(uses("{% set ms = graph.metrics.values() | list %}{{ x.metrics.values() }}")).toEqual([]);
    // A name dbt's graph does not have either is left to the render that reaches it, as in dbt.
    expect(uses("{% if kind == 'exposure' %}{% set e = graph.exposure['x'] %}{% endif %}")).toEqual([]);
    expect(uses('{{ metrics.calculate(x) }}').map(([cause]) => cause)).toEqual(['metrics.calculate()']);
    // A name the template binds is its own, whatever package has that name (elementary's `{% set metrics = [] %}`).
    expect(uses("{% set metrics = [] %}{% do metrics.append('a') %}{{ metrics | join(',') }}")).toEqual([]);
    expect(uses("{% for codegen in xs %}{% do codegen.update({}) %}{% endfor %}")).toEqual([]);
    expect(uses("{% macro m(dbt_date, n) %}{{ dbt_date.strip() }}{% endmacro %}")).toEqual([]);
    expect(uses("{% set audit_helper %}x{% endset %}{{ audit_helper.strip() }}")).toEqual([]);
  });

  it("refuses a bare get_relation() as adapter's, unless the project or a package defines a macro of that name, as dbt-profiler does", () => {
    const call = "{% set r = get_relation(relation_name='orders') %}{{ get_columns_in_relation(r) }}";
    expect(uses(call)).toEqual([
      ['get_relation()', 1, 12],
      ['get_columns_in_relation()', 1, 54],
    ]);
    const macros = [{ file: 'dbt_packages/dbt_profiler/macros/relation.sql', source: '{% macro get_relation(relation=none, relation_name=none) %}{{ return(adapter.get_relation(database=none, schema=none, identifier=relation_name)) }}{% endmacro %}' }];
    const packages: ProjectPackages = { declared: [], installed: [] };
    const defined = projectNamespaces('shop', packages, undefined, new Map(), [], macros);
    expect(unsupportedUses(macros[0].file, macros[0].source, defined)).toEqual([]);
    expect(unsupportedUses('models/m.sql', call, defined).map((u) => u.cause)).toEqual(['get_columns_in_relation()']);
  });

  it("takes a flags the template binds itself for its own, not dbt's (Snowplow's macros keep a list so named)", () => {
    const own = "{% macro count_hits(items) %}{% set flags = [0] %}{% do flags.append(1) %}{{ return(flags[0]) }}{% endmacro %}";
    expect(unsupportedUses('macros/m.sql', own, NONE)).toEqual([]);
    expect(unsupportedUses('macros/m.sql', '{% macro m(x) %}{{ flags.LOG_PATH }}{% endmacro %}', NONE).map((u) => u.cause)).toEqual(['flags.LOG_PATH']);
  });

  it('reports one error per cause, every other use related to it', () => {
    const all = [
      ...unsupportedUses('models/a.sql', '{{ dbt_utils.star(x) }}\n{{ dbt_utils.star(y) }}', NONE),
      ...unsupportedUses('models/b.sql', '{{ dbt_utils.star(z) }} {{ flags.x }}', NONE),
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
      ['flags.x is not supported by pipe', { file: 'models/b.sql', line: 1, column: 28 }, []],
    ]);
  });
});
