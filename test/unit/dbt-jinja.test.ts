import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import { NO_TABLE } from '../../src/analyze/model-kinds.js';
import type { Invocation } from '../../src/analyze/jinja/surface.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * dbt projects whose templates use dbt's Jinja: macros that return values, namespaces, `do`,
 * Python's methods, modules.datetime and modules.re, and `this`. The expected SQL is what
 * dbt-core 1.10 compiles from the same files (relations aside: pipe names them in two parts).
 */

afterAll(removeProjects);

const day = dayInterval(parseDate('2024-01-02')!);
const PROJECT = "name: shop\nprofile: shop\nvars:\n  run_date: '2024-03-01'\n";
const INVOCATION: Invocation = { id: '20240102T030405-ab12', startedAt: Date.UTC(2024, 0, 2, 3, 4, 5, 678) };

const run = (files: Record<string, string>): Analysis =>
  analyze(loadProject(tempProject({ 'dbt_project.yml': PROJECT, 'seeds/payments.csv': 'order_id,payment_method,amount\n1,coupon,10\n', ...files })), {
    interval: day,
    invocation: INVOCATION,
  });
const errors = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location]);

function sql(a: Analysis, model: string): string {
  expect(errors(a)).toEqual([]);
  const rendered = a.renderer.sql(model, day, NO_TABLE);
  if ('severity' in rendered) throw new Error(rendered.message);
  return rendered.sql;
}

const COLUMNS_MACRO = `{% macro select_columns(columns, prefix=none, exclude=[]) -%}
  {%- set ns = namespace(cols=[], skipped=0) -%}
  {%- for c in columns -%}
    {%- if c | lower in exclude -%}
      {%- set ns.skipped = ns.skipped + 1 -%}
    {%- else -%}
      {%- do ns.cols.append((prefix ~ '.' if prefix else '') ~ c | lower) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(ns.cols | join(',\\n  ') ~ '\\n  -- skipped ' ~ ns.skipped) }}
{%- endmacro %}

{% macro clean_name(name) -%}
  {{ return(modules.re.sub('[^a-z0-9_]+', '_', name.lower()).strip('_')) }}
{%- endmacro %}

{% macro version_of(name) -%}
  {%- set m = modules.re.match('^(\\w+)_v(\\d+)$', name) -%}
  {%- if m -%}{{ return({'base': m.group(1), 'version': m.group(2) | int}) }}{%- endif -%}
  {{ return({'base': name, 'version': 0}) }}
{%- endmacro %}
`;

const DATES_MACRO = `{% macro date_bounds(days_back) %}
  {% set end = modules.datetime.datetime.strptime(var('run_date'), '%Y-%m-%d').date() %}
  {% set start = end - modules.datetime.timedelta(days=days_back) %}
  {{ return({'start': start.isoformat(), 'end': end.strftime('%Y-%m-%d'), 'week': start.isocalendar()[1], 'dow': start.strftime('%A'), 'span': (end - start).days}) }}
{% endmacro %}
`;

