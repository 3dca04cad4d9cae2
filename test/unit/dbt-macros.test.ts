import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import { candidateName, dispatchCandidates, type DispatchScope } from '../../src/analyze/jinja/dispatch.js';
import { RenderFailure, TemplateEngine, type RenderHooks } from '../../src/analyze/template-engine.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * Macros as dbt resolves them: adapter.dispatch's search order, return(), dbt's
 * cross-database macros as dbt-duckdb renders them, installed packages under their namespace,
 * and pipe's own implementations of packages that are declared but not installed.
 */

afterAll(removeProjects);

const day = dayInterval(parseDate('2024-01-02')!);
const run = (files: Record<string, string>): Analysis => analyze(loadProject(tempProject({ 'dbt_project.yml': 'name: shop\n', ...files })), { interval: day });
const sqlOf = (a: Analysis, name: string): string => {
  const r = a.renderer.sql(name, day, { tableExists: false, fullRefresh: false });
  if ('severity' in r) throw new Error(`${r.code}: ${r.message}`);
  return r.sql;
};
const errors = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.message, d.location?.file, d.location?.line]);

const hooks: RenderHooks = {
  variables: {},
  ref: (n) => n,
  source: (s, t) => `${s}.${t}`,
  config: () => undefined,
  var: (name, fallback, has) => {
    if (has) return fallback;
    throw new Error(`var ${name}`);
  },
  isIncremental: () => false,
};
/** A template rendered with no project macros, whitespace runs made one space. */
function render(template: string, engine = new TemplateEngine([], [])): string {
  const compiled = engine.compile('models/m.sql', template);
  if ('severity' in compiled) throw new Error(compiled.message);
  return engine.render(compiled, hooks).replace(/\s+/g, ' ').trim();
}

describe('adapter.dispatch', () => {
  const scope: DispatchScope = {
    project: 'shop',
    isPackage: (n) => ['dbt', 'dbt_utils'].includes(n),
    searchOrder: (n) => (n === 'dbt_utils' ? ['shop', 'spark_utils', 'dbt_utils'] : undefined),
  };
  const order = (name: string, ns?: string) => dispatchCandidates(name, ns, scope).map(candidateName);

  it("tries duckdb__ then default__, in the project then the package, or in the dispatch: search order", () => {
    expect(order('dateadd', 'dbt')).toEqual(['shop.duckdb__dateadd', 'shop.default__dateadd', 'dbt.duckdb__dateadd', 'dbt.default__dateadd']);
    expect(order('star', 'dbt_utils')).toEqual([
      'shop.duckdb__star',
      'shop.default__star',
      'spark_utils.duckdb__star',
      'spark_utils.default__star',
      'dbt_utils.duckdb__star',
      'dbt_utils.default__star',
    ]);
    // No namespace, or one that is no package: the names a template sees.
    expect(order('cents')).toEqual(['duckdb__cents', 'default__cents']);
    expect(order('cents', 'nowhere')).toEqual(['duckdb__cents', 'default__cents']);
  });

  it("finds the project's implementation before the package's, and says what it searched when there is none", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\ndispatch:\n  - macro_namespace: dbt\n    search_order: [shop, dbt]\n',
      'macros/m.sql': `{% macro default__hash(field) %}sha256({{ field }}){% endmacro %}
{% macro cents(x) %}{{ return(adapter.dispatch('cents', macro_namespace='shop')(x)) }}{% endmacro %}
{% macro default__cents(x) %}{{ x }} * 100{% endmacro %}
{% macro duckdb__cents(x) %}cast({{ x }} * 100 as int){% endmacro %}
{% macro broken() %}{{ adapter.dispatch('nothing', 'shop')() }}{% endmacro %}`,
      'models/a.sql': "select {{ dbt.hash('x') }} as h, {{ cents('y') }} as c, {{ dbt.dateadd('day', 1, 'z') }} as d",
      'models/b.sql': 'select {{ broken() }}',
    });
    expect(sqlOf(a, 'a')).toBe('select sha256(x) as h, cast(y * 100 as int) as c, (z + cast(1 as bigint) * interval 1 day) as d');
    expect(errors(a)).toEqual([
      ['template-render', "adapter.dispatch found no macro for 'nothing' in namespace 'shop': searched shop.duckdb__nothing, shop.default__nothing", 'macros/m.sql', 5],
    ]);
  });

  it('refuses a dotted name and the packages= argument dbt no longer takes', () => {
    expect(() => render("{{ adapter.dispatch('dbt_utils.star')() }}")).toThrow(/did you mean adapter.dispatch\('star', macro_namespace='dbt_utils'\)/);
    expect(() => render("{{ adapter.dispatch('x', packages=['a'])() }}")).toThrow(/no longer takes packages=/);
  });

  it('is refused with its search order when dbt_project.yml gives dispatch: a wrong shape', () => {
    const a = run({ 'dbt_project.yml': 'name: shop\ndispatch:\n  - macro_namespace: dbt_utils\n', 'models/a.sql': 'select 1' });
    expect(errors(a)).toEqual([['bad-config', expect.stringContaining('each dispatch entry names a macro_namespace and its search_order'), 'dbt_project.yml', 3]]);
  });
});