describe("dbt's Jinja in a dbt project", () => {
  it('renders macros that build a column list with namespace() and do, and return values of any type', () => {
    const a = run({
      'macros/columns.sql': COLUMNS_MACRO,
      'models/cols.sql': `{%- set raw = ['Order_ID', 'Customer Name', 'Amount', '_loaded_at'] -%}
{%- set cleaned = [] -%}
{%- for c in raw -%}{%- do cleaned.append(clean_name(c)) -%}{%- endfor -%}
{%- set v = version_of('orders_v12') -%}
select
  {{ select_columns(cleaned, prefix='p', exclude=['amount']) }},
  '{{ v.base }}' as base, {{ v.version + 1 }} as next_version, {{ cleaned | length }} as n, '{{ cleaned[-1] }}' as last_col
from {{ ref('payments') }} as p`,
    });
    expect(sql(a, 'cols')).toBe(`select
  p.order_id,
  p.customer_name,
  p.loaded_at
  -- skipped 1,
  'orders' as base, 13 as next_version, 4 as n, 'loaded_at' as last_col
from "main"."payments" as p`);
  });

  it("pivots over a dict's items(), with loop.last", () => {
    const a = run({
      'models/pivot.sql': `{% set payment_methods = {'credit_card': 'cc', 'coupon': 'cp', 'bank_transfer': 'bt'} %}
select
  order_id,
{%- for method, short in payment_methods.items() %}
  sum(case when payment_method = '{{ method }}' then amount else 0 end) as {{ short }}_amount{{ ',' if not loop.last }}
{%- endfor %}
from {{ ref('payments') }}
group by 1`,
    });
    expect(sql(a, 'pivot')).toBe(`
select
  order_id,
  sum(case when payment_method = 'credit_card' then amount else 0 end) as cc_amount,
  sum(case when payment_method = 'coupon' then amount else 0 end) as cp_amount,
  sum(case when payment_method = 'bank_transfer' then amount else 0 end) as bt_amount
from "main"."payments"
group by 1`);
  });

  it('computes dates with modules.datetime in a macro', () => {
    const a = run({
      'macros/dates.sql': DATES_MACRO,
      'models/bounds.sql': `{%- set b = date_bounds(10) -%}
select '{{ b.start }}' as start_date, '{{ b['end'] }}' as end_date, {{ b.week }} as week, '{{ b.dow }}' as dow, {{ b.span }} as span`,
    });
    expect(sql(a, 'bounds')).toBe("select '2024-02-20' as start_date, '2024-03-01' as end_date, 8 as week, 'Tuesday' as dow, 10 as span");
  });

  it('keeps a {% set %} in a loop body to its iteration, as Jinja does; a namespace carries a value out', () => {
    const a = run({
      'models/loops.sql': `{%- set total = 0 -%}
{%- set ns = namespace(total=0, names=[]) -%}
{%- for row in [{'name': 'a', 'n': 2}, {'name': 'b', 'n': 3}] -%}
  {%- set total = total + row.n -%}
  {%- set ns.total = ns.total + row.n -%}
  {%- do ns.names.append(row['name'] | upper) -%}
{%- endfor -%}
select {{ total }} as outer_total, {{ ns.total }} as ns_total, '{{ ns.names | join(",") }}' as names`,
    });
    expect(sql(a, 'loops')).toBe("select 0 as outer_total, 5 as ns_total, 'A,B' as names");
  });

  it('gives this its database, schema and identifier from the final config, even set after it is read', () => {
    const a = run({
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n',
      'models/relation.sql': `select '{{ this.database }}' as db, '{{ this.schema }}' as sch, '{{ this.identifier }}' as id, '{{ this.name }}' as nm, '{{ this }}' as full
{{ config(schema='staging', alias='rel_v2') }}`,
    });
    expect(sql(a, 'relation')).toBe(`select 'dev' as db, 'main_staging' as sch, 'rel_v2' as id, 'rel_v2' as nm, '"dev"."main_staging"."rel_v2"' as full`);
  });

  it("gives a ref's database as the warehouse's while rendering, where every node is written (a ref's schema stays unknown until it is placed)", () => {
    const profile = 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: Referensdata.duckdb\n';
    const a = run({ 'profiles.yml': profile, 'models/b.sql': 'select 1 as id', 'models/a.sql': "select '{{ ref('b').database }}' as d" });
    expect(errors(a)).toEqual([]);
    expect(sql(a, 'a')).toBe("select 'Referensdata' as d");
    const schema = run({ 'profiles.yml': profile, 'models/b.sql': 'select 1 as id', 'models/a.sql': "select '{{ ref('b').schema }}' as s" });
    expect(errors(schema)).toEqual([[expect.stringMatching(/^the schema of b is not known while a template renders in pipe/), expect.objectContaining({ file: 'models/a.sql' })]]);
  });

  it("gives a ref's identifier and name as the table the node is written to: its alias, set in its own config(), its properties or a seed's", () => {
    // `a` renders before `b` and `c`, whose aliases it asks for; a test's relations say the same.
    const a = run({
      'models/a.sql': "{% set b = ref('b') %}select '{{ b.identifier }}' as b_id, '{{ b.name }}' as b_name, '{{ ref('c').table }}' as c_id, '{{ ref('payments').identifier }}' as seed_id, '{{ ref('d').identifier }}' as d_id",
      'models/b.sql': "{{ config(alias='b_tbl') }}select 1 as id",
      'models/c.sql': 'select 1 as id',
      'models/d.sql': 'select 1 as id',
      'models/props.yml': "version: 2\nmodels:\n  - name: c\n    config: {alias: c_tbl}\n  - name: b\n    data_tests:\n      - named_as: {other: ref('c')}\nseeds:\n  - name: payments\n    config: {alias: raw_payments}\n",
      'macros/named_as.sql': "{% test named_as(model, other) %}select '{{ model.identifier }}' as t, '{{ other.identifier }}' as o where false{% endtest %}",
    });
    expect(sql(a, 'a')).toBe("select 'b_tbl' as b_id, 'b_tbl' as b_name, 'c_tbl' as c_id, 'raw_payments' as seed_id, 'd' as d_id");
    const check = (a.nodes.get('b') as ModelNode).checks.find((c) => c.name.startsWith('named_as'));
    expect(check?.sql).toContain("select 'b_tbl' as t, 'c_tbl' as o where false");
  });

  it("refuses to read a relation's text while rendering, where pipe's placeholder would give another answer than dbt's, and passes it on as it is", () => {
    // Each would give pipe's placeholder's answer: 1 part, its length, "X"; dbt's relation text gives another.
    const reads: [string, string][] = [
      ["(ref('b') | string).split('.')[-1]", '.split()'],
      ["ref('b') | replace('\"', '')", '|replace'],
      ["ref('b') | upper", '|upper'],
      ["(ref('b') ~ '') | length", '|length'],
      ["(ref('b') | string)[1:]", 'a slice'],
      ["(this | string)[0]", 'an index'],
      ["'main' in (ref('b') | string)", "'in'"],
      ["ref('b') | string | trim('\"')", '.strip()'],
      ["[ref('b')] | map('lower') | join", '|lower'],
    ];
    for (const [expr, what] of reads) {
      const a = run({ 'models/b.sql': 'select 1 as id', 'models/m.sql': `select 1 as x,\n  '{{ ${expr} }}' as b` });
      expect(errors(a), expr).toEqual([[expect.stringMatching(new RegExp(`^${what.replace(/[.|[\]()]/g, '\\$&')} reads the text of a relation .* Use the relation's parts \\(\\.identifier`)), expect.objectContaining({ file: 'models/m.sql', line: 2 })]]);
    }
    // Passed on as it is, into the SQL, a text or a format, it is the relation; a query holding
    // one is searched as dbt searches it, for a keyword or for the relation itself.
    const a = run({
      'models/b.sql': 'select 1 as id',
      'models/m.sql': `{% set q %}select * from {{ ref('b') }}{% endset %}select * from {{ ref('b') | string | trim }} join {{ '{}'.format(ref('b')) }} using (id)
where '{{ ref('b') ~ '' }}' <> '{{ (ref('b') | string).strip() }}' or '{{ ref('b').identifier | upper }}' = 'B' or '{{ 'from' in q }}{{ (ref('b') | string) in q }}{{ (this | string) in q }}' = ''`,
    });
    expect(sql(a, 'm')).toBe(`select * from "main"."b" join "main"."b" using (id)
where '"warehouse"."main"."b"' <> '"warehouse"."main"."b"' or 'B' = 'B' or 'TrueTrueFalse' = ''`);
  });

  it("prints relations with or without their parts as dbt's include() does, and says where a ref's own is refused", () => {
    const a = run({
      'models/b.sql': 'select 1 as id',
      'models/inc.sql': `{% set r = api.Relation.create(database='other', schema='s', identifier='t') %}select '{{ ref('b').include(database=False) }}' as b, '{{ this.include(database=False) }}' as this_,
 '{{ r.include(database=False) }}' as a, '{{ r.include(schema=False) }}' as c, '{{ r.include(identifier=False) }}' as d, '{{ r.include(database=False).include(schema=False) }}' as e, '{{ r.include(schema=False).include(schema=True) }}' as f`,
    });
    expect(sql(a, 'inc')).toBe(`select '"main"."b"' as b, '"main"."inc"' as this_,
 '"s"."t"' as a, '"other"."t"' as c, '"other"."s"' as d, '"t"' as e, '"other"."s"."t"' as f`);
    const refused = run({ 'models/b.sql': 'select 1 as id', 'models/m.sql': "select '{{ ref('b').include(schema=False) }}' as b" });
    expect(errors(refused)).toEqual([
      [expect.stringContaining('include(schema=False) is not supported by pipe on a ref()'), { file: 'models/m.sql', line: 1, column: 12 }],
    ]);
    // A method a value has not, called on the first line, is found where it is called.
    const unknown = run({ 'models/b.sql': 'select 1 as id', 'models/m.sql': "select '{{ ref('b').nope() }}' as b" });
    expect(errors(unknown)).toEqual([['ref(...).nope() is not defined', { file: 'models/m.sql', line: 1, column: 20 }]]);
    // A macro's output is a string, as in dbt: the Tuva project makes its schema's relation from generate_schema_name's.
    const made = run({
      'macros/s.sql': "{% macro audit_schema() %}{{ 'au' ~ 'dit' }}{% endmacro %}",
      'models/r.sql': "{% set r = api.Relation.create(database=target.database, schema=audit_schema()) %}select '{{ r }}' as r",
    });
    expect(sql(made, 'r')).toBe(`select '"audit"' as r`);
    // dbt's Column of a name and type, its type translated.
    const columns = run({ 'models/c.sql': "{% set c = api.Column.create('x', 'string') %}select '{{ c.name }}|{{ c.data_type }}|{{ c.dtype }}|{{ c.is_string() }}|{{ c.quoted }}' as a" });
    expect(sql(columns, 'c')).toBe(`select 'x|character varying(256)|TEXT|True|"x"' as a`);
    // One of dbt's own macros pipe has not is named as such.
    const dbts = run({ 'models/m.sql': "select 1 as x,\n '{{ get_relations_by_pattern('%', 'a') }}' as c" });
    expect(errors(dbts)).toEqual([["get_relations_by_pattern() is not defined", { file: 'models/m.sql', line: 2, column: 6 }]]);
    const adapterMacro = run({ 'models/m.sql': "select 1 as x,\n '{{ make_temp_relation(this) }}' as c" });
    expect(errors(adapterMacro)).toEqual([["make_temp_relation() is a macro of dbt's that pipe does not implement", { file: 'models/m.sql', line: 2, column: 6 }]]);
  });

  it("reads Python's spaces inside a tag as spaces (a paragraph separator pasted into config()), in templates pipe's parser reads and in those Nunjucks' does, and keeps them in strings", () => {
    // U+2029 and U+3000 between tokens, U+2029 inside a string; the second template defines a macro, which Nunjucks' parser reads.
    const a = run({
      'models/spaced.sql': "{{ config({'alias': 'spaced'\u2029, 'tags':\u3000['x']}) }}\nselect {{ [1,\u20282] | join('\u2029') | length }} as n,\u000b'{{\u00a0this.identifier\u0085}}' as id",
      'models/with_macro.sql': "{% macro twice(x) %}{{ x\u2029*\u20292 }}{% endmacro %}{{ config(alias='m'\u2029) }}select {{ twice(21) }} as n",
    });
    expect(sql(a, 'spaced')).toBe("\nselect 3 as n,\u000b'spaced' as id");
    expect(sql(a, 'with_macro')).toBe('select 42 as n');
  });

  it("joins string literals written next to each other, as Jinja does (a package's triple-quoted message), in templates pipe's parser reads and in those Nunjucks' does", () => {
    const a = run({
      'macros/warn.sql': `{% macro note(what) %}{{ return("""
    Note: """ ~ what ~ """ is 'empty'.""") }}{% endmacro %}`,
      'models/joined.sql': `select '{{ note('x') | trim }}' as note, '{{ 'a' "b" | upper }}' as ab`,
      'models/with_macro.sql': `{% macro twice(x) %}{{ x ~ x }}{% endmacro %}select '{{ twice('a' 'b') }}' as v`,
    });
    expect(sql(a, 'joined')).toBe("select 'Note: x is 'empty'.' as note, 'AB' as ab");
    expect(sql(a, 'with_macro')).toBe("select 'abab' as v");
  });

  it("trims a block set's leading whitespace after its `-%}`, as Jinja does (dbt-codegen's YAML starts so), in templates pipe's parser reads and in those Nunjucks' does", () => {
    const body = "{% set y -%}\n  z\n{%- endset %}{% set w %}\n  v\n{% endset %}select '{{ y }}|{{ w | trim }}|{{ (y ~ w) | length }}' as v";
    const a = run({ 'models/plain.sql': body, 'models/with_macro.sql': `{% macro noop() %}{% endmacro %}${body}` });
    expect(sql(a, 'plain')).toBe("select 'z|v|6' as v");
    expect(sql(a, 'with_macro')).toBe("select 'z|v|6' as v");
  });

  it('reads `{%+` and `+%}` as plain tags, as Jinja without lstrip_blocks and trim_blocks (dbt sets neither) does, beside dashes', () => {
    const body = `select $\${%+ if true %}k{% endif %}$$ as a, $\${% if true +%}k{% endif %}$$ as b,\n  '{%- if true +%}  x  {%+ endif -%}' as c, '{{ "+%}" }}' as d`;
    const a = run({ 'models/plain.sql': body, 'models/with_macro.sql': `{% macro noop() %}{% endmacro %}${body}` });
    const jinja = "select $$k$$ as a, $$k$$ as b,\n  '  x  ' as c, '+%}' as d";
    expect(sql(a, 'plain')).toBe(jinja);
    expect(sql(a, 'with_macro')).toBe(jinja);
  });

  it("keeps {% raw %} text as Jinja does: dashes trim on its tags, a raw tag inside is text, and verbatim is no Jinja", () => {
    const body = "select '{%- raw -%}  {{ x }} {% raw %} {%- endraw -%}  ' as r, '{% raw %} {{ y }} {% endraw -%}\n  ' as s";
    const a = run({ 'models/plain.sql': body, 'models/with_macro.sql': `{% macro noop() %}{% endmacro %}${body}` });
    expect(sql(a, 'plain')).toBe("select '{{ x }} {% raw %}' as r, ' {{ y }} ' as s");
    expect(sql(a, 'with_macro')).toBe("select '{{ x }} {% raw %}' as r, ' {{ y }} ' as s");
    const b = run({ 'models/v.sql': "select '{% verbatim %}x{% endverbatim %}' as v", 'models/open.sql': "select 1 {% raw %} as never_closed" });
    expect(errors(b).map(([m]) => m)).toEqual([
      '{% raw %} is never closed: its {% endraw %} is missing',
      expect.stringContaining('unknown block tag: verbatim'),
    ]);
  });

  it("reads Jinja's chained conditional expressions, in templates pipe's parser reads, in those Nunjucks' does and in a var's template", () => {
    const a = run({
      'dbt_project.yml': `${PROJECT}  depth: "{{ 9 if target.type in ['bigquery', 'spark'] else 4 if target.type in ['trino'] else -1 }}"\n`,
      'models/chain.sql': "select {{ 9 if target.type in ['bigquery'] else 4 if target.type == 'duckdb' else -1 }} as a, {{ 'x' if true if true else 'y' }} as b, {{ var('depth') | int }} as c",
      'models/with_macro.sql': "{% macro pick(t) %}{{ 1 if t == 'a' else 2 if t == 'b' else 3 }}{% endmacro %}select {{ pick('b') }} as v",
    });
    expect(sql(a, 'chain')).toBe('select 4 as a, x as b, -1 as c');
    expect(sql(a, 'with_macro')).toBe('select 2 as v');
  });

  it("reads a dict key that is an expression and a set of several values, as Jinja does, in templates pipe's parser reads and in those Nunjucks' does", () => {
    const template = `{% set cols = [{'name': 'ID', 'dtype': 'int'}, {'name': 'Label', 'dtype': 'text'}] %}{% set types = {} %}
{%- for c in cols %}{% do types.update({c.name | lower: c.dtype, 'n_' ~ loop.index: loop.index}) %}{% endfor -%}
{%- set first, second = cols[0].name, cols[1].name | upper -%}
select '{{ types | tojson }}' as types, '{{ first }}-{{ second }}' as pair`;
    const a = run({
      'models/plain.sql': template,
      'models/with_macro.sql': `{% macro unused() %}{% endmacro %}${template}`,
    });
    const expected = `select '{"id": "int", "label": "text", "n_1": 1, "n_2": 2}' as types, 'ID-LABEL' as pair`;
    expect(sql(a, 'plain')).toBe(expected);
    expect(sql(a, 'with_macro')).toBe(expected);
  });

  it("translates a column type's label as dbt-duckdb's api.Column does", () => {
    const a = run({ 'models/types.sql': `select {{ dbt.cast("'1900-01-01'", api.Column.translate_type('date')) }} as d, '{{ api.Column.translate_type('string') }}' as s` });
    expect(sql(a, 'types')).toBe(`select cast('1900-01-01' as date) as d, 'TEXT' as s`);
  });

  it('gives flags.FULL_REFRESH of the render, in a model and its hooks', () => {
    const a = run({
      'models/inc.sql': `{{ config(materialized='incremental', unique_key='id', post_hook="select {{ flags.FULL_REFRESH }}") }}
select 1 as id, {{ flags.FULL_REFRESH }} as full_refresh{% if is_incremental() and not flags.FULL_REFRESH %} -- new rows only{% endif %}`,
    });
    expect(errors(a)).toEqual([]);
    const render = (fullRefresh: boolean) => {
      const r = a.renderer.sql('inc', day, { tableExists: true, fullRefresh });
      if ('severity' in r) throw new Error(r.message);
      return r.sql;
    };
    expect(render(false)).toBe('\nselect 1 as id, False as full_refresh -- new rows only');
    expect(render(true)).toBe('\nselect 1 as id, True as full_refresh');
    const node = a.nodes.get('inc') as ModelNode;
    const hook = (fullRefresh: boolean) => a.renderer.hook('inc', node.config.post_hook[0], day, { tableExists: true, fullRefresh }, { schema: 'main', identifier: 'inc', database: 'warehouse' });
    expect([hook(false), hook(true)]).toEqual([{ sql: 'select False', refs: [] }, { sql: 'select True', refs: [] }]);
  });

  it("answers should_full_refresh() with the model's full_refresh config where it sets one, else flags.FULL_REFRESH", () => {
    const a = run({
      'models/plain.sql': `{{ config(materialized='table') }} select {{ should_full_refresh() }} as bare, {{ dbt.should_full_refresh() }} as namespaced`,
      'models/never.sql': `{{ config(materialized='table', full_refresh=false) }} select {{ should_full_refresh() }} as f`,
      'models/always.sql': `{{ config(materialized='table', full_refresh=true) }} select {{ should_full_refresh() }} as f`,
    });
    expect(errors(a)).toEqual([]);
    const render = (name: string, fullRefresh: boolean) => {
      const r = a.renderer.sql(name, day, { tableExists: true, fullRefresh });
      if ('severity' in r) throw new Error(r.message);
      return r.sql.trim();
    };
    expect([render('plain', false), render('plain', true)]).toEqual(['select False as bare, False as namespaced', 'select True as bare, True as namespaced']);
    expect([render('never', false), render('never', true)]).toEqual(['select False as f', 'select False as f']);
    expect([render('always', false), render('always', true)]).toEqual(['select True as f', 'select True as f']);
  });

  it("gives invocation_id and run_started_at of the run, and JSON, YAML and md5 as dbt's functions write them", () => {
    const a = run({
      'models/audit.sql': `select '{{ invocation_id }}' as run, '{{ run_started_at }}' as at, '{{ run_started_at.strftime("%Y-%m-%d %H:%M") }}' as minute,
  '{{ tojson({"b": [1, 2.5, none, true], "a": "é"}) }}' as j, '{{ {"b": 1, "a": "<x>"} | tojson }}' as jf,
  '{{ fromjson('{"k": [1, 2]}')["k"][1] }}' as fj, '{{ fromyaml("a: yes\\nd: 2024-01-02\\n")["d"] + modules.datetime.timedelta(days=1) }}' as fy,
  '{{ toyaml({"name": "x", "tags": ["a", "b"], "on": "yes", "n": {"k": 1.5}}) | replace("\\n", "|") }}' as y,
  '{{ zip(["a", "b"], [1, 2]) | list }}' as z, '{{ local_md5("pipe") }}' as md5`,
    });
    expect(sql(a, 'audit')).toBe(`select '20240102T030405-ab12' as run, '2024-01-02 03:04:05.678000+00:00' as at, '2024-01-02 03:04' as minute,
  '{"b": [1, 2.5, null, true], "a": "\\u00e9"}' as j, '{"a": "\\u003cx\\u003e", "b": 1}' as jf,
  '2' as fj, '2024-01-03' as fy,
  'name: x|tags:|- a|- b|'on': 'yes'|n:|  k: 1.5|' as y,
  '[('a', 1), ('b', 2)]' as z, '20826a3cb51d6c7d9c219c7f4bf4e5c9' as md5`);
  });

  it("runs a project's own ref() and source() over dbt's builtins, a relation moved with replace_path", () => {
    const a = run({
      'macros/overrides.sql': `{% macro ref(model_name) %}
  {%- set rel = builtins.ref(model_name) -%}
  {%- if model_name == 'a' -%}{% do return(rel.replace_path(schema='prod')) %}{%- endif -%}
  {%- do return(rel) -%}
{% endmacro %}
{% macro source(source_name, table_name) %}{% do return(builtins.source(source_name, table_name)) %}{% endmacro %}
`,
      'models/src.yml': 'version: 2\nsources:\n  - name: s\n    schema: raw\n    tables:\n      - name: t\n',
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "select * from {{ ref('a') }}",
      'models/c.sql': "select * from {{ ref('b') }} join {{ source('s', 't') }} using (id)",
    });
    // As dbt compile writes them (but for its database name before the schema).
    expect([sql(a, 'b'), sql(a, 'c')]).toEqual(['select * from "prod"."a"', 'select * from "main"."b" join "raw"."t" using (id)']);
    // What each reads is still known: the overridden ref() and source() went through dbt's own.
    expect([a.graph.upstream.get('b'), a.graph.upstream.get('c')]).toEqual([['a'], ['b', 's.t']]);
    const moved = run({
      'macros/overrides.sql': "{% macro ref(model_name) %}{% do return(builtins.ref(model_name).replace_path(database='other')) %}{% endmacro %}",
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "select * from {{ ref('a') }}",
    });
    expect(errors(moved).map(([message]) => message)).toEqual(["replace_path(database=...) is not supported by pipe: it reads and writes one warehouse"]);
  });

  it('says what log(msg, info=True) and print() say, drops log(msg) as dbt keeps it for its debug log, and warns for exceptions.warn()', () => {
    const a = run({
      'macros/audit.sql': "{% macro announce(what) %}{% do log('building ' ~ what, info=True) %}{% do log('debug only') %}{% endmacro %}\n",
      'models/a.sql': "{{ announce('a') }}{{ print('printed') }}\nselect 1 as id\n{% do exceptions.warn('a is deprecated') %}",
    });
    expect(sql(a, 'a')).toBe('\nselect 1 as id');
    expect(a.messages).toEqual(['building a', 'printed']);
    const warned = a.diagnostics.find((d) => d.code === 'template-warning')!;
    expect([warned.severity, warned.message, warned.location]).toEqual(['warning', 'a is deprecated', { file: 'models/a.sql', line: 3, column: 7 }]);
  });
});

describe("dbt's Jinja errors", () => {
  it('reports exceptions.raise_compiler_error() at its line in the macro, with the call in the model related', () => {
    const a = run({
      'macros/guard.sql': "{% macro require(value) %}\n  {%- if value is none -%}\n    {{ exceptions.raise_compiler_error('a value is required') }}\n  {%- endif -%}\n{% endmacro %}\n",
      'models/a.sql': "select 1 as id\n{{ require(none) }}",
    });
    const d = a.diagnostics.find((x) => x.severity === 'error')!;
    expect([d.message, d.location, d.related?.map((r) => [r.message, r.location])]).toEqual([
      'a value is required',
      { file: 'macros/guard.sql', line: 3, column: 8 },
      [['reached through require(), called here', { file: 'models/a.sql', line: 2, column: 4 }]],
    ]);
  });

  it("reads a loop's targets in parentheses, as Jinja does (Snowplow's `for (att, type) in ...`), in a model and in a macro", () => {
    const loops = "{% for (att, t) in [('x', 1), ('y', 2)] %}{{ t }} as {{ att }}{{ ',' if not loop.last }}{% endfor %}{% for (k) in [3] %}, {{ k }} as k{% endfor %}{% for a, b in [(1, 2)] %}, {{ a + b }} as s{% endfor %}";
    const a = run({ 'macros/m.sql': `{% macro cols() %}${loops}{% endmacro %}`, 'models/m.sql': `select ${loops}`, 'models/n.sql': 'select {{ cols() }}' });
    expect(sql(a, 'm')).toBe('select 1 as x,2 as y, 3 as k, 3 as s');
    expect(sql(a, 'n')).toBe('select 1 as x,2 as y, 3 as k, 3 as s');
  });

  it('keys a dict with None, a bool or a number as Python does (dbt_synth_data, dbt-assertions)', () => {
    const template = `{%- set m = {true: 'Afghanistan', false: 'United States', none: 'x', 2: 'two'} -%}
{%- set p = none -%}
{%- set r = {p: {'columns': []}} -%}
{%- do r[p]['columns'].append('a') -%}
{%- do r.update({3: 'three'}) -%}
select {% for k, v in m.items() %}{% if k is string %}'{% endif %}{{ k }}{% if k is string %}'{% endif %} as "{{ v }}", {% endfor %}'{{ r }}' as r, '{{ m[true] }}' as t, '{{ none in r }}' as n, '{{ m.get(2) }}' as g, '{{ m | length }}' as l, '{{ m.keys() | list }}' as ks, '{% for k in m %}{{ k }}|{% endfor %}' as loop, '{{ tojson(m) }}' as j, '{{ r.pop(3) }}{{ r | list }}' as popped, '{{ m == {none: 'x', true: 'Afghanistan', false: 'United States', 2: 'two'} }}' as eq`;
    const a = run({ 'models/keys.sql': template });
    // dbt-duckdb 1.11 compiles the same text.
    expect(sql(a, 'keys')).toBe(
      `select True as "Afghanistan", False as "United States", None as "x", 2 as "two", '{None: {'columns': ['a']}, 3: 'three'}' as r, 'Afghanistan' as t, 'True' as n, 'two' as g, '4' as l, '[True, False, None, 2]' as ks, 'True|False|None|2|' as loop, '{"true": "Afghanistan", "false": "United States", "null": "x", "2": "two"}' as j, 'three[None]' as popped, 'True' as eq`,
    );
    // |tojson sorts the keys, as Python's sorted(): numbers by value (datavault4dbt keys by loop.index); texts and numbers together cannot be compared.
    const sortedJson = run({ 'models/j.sql': "{% set d = {} %}{% for x in ['p', 'q', 'r'] %}{% do d.update({[10, 2, 1][loop.index0]: x}) %}{% endfor %}select '{{ d | tojson }}' as j, '{{ {true: 1, 0: 2} | tojson }}' as b" });
    expect(sql(sortedJson, 'j')).toBe(`select '{"1": "r", "2": "q", "10": "p"}' as j, '{"0": 2, "true": 1}' as b`);
    const mixed = run({ 'models/m.sql': "select '{{ {1: 'a', 'b': 2} | tojson }}' as j" });
    expect(errors(mixed).map(([m]) => m)).toEqual(["'<' not supported between instances of 'int' and 'str': tojson sorts a dict's keys, and keys of these kinds cannot be compared"]);
    // Python finds True for 1: pipe keeps them apart, and says so rather than find nothing.
    const twin = run({ 'models/twin.sql': "{% set m = {true: 'yes'} %}select '{{ m[1] }}' as v" });
    expect(errors(twin)).toEqual([['the dict has the key True, which Python finds for 1 and pipe keeps apart: key it with one of them', { file: 'models/twin.sql', line: 1, column: 39 }]]);
  });

  it("gives each model's render its own target, which a package's macros keep state in, as dbt makes each node's context afresh", () => {
    // dbt_synth_data's way: target is one of the few values a macro may change.
    const macros = `{% macro remember(col) %}{% set cols = target.get('cols') or [] %}{% do cols.append(col) %}{% do target.update({'cols': cols}) %}{% endmacro %}
{% macro remembered() %}{{ return((target.get('cols') or []) | join(', ')) }}{% endmacro %}`;
    const a = run({
      'macros/state.sql': macros,
      'models/first.sql': "{{ remember('a') }}{{ remember('b') }}select '{{ remembered() }}' as cols, '{{ target.name }}' as t",
      'models/second.sql': "{{ remember('c') }}select '{{ remembered() }}' as cols, {{ target.get('cols') | length }} as n",
    });
    expect(sql(a, 'first')).toBe("select 'a, b' as cols, 'default' as t");
    expect(sql(a, 'second')).toBe("select 'c' as cols, 1 as n");
    // Rendered again (as it runs), a model starts from the target as the profile gives it.
    expect(sql(a, 'second')).toBe("select 'c' as cols, 1 as n");
  });

  it("gives each render dbt's context as a dict: what a name means there, and a store its macros share, which reaches no other model", () => {
    // dbt-unit-testing's way: a cache kept in the context, written by one macro and read by another.
    const macros = `{% macro keep(key, value) %}{% set cache = context.get('__cache__', {}) %}{% do cache.update({key: value}) %}{% do context.update({'__cache__': cache}) %}{% endmacro %}
{% macro kept(key) %}{{ return(context.get('__cache__', {}).get(key, 'none')) }}{% endmacro %}
{% macro shout(x) %}{{ return(x | upper) }}{% endmacro %}`;
    const a = run({
      'macros/store.sql': macros,
      'models/first.sql': "{{ keep('k', 1) }}{{ keep('j', 2) }}select '{{ kept('k') }}{{ kept('j') }}' as v, '{{ context.get('shout')('x') }}' as m, '{{ context['target'].name }}' as t, '{{ context.get('nothing', 'd') }}' as d, '{{ 'this' in context }}{{ 'nothing' in context }}' as has",
      'models/second.sql': "select '{{ kept('k') }}' as v",
    });
    expect(sql(a, 'first')).toBe("select '12' as v, 'X' as m, 'default' as t, 'd' as d, 'TrueFalse' as has");
    expect(sql(a, 'second')).toBe("select 'none' as v");
  });

  it("reads the node's model in a package's macros even where the package defines a macro named model, as dbt renders each macro with the node's context", () => {
    const a = run({
      'dbt_packages/kit/dbt_project.yml': "name: kit\nversion: '1.0'\nconfig-version: 2\n",
      'dbt_packages/kit/macros/kit.sql':
        "{% macro model() %}{{ return('the macro') }}{% endmacro %}\n{% macro who() %}{{ return(model.unique_id) }}{% endmacro %}\n" +
        // An option not given is Undefined, '' to the text filters in a package, as in Jinja (dbt-unit-testing's `options.input_format | lower`).
        "{% macro is_csv(options) %}{{ return(options.input_format | lower == 'csv') }}{% endmacro %}\n",
      'models/m.sql': "select '{{ kit.who() }}' as id, '{{ kit.model() }}' as called, {{ kit.is_csv({}) }} as csv, {{ kit.is_csv({'input_format': 'CSV'}) }} as given",
    });
    expect(sql(a, 'm')).toBe("select 'model.shop.m' as id, 'the macro' as called, False as csv, True as given");
    // The project's own templates still refuse it: a misspelt name is found.
    expect(errors(run({ 'models/m.sql': "{% set o = {} %}select '{{ o.input_format | lower }}' as f" })).length).toBe(1);
  });

  it("renders text as a template where render() is called, in the caller's context, as dbt's render() does", () => {
    const a = run({
      'macros/twice.sql': "{% macro twice(x) %}{{ return(x * 2) }}{% endmacro %}",
      'models/r.sql': "{% set code = \"select {{ twice(21) }} as n, '{{ this.identifier }}' as me\" %}{{ render(code) }}",
    });
    expect(sql(a, 'r')).toBe("select 42 as n, 'r' as me");
    expect(errors(run({ 'models/bad.sql': '{{ render(42) }}' }))).toEqual([['render() takes one text, the template to render; got int', { file: 'models/bad.sql', line: 1, column: 4 }]]);
  });

  it("stops macros that call each other without end with an error at the macro, as Python's recursion limit does", () => {
    const a = run({
      'macros/ping.sql': '{% macro ping(n) %}{{ return(pong(n + 1)) }}{% endmacro %}',
      'macros/pong.sql': '{% macro pong(n) %}{{ return(ping(n + 1)) }}{% endmacro %}',
      'models/a.sql': 'select {{ ping(1) }} as n',
    });
    expect(errors(a)).toEqual([[expect.stringContaining('ping() is called inside itself more than 200 deep'), { file: 'macros/pong.sql', line: 1, column: 30 }]]);
  });

  it('says a chain of 250 macros none of which calls itself nests too deep, not that one calls itself', () => {
    const macros = Object.fromEntries(
      Array.from({ length: 250 }, (_, i) => [`macros/m${i}.sql`, `{% macro m${i}() %}{{ return(${i === 249 ? "'end'" : `m${i + 1}()`}) }}{% endmacro %}`]),
    );
    const a = run({ ...macros, 'models/a.sql': 'select {{ m0() }} as n' });
    expect(errors(a).map(([m]) => m)).toEqual([
      "macro calls nest more than 200 deep (m0() → m1() → m2() → … → m198() → m199() → m200()), none calling itself: dbt's Python stops such a chain too",
    ]);
  });

  it('stops a macro that calls itself in its own file the same way, at the call, with the call in the model related', () => {
    const a = run({
      'macros/fact.sql': '{% macro fact(n) %}\n  {%- if n > 0 -%}\n    {{ n * fact(n) }}\n  {%- endif -%}\n{% endmacro %}',
      'models/a.sql': 'select {{ fact(3) }} as n',
    });
    const d = a.diagnostics.find((x) => x.severity === 'error')!;
    expect([d.message, d.location, d.related?.map((r) => [r.message, r.location])]).toEqual([
      'fact() is called inside itself more than 200 deep: it calls itself (or a macro that calls it) without end',
      { file: 'macros/fact.sql', line: 3, column: 12 },
      [['reached through fact(), called here', { file: 'models/a.sql', line: 1, column: 11 }]],
    ]);
  });

  it('reports a template nested deeper than the stack holds at its file, in words', () => {
    const a = run({ 'models/a.sql': `select {{ ${'('.repeat(3000)}1${')'.repeat(3000)} }} as n` });
    expect(errors(a)).toEqual([
      ['the template nests too deep to be read: expressions, parentheses or tags inside one another hundreds deep; split it (e.g. with {% set %})', { file: 'models/a.sql' }],
    ]);
  });

  it('names the macro the model called, not the one that failed inside it, as the call a failure was reached through', () => {
    const a = run({
      'macros/outer.sql': '{% macro outer() %}{{ inner() }}{% endmacro %}',
      'macros/inner.sql': "{% macro inner() %}\n{{ exceptions.raise_compiler_error('no') }}{% endmacro %}",
      'models/a.sql': 'select 1 as id\n-- {{ outer() }}',
    });
    const d = a.diagnostics.find((x) => x.severity === 'error')!;
    expect([d.location, d.related?.map((r) => [r.message, r.location])]).toEqual([
      { file: 'macros/inner.sql', line: 2, column: 4 },
      [['reached through outer(), called here', { file: 'models/a.sql', line: 2, column: 7 }]],
    ]);
  });

  it('reports what Python would raise, and what pipe cannot do, at the line and column of the expression', () => {
    const a = run({
      'models/types.sql': "select 1 as id,\n  {{ 1 + 'a' }} as x",
      'models/undefined.sql': "select '{{ 'v_' ~ versionn }}' as x",
      'models/method.sql': "select 1 as id\n-- {{ 'abc'.encode('utf8') }}",
      'models/tz.sql': "{% set est = modules.pytz.timezone('America/New_Yrok') %}select 1 as id",
      'models/regex.sql': "select 1 as id\n  {{ modules.re.sub('(?i:a)b', 'x', 'ab') }}",
      'models/outside.sql': 'select 1 as id\n{{ return(1) }}',
      'models/loop.sql': 'select 1 as id\n{% break %}',
    });
    expect(errors(a).sort((x, y) => JSON.stringify(x[1]).localeCompare(JSON.stringify(y[1])))).toEqual([
      ['{% break %} outside a for loop', { file: 'models/loop.sql', line: 2, column: 4 }],
      ['abc.encode() is not defined', { file: 'models/method.sql', line: 2, column: 7 }],
      ['return() ends a macro, and is used here outside one', { file: 'models/outside.sql', line: 2, column: 4 }],
      [
        "the regular expression '(?i:a)b' uses flags for part of the pattern (?flags:...), which pipe cannot translate to its regex engine",
        { file: 'models/regex.sql', line: 2, column: 6 },
      ],
      ["unsupported operand type(s) for +: 'int' and 'str'", { file: 'models/types.sql', line: 2, column: 6 }],
      ["modules.pytz.timezone('America/New_Yrok'): unknown time zone (UnknownTimeZoneError); zones are named as in the time zone database, e.g. 'America/Los_Angeles'", { file: 'models/tz.sql', line: 1, column: 14 }],
      ["an undefined value (an unknown variable or attribute) is used with '~'", { file: 'models/undefined.sql', line: 1, column: 12 }],
    ]);
  });
});