describe('return()', () => {
  const macros = [
    {
      file: 'macros/r.sql',
      source: `{% macro items() %}ignored{{ return(['a', 'b']) }}also ignored{% endmacro %}
{% macro first(flag) %}{% if flag %}{{ return(1) }}{% endif %}{{ return(2) }}{% endmacro %}
{% macro outer() %}{% set n = first(false) %}{% for i in items() %}[{{ i }}{{ n }}]{% endfor %}{% endmacro %}`,
    },
  ];
  const engine = new TemplateEngine(macros, []);

  it("gives the macro the value, of any type, the first return() deciding it, and keeps the caller's variables", () => {
    expect(render('{{ items() | join("-") }} {{ items() | length }} {{ first(true) + 1 }} {{ first(false) }}', engine)).toBe('a-b 2 2 2');
    expect(render('{{ outer() }}', engine)).toBe('[a2][b2]');
  });

  it('is an error outside a macro', () => {
    expect(() => render('{{ return(1) }}', engine)).toThrow(RenderFailure);
  });
});

describe("dbt's cross-database macros", () => {
  // dbt-duckdb's output for the same calls (1.9, and 1.11 for datediff), whitespace runs made one space.
  const cases: [string, string][] = [
    ["dbt.date_trunc('month', 'd')", "date_trunc('month', d)"],
    ["dbt.dateadd('day', 3, 'd')", '(d + cast(3 as bigint) * interval 1 day)'],
    ["dbt.dateadd('quarter', 'n', 'd')", '(d + (cast(n as bigint) * 3) * interval 1 month)'],
    ["dbt.dateadd('week', 2, 'd')", '(d + (cast(2 as bigint) * 7) * interval 1 day)'],
    ["dbt.datediff('a', 'b', 'day')", "(date_diff('day', a::timestamp, b::timestamp ))"],
    [
      "dbt.datediff('a', 'b', 'week')",
      "( (date_diff('day', a::timestamp, b::timestamp )) // 7 + case when date_part('dow', (a)::timestamp) <= date_part('dow', (b)::timestamp) then case when a <= b then 0 else -1 end else case when a <= b then 1 else 0 end end)",
    ],
    ["dbt.safe_cast('x', 'int')", 'cast(x as int)'],
    ["dbt.cast('x', 'int')", 'cast(x as int)'],
    ["dbt.concat(['a', \"'-'\", 'b'])", "a || '-' || b"],
    ["dbt.hash('x')", 'md5(cast(x as TEXT))'],
    ['[dbt.type_string(), dbt.type_int(), dbt.type_bigint(), dbt.type_float(), dbt.type_numeric(), dbt.type_timestamp(), dbt.type_boolean()] | join(",")', 'TEXT,integer,bigint,float,numeric(28,6),timestamp,boolean'],
    ['dbt.current_timestamp()', 'now()'],
    ["dbt.split_part('s', \"','\", 2)", "string_split(s, ',')[2]"],
    ['dbt.date(2024, 1, 2)', 'make_date(2024, 1, 2)'],
    ["dbt.listagg('x')", "string_agg(x, ',')"],
    ["dbt.listagg('x', \"'|'\", 'order by y', 2)", "list_aggr((array_agg(x order by y))[1:2], 'string_agg', '|')"],
    ["dbt.any_value('x')", 'arbitrary(x)'],
    ["dbt.bool_or('x')", 'bool_or(x)'],
    ["dbt.cast_bool_to_text('x')", 'cast(x as TEXT)'],
    ['dbt.escape_single_quotes("it\'s")', "it''s"],
    ["dbt.string_literal('abc')", "'abc'"],
    [
      "dbt.last_day('d', 'month')",
      "cast( ((date_trunc('month', d) + cast(1 as bigint) * interval 1 month) + cast(-1 as bigint) * interval 1 day) as date)",
    ],
    [
      "dbt.last_day('d', 'quarter')",
      "cast( ((date_trunc('quarter', d) + cast(3 as bigint) * interval 1 month) + cast(-1 as bigint) * interval 1 day) as date)",
    ],
    ["dbt.position(\"'a'\", 's')", "position('a' in s)"],
    ["dbt.replace('s', \"'a'\", \"'b'\")", "replace(s, 'a', 'b')"],
    ["dbt.length('s')", 'length(s)'],
    ["dbt.right('s', 2)", 'right(s, 2)'],
    ['dbt.except()', 'except'],
    ['dbt.intersect()', 'intersect'],
    ["dbt.array_construct(['1', '2'])", 'array[ 1 , 2 ]'],
    ["dbt.array_append('a', 1)", 'array_append(a, 1)'],
    ["dbt.array_concat('a', 'b')", 'array_cat(a, b)'],
    ["dbt.equals('a', 'b')", '(a = b)'],
    ["dateadd('day', 1, 'd')", '(d + cast(1 as bigint) * interval 1 day)'],
    ['current_timestamp()', 'now()'],
  ];

  it('render the SQL dbt-duckdb renders', () => {
    const norm = (sql: string) => sql.replace(/\(\s+/g, '(').replace(/\s+\)/g, ')');
    for (const [call, sql] of cases) expect(norm(render(`{{ ${call} }}`)), call).toBe(norm(sql));
  });

  it("print an undefined argument as nothing and none as None, as dbt's macros do", () => {
    // dbt-project-evaluator quotes node.deprecation_date, which a seed's node lacks: '' in dbt.
    expect(render("{% set d = {'a': 1} %}{{ dbt.string_literal(d.missing) }}|{{ dbt.string_literal(none) }}|{{ dbt.string_literal(d.a) }}")).toBe("''|'None'|'1'");
  });

  it("take arguments by name, and refuse one they do not take, as Jinja does", () => {
    expect(render("{{ dbt.dateadd(datepart='month', interval=1, from_date_or_timestamp='d') }}")).toBe('(d + cast(1 as bigint) * interval 1 month)');
    expect(() => render("{{ dbt.dateadd('day', 1, 'd', unit='x') }}")).toThrow(/dbt.dateadd\(\) takes 3 arguments|takes no argument 'unit'/);
    expect(() => render("{{ dbt.dateadd('day', 1) }}")).toThrow(/dbt.dateadd\(\) needs the argument 'from_date_or_timestamp'/);
    expect(() => render("{{ dbt.concat('a') }}")).toThrow(/fields must be a list/);
  });

  it("give way to the project's macro of the same name", () => {
    const engine = new TemplateEngine([{ file: 'macros/d.sql', source: '{% macro dateadd(a, b, c) %}mine{% endmacro %}' }], []);
    expect(render("{{ dateadd('day', 1, 'd') }} {{ dbt.date_trunc('day', 'd') }}", engine)).toBe("mine date_trunc('day', d)");
  });
});

/** A package in the shape of a real one, installed as dbt deps leaves it. */
const TOOLS = {
  'dbt_packages/tools/dbt_project.yml': "name: tools\nversion: '1.0.0'\nconfig-version: 2\n",
  'dbt_packages/tools/macros/money.sql': `{% macro to_cents(column, scale=100) %}
  {{ return(adapter.dispatch('to_cents', 'tools')(column, scale)) }}
{% endmacro %}

{% macro default__to_cents(column, scale) %}({{ column }} * {{ scale }})::bigint{% endmacro %}

{% macro columns_of(prefix) %}{{ return([prefix ~ '_a', prefix ~ '_b']) }}{% endmacro %}
`,
  'dbt_packages/tools/macros/tests.sql': `{% test positive(model, column_name) %}
select * from {{ model }} where {{ tools.to_cents(column_name) }} <= 0
{% endtest %}
`,
  'dbt_packages/tools/models/unused.sql': 'select 1',
};

describe('installed packages', () => {
  it('are read under their name, with their own dispatch, and the project overrides it', () => {
    const a = run({
      ...TOOLS,
      'packages.yml': 'packages:\n  - package: acme/tools\n    version: 1.0.0\n',
      'models/a.sql': "select {{ tools.to_cents('price') }} as cents, {{ tools.columns_of('x') | join(', ') }} from t",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: cents\n        data_tests: [tools.positive]\n',
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe('select (price * 100)::bigint as cents, x_a, x_b from t');
    const check = (a.nodes.get('a') as ModelNode).checks[0];
    expect([check.name, check.sql.replace(/\s+/g, ' ').trim()]).toEqual(['tools_positive_a_cents', expect.stringContaining('where (cents * 100)::bigint <= 0')]);
    // The package's model is a node of the graph, named from the package.
    expect(a.nodes.get('unused')?.fqn).toEqual(['tools', 'unused']);
    expect(a.diagnostics.find((d) => d.code === 'not-used')).toBeUndefined();

    const overridden = run({
      ...TOOLS,
      'dbt_project.yml': 'name: shop\ndispatch:\n  - macro_namespace: tools\n    search_order: [shop, tools]\n',
      'macros/cents.sql': '{% macro default__to_cents(column, scale) %}round({{ column }} * {{ scale }}){% endmacro %}',
      'models/a.sql': "select {{ tools.to_cents('price', 10) }} as cents",
    });
    expect(sqlOf(overridden, 'a')).toBe('select round(price * 10) as cents');
  });

  it("dispatch with no namespace from a package's model finds that package's macros first, as dbt does", () => {
    // Two packages define default__year_of (the Tuva project and dbt_date both have default__date_part):
    // neither is a name of its own, and each package's node reaches its own.
    const part = (pkg: string, impl: string, namespace: string) =>
      `{% macro year_of(d) %}{{ adapter.dispatch('year_of'${namespace})(d) }}{% endmacro %}\n{% macro default__year_of(d) %}${impl}{% endmacro %}\n`;
    const a = run({
      ...TOOLS,
      'dbt_packages/tools/macros/part.sql': part('tools', "date_part('year', {{ d }})", ''),
      'dbt_packages/tools/models/yearly.sql': "select {{ year_of('ordered_at') }} as y",
      'dbt_packages/other/dbt_project.yml': "name: other\nversion: '1.0.0'\nconfig-version: 2\n",
      'dbt_packages/other/macros/part.sql': part('other', 'extract(year from {{ d }})', ", 'other'"),
      'models/a.sql': "select {{ other.year_of('d') }} as y",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'yearly')).toBe("select date_part('year', ordered_at) as y");
    expect(sqlOf(a, 'a')).toBe('select extract(year from d) as y');
  });

  it("leave the project's own macros callable under its name, as dbt does", () => {
    const a = run({
      ...TOOLS,
      'dbt_project.yml': 'name: shop\n',
      'macros/partition.sql': "{% macro partition_cols(col) %}{{ col }}, source_relation{% endmacro %}",
      'models/a.sql': "select row_number() over (partition by {{ shop.partition_cols('email') }}) as n, {{ tools.to_cents('p') }} as c from t",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe('select row_number() over (partition by email, source_relation) as n, (p * 100)::bigint as c from t');
  });

  it("load a file that defines a custom materialization (one per adapter) beside its macros: the materialization is left aside, the macros work", () => {
    const a = run({
      ...TOOLS,
      'dbt_packages/tools/macros/materializations.sql': `{% materialization audited, adapter='duckdb',
    supported_languages=['sql'] -%}
  {%- set target = this.incorporate(type='table') -%}
  {% call statement('main') -%}{{ sql }}{%- endcall %}
  {{ adapter.commit() }}
  {{ return({'relations': [target]}) }}
{%- endmaterialization %}

{% materialization audited, default %}{{ return({'relations': []}) }}{% endmaterialization %}

{% macro audited_label(x) %}'{{ x }}'{% endmacro %}`,
      'models/a.sql': "select {{ tools.audited_label('ok') }} as label",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select 'ok' as label");
  });

  it('include local: packages, read where packages.yml says', () => {
    const files = Object.fromEntries(Object.entries(TOOLS).map(([k, v]) => [k.replace('dbt_packages/tools', 'vendor/tools'), v]));
    const a = run({ ...files, 'packages.yml': 'packages:\n  - local: vendor/tools\n', 'models/a.sql': "select {{ tools.to_cents('p') }}" });
    expect(sqlOf(a, 'a')).toBe('select (p * 100)::bigint');
  });

  it("report an error in a package's macro at its file and line", () => {
    const broken = { 'dbt_packages/tools/macros/broken.sql': "{% macro scaled(column) %}\n  {{ column ~ 'x' + 1 }}\n{% endmacro %}" };
    const a = run({ ...TOOLS, ...broken, 'models/a.sql': "select {{ tools.scaled('p') }}" });
    expect(errors(a)).toEqual([['template-render', "unsupported operand type(s) for +: 'str' and 'int'", 'dbt_packages/tools/macros/broken.sql', 2]]);
    expect(a.diagnostics[0].related?.map((r) => [r.message, r.location.file])).toEqual([['reached through tools.scaled(), called here', 'models/a.sql']]);
  });

  it('print an undefined value as nothing, as dbt does; the project refuses to', () => {
    // A macro of a package sets a variable on one path only, and prints it on every one.
    const a = run({ ...TOOLS, 'models/a.sql': 'select {{ tools.to_cents() }} as c' });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe('select ( * 100)::bigint as c');
    const own = run({ 'macros/m.sql': '{% macro to_cents(column) %}{{ column }}{% endmacro %}', 'models/a.sql': 'select {{ to_cents() }} as c' });
    expect(errors(own)).toEqual([['template-render', "'column' is undefined (or null) in template output", 'macros/m.sql', 1]]);
    // Joined with ~, as dbt_utils' pretty_log_format joins a message it was not given.
    const joined = run({
      ...TOOLS,
      'dbt_packages/tools/macros/fmt.sql': "{% macro fmt(message) %}{{ return('x' ~ ' + ' ~ message) }}{% endmacro %}",
      'models/a.sql': "select '{{ tools.fmt() }}' as c",
    });
    expect(errors(joined)).toEqual([]);
    expect(sqlOf(joined, 'a')).toBe("select 'x + ' as c");
    const ownJoined = run({ 'macros/m.sql': "{% macro fmt(message) %}{{ 'x' ~ message }}{% endmacro %}", 'models/a.sql': 'select {{ fmt() }} as c' });
    expect(errors(ownJoined).map(([code, message]) => [code, message])).toEqual([['template-render', "an undefined value (an unknown variable or attribute) is used with '~'"]]);
  });

  it("print None as None, as dbt does: in the project's templates with a warning at the value, in a package's without one", () => {
    const a = run({
      ...TOOLS,
      'dbt_packages/tools/macros/none.sql': "{% macro nothing() %}'{{ {'k': none}['k'] }}'{% endmacro %}",
      'macros/labels.sql': "{% macro label(d, k) %}'{{ d.get(k) }}'{% endmacro %}",
      'models/a.sql': `{% set labels = {'a': 'first', 'b': none} %}
select {{ tools.nothing() }} as p,
  {% for k, v in labels.items() %}'{{ v }}' as {{ k }}, {% endfor %}{{ label(labels, 'c') }} as c`,
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("\nselect 'None' as p,\n  'first' as a, 'None' as b, 'None' as c");
    // Once per place, though the loop prints there twice.
    expect(a.diagnostics.filter((d) => d.severity === 'warning').map((d) => [d.message, d.location])).toEqual([
      ["'v' is None, and prints as None, as in dbt", { file: 'models/a.sql', line: 3, column: 36 }],
      ["'d.get(k)' is None, and prints as None, as in dbt", { file: 'macros/labels.sql', line: 1, column: 25 }],
    ]);
  });
});

describe("pipe's own packages", () => {
  const DECLARED = 'packages:\n  - package: dbt-labs/dbt_utils\n    version: [">=1.0.0", "<2.0.0"]\n';

  it('stand in for a declared package that is not installed, named once in a notice', () => {
    const a = run({
      'packages.yml': DECLARED,
      'models/a.sql': "select {{ dbt_utils.generate_surrogate_key(['a', 'b']) }} as k, {{ dbt_utils.safe_add(['x', 'y']) }} as s from t",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: a\n    data_tests:\n      - dbt_utils.expression_is_true: {expression: "s >= 0"}\n',
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe(
      "select md5(cast(coalesce(cast(a as TEXT), '_dbt_utils_surrogate_key_null_') || '-' || coalesce(cast(b as TEXT), '_dbt_utils_surrogate_key_null_') as TEXT)) as k, coalesce(x, 0) +\n  coalesce(y, 0) as s from t",
    );
    const notices = a.diagnostics.filter((d) => d.code === 'package-stand-in');
    expect(notices.map((d) => [d.message, d.location?.file])).toEqual([
      ["packages not installed, rendered with pipe's own implementations: dbt_utils (expression_is_true, generate_surrogate_key, safe_add)", 'packages.yml'],
    ]);
  });

  it('are not used when the package is installed, nor when it is not declared', () => {
    const installed = run({
      'packages.yml': DECLARED,
      'dbt_packages/dbt_utils/dbt_project.yml': 'name: dbt_utils\n',
      'dbt_packages/dbt_utils/macros/k.sql': '{% macro generate_surrogate_key(fields) %}theirs{% endmacro %}',
      'models/a.sql': "select {{ dbt_utils.generate_surrogate_key(['a']) }}",
    });
    expect(sqlOf(installed, 'a')).toBe('select theirs');
    expect(installed.diagnostics.some((d) => d.code === 'package-stand-in')).toBe(false);

    const undeclared = run({ 'models/a.sql': "select {{ dbt_utils.generate_surrogate_key(['a']) }}" });
    expect(errors(undeclared)).toEqual([['unsupported', 'dbt_utils.generate_surrogate_key() is not supported by pipe', 'models/a.sql', 1]]);
  });
});

describe("dbt's naming macros", () => {
  it("are called from templates with dbt's defaults", () => {
    const a = run({
      'models/names.sql': [
        "select '{{ generate_schema_name('raw_data') }}' as s, '{{ generate_schema_name() }}' as t, '{{ generate_schema_name(' x ') }}' as u,",
        "'{{ generate_alias_name(none, {'name': 'orders', 'version': 2}) }}' as a, '{{ generate_alias_name('custom') }}' as b,",
        "'{{ generate_database_name() }}' as d, '{{ dbt.generate_schema_name('y') }}' as e, '{{ generate_schema_name_for_env('z') }}' as f",
      ].join('\n'),
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'names')).toBe(
      "select 'main_raw_data' as s, 'main' as t, 'main_x' as u,\n'orders_v2' as a, 'custom' as b,\n'warehouse' as d, 'main_y' as e, 'main' as f",
    );
  });

  it("are the project's own where it has them: its models and pipe name schemas by them", () => {
    const a = run({
      'macros/schemas.sql': '{% macro generate_schema_name(custom_schema_name, node) %}{{ custom_schema_name or target.schema }}{% endmacro %}',
      'models/raw.sql': "{{ config(schema='raw_data') }}\nselect '{{ generate_schema_name('raw_data') }}' as s",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'raw')).toContain("select 'raw_data' as s");
    expect((a.nodes.get('raw') as ModelNode).relation).toBe('"raw_data"."raw"');
  });
});

describe("dbt's project_name", () => {
  it("is the root project's name in its models and macros and in an installed package's macros", () => {
    const a = run({
      ...TOOLS,
      'dbt_packages/tools/macros/root.sql': '{% macro is_root(name) %}{{ return(name == project_name) }}{% endmacro %}',
      'macros/own.sql': "{% macro own_project() %}{{ return(project_name) }}{% endmacro %}",
      'models/a.sql': "select {{ tools.is_root('shop') }} as root, {{ tools.is_root('tools') }} as pkg, '{{ own_project() }}' as own, '{{ project_name }}' as here",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select True as root, False as pkg, 'shop' as own, 'shop' as here");
  });
});

describe("dbt's model in macros", () => {
  it("is the calling model's node in the macros it calls, the project's and an installed package's", () => {
    const a = run({
      ...TOOLS,
      'dbt_packages/tools/macros/node.sql': "{% macro node_name() %}{{ return(model.name) }}{% endmacro %}",
      'macros/own.sql': "{% macro own_node() %}{{ return(model.unique_id ~ ' ' ~ model.config.materialized) }}{% endmacro %}",
      'models/a.sql': "select '{{ tools.node_name() }}' as pkg, '{{ own_node() }}' as own",
      'models/b.sql': "{{ config(materialized='table') }}select '{{ own_node() }}' as own",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select 'a' as pkg, 'model.shop.a view' as own");
    expect(sqlOf(a, 'b')).toBe("select 'model.shop.b table' as own");
  });

  it("is a dict to `in` and `for`, as dbt's node is: dbt-assertions reads `model.columns if ('columns' in model)`", () => {
    const a = run({
      'models/a.sql': "select {{ 'columns' in model }} as has_columns, {{ 'nope' in model }} as has_nope, {{ 'config' in model }} as has_config, '{{ model | select('equalto', 'unique_id') | list | length }}' as keys",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select True as has_columns, False as has_nope, True as has_config, '1' as keys");
  });

  it("gives each column its meta and tags, those of its config: merged in, as dbt's node does (dbt-assertions' assertions)", () => {
    const a = run({
      'models/a.sql': `{%- set c = model.columns['exceptions'] -%}
select '{{ c.config.meta.assertions.positive.expression }}' as expr, '{{ c.meta.owner }}' as owner, '{{ c.tags | join(",") }}' as tags, '{{ model.columns['id'].meta | length }}' as plain`,
      'models/a.yml': `version: 2
models:
  - name: a
    columns:
      - name: id
      - name: exceptions
        meta: {owner: ops}
        tags: [checks]
        config:
          tags: [quality, checks]
          meta:
            assertions:
              positive:
                expression: id > 0
`,
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select 'id > 0' as expr, 'ops' as owner, 'checks,quality' as tags, '0' as plain");
  });

  it("holds dbt's config defaults where nothing sets them, and its path from the model folder", () => {
    const a = run({
      'models/marts/a.sql': `select '{{ model.config.tags }}' as t, '{{ config.get('meta') }}' as m, '{{ model.config.persist_docs }}' as pd, '{{ model.config.docs }}' as d,
 '{{ model.config.contract }}' as c, '{{ model.config.on_schema_change }}' as osc, '{{ model.path }}' as p, '{{ model.original_file_path }}' as ofp`,
      'models/marts/b.sql': "{{ config(tags=['x'], materialized='incremental', unique_key='id') }}select '{{ model.config.tags }}' as t, '{{ config.get('on_schema_change') }}' as osc",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe(`select '[]' as t, '{}' as m, '{}' as pd, '{'show': True}' as d,
 '{'enforced': False, 'alias_types': True}' as c, 'ignore' as osc, 'marts/a.sql' as p, 'models/marts/a.sql' as ofp`);
    // An incremental model's is pipe's, as graph.nodes gives it (see Guarantees).
    expect(sqlOf(a, 'b')).toBe("select '['x']' as t, 'fail' as osc");
  });

  it('says that a call gives an undefined value, not that the call is undefined', () => {
    const a = run({ 'macros/m.sql': '{% macro nothing() %}{{ return(not_set) }}{% endmacro %}', 'models/a.sql': "select '{{ nothing() }}' as c" });
    expect(errors(a)).toEqual([['template-render', "'nothing()' gives an undefined value (or null) to the template output: what the macro returns is undefined", 'models/a.sql', 1]]);
  });
});
