import { describe, expect, it } from 'vitest';
import { RenderFailure, TemplateEngine, type RenderHooks } from '../../src/analyze/template-engine.js';

/**
 * How macros take their arguments and calls pass them, as Jinja does (what dbt's packages
 * rely on): `varargs` and `kwargs` in a macro's body, `*list` and `**dict` in calls and in
 * `caller()`, a comma after the last item, and Jinja's errors for arguments a macro does not
 * take. The expected text is what dbt-core 1.11's Jinja renders from the same template.
 */

const engine = new TemplateEngine([], [], { invocation: { id: 'run', startedAt: 0 } });
const hooks: RenderHooks = {
  variables: {},
  ref: (n) => `\u0000${n}\u0000`,
  source: (s, t) => `${s}.${t}`,
  config: () => {},
  var: (_n, fallback) => fallback,
  isIncremental: () => false,
};

function render(source: string): string {
  const compiled = engine.compile('models/m.sql', source);
  if ('severity' in compiled) throw new Error(`${compiled.message} at ${JSON.stringify(compiled.location)}`);
  try {
    return engine.render(compiled, hooks).trim();
  } catch (e) {
    if (e instanceof RenderFailure) throw new Error(`${e.diagnostic.message} at ${JSON.stringify(e.diagnostic.location)}`);
    throw e;
  }
}

const AS_DBT_RENDERS: readonly (readonly [name: string, template: string, dbt: string])[] = [
  [
    'a macro reading varargs and kwargs takes what its parameters do not',
    "{% macro m(a, b=2) %}{{ a }}|{{ b }}|{{ varargs }}|{{ kwargs }}{% endmacro %}{{ m(1, 5, 6, 7, x=8) }} {{ m(1) }} {{ m(a=0, y='z') }}",
    "1|5|(6, 7)|{'x': 8} 1|2|()|{} 0|2|()|{'y': 'z'}",
  ],
  [
    'kwargs.get() reads keyword arguments, as dbt_utils tests do',
    "{% macro t(model) %}{{ kwargs.get('column_name', kwargs.get('arg')) }}-{{ kwargs.get('at_least', 1) }}{% endmacro %}{{ t('m', column_name='c') }} {{ t('m', arg='a', at_least=0.9) }}",
    'c-1 a-0.9',
  ],
  [
    'a call spreads a list and a dict into the arguments',
    "{% macro m(a, b, c=3, d=4) %}{{ [a, b, c, d] }}{% endmacro %}{% set l = [1, 2] %}{% set d = {'d': 'x'} %}{{ m(*l) }} {{ m(0, *[9], c=7, **d) }} {{ m(**{'a': 'p', 'b': 'q'}) }} {{ m(*('s', 't'), **{}) }}",
    "[1, 2, 3, 4] [0, 9, 7, 'x'] ['p', 'q', 3, 4] ['s', 't', 3, 4]",
  ],
  [
    'a macro passes on its own varargs and kwargs',
    "{% macro inner(a, b=0, c=0) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{% macro outer(a) %}{{ inner(a, *varargs, **kwargs) }}{% endmacro %}{{ outer(1, 2, c=3) }} {{ outer(4) }}",
    '123 400',
  ],
  [
    'functions and filters take spread arguments too',
    "{{ dict(b=2, **{'a': 1}) }} {{ range(*[1, 4]) | list }} {{ 'a-b-c' | replace(*['-', '+']) }} {{ '{}{}'.format(*'xy') }}",
    "{'b': 2, 'a': 1} [1, 2, 3] a+b+c xy",
  ],
  [
    'caller() passes arguments to the call block, spread or not',
    "{% macro each(items) %}{% for i in items %}{{ caller(*i) }}{% endfor %}{% endmacro %}{% call(k, v) each([['a', 1], ['b', 2]]) %}{{ k }}={{ v }};{% endcall %} {% macro kw() %}{{ caller(**kwargs) }}{% endmacro %}{% call(x, y=0) kw(x=5) %}{{ x + y }}{% endcall %}",
    'a=1;b=2; 5',
  ],
  [
    "a call block with arguments inside a {% set %} block, as dbt renders it",
    "{% macro each_col(cols) %}{% for c in cols %}{{ caller(c, loop.index) }}{{ ',' if not loop.last }}{% endfor %}{% endmacro %}{% set cols %}{% call(c, i) each_col(['a', 'b']) %}{{ i }} as {{ c }}{% endcall %}{% endset %}select {{ cols }} {% set x, y = 1, 2 %}{{ x + y }}",
    'select 1 as a,2 as b 3',
  ],
  [
    'a comma may follow the last argument, list item or dict item; (a,) is a tuple',
    "{% macro m(a, b,) %}{{ a }}{{ b }}{% endmacro %}{{ m(1, 2,) }} {{ [1, 2,] }} {{ {'a': 1,} }} {{ (1,) }} {{ (1) }} {{ ('a', 'b',) }}",
    "12 [1, 2] {'a': 1} (1,) 1 ('a', 'b')",
  ],
  [
    "a macro's default may use the parameters before it, and is computed at each call",
    "{% macro m(a, b=a * 2, c=[]) %}{% do c.append(a) %}{{ b }}{{ c }}{% endmacro %}{{ m(1) }} {{ m(2) }}",
    '2[1] 4[2]',
  ],
  [
    "set() holds distinct items and equals a set with the same ones; set()'s default for what is not iterable",
    "{{ set(['b', 'a', 'b']) }} {{ set(['a', 'b']) == set(['b', 'a']) }} {{ set(['a']) != set(['a', 'c']) }} {{ set(1, default='no') }} {{ 'a' in set(['a']) }} {{ set([1, 2]).difference([2]) }} {{ set([]) | length }}",
    "{'b', 'a'} True True no True {1} 0",
  ],
  [
    'ref() is a relation dbt packages recognise: a mapping naming its type',
    "{% set r = ref('orders') %}{{ r is mapping }} {{ r.get('metadata', {}).get('type', '').endswith('Relation') }} {{ r.name }} {{ r.identifier }}",
    'True True orders orders',
  ],
  ['flags: the command, no full refresh, no --empty, no stored failures', '{{ flags.WHICH }} {{ flags.FULL_REFRESH }} {{ flags.EMPTY }} {{ flags.STORE_FAILURES }}', 'build False False False'],
];

describe('macro arguments as dbt renders them', () => {
  it.each(AS_DBT_RENDERS)('%s', (_name, template, dbt) => {
    expect(render(template)).toBe(dbt);
  });
});

describe('arguments Jinja refuses', () => {
  const refused: readonly (readonly [string, string, string])[] = [
    ['too many positional arguments', '{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}', "macro 'm' takes not more than 1 argument(s)"],
    ['a keyword the macro does not name', '{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, b=2) }}', "macro 'm' takes no keyword argument 'b'"],
    ['an argument given twice', '{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, a=2) }}', "macro 'm' got multiple values for argument 'a'"],
    ['a spread keyword given twice', "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(a=1, **{'a': 2}) }}", "got multiple values for keyword argument 'a'"],
    ['*number', '{% macro m(a) %}{{ a }}{% endmacro %}{{ m(*1) }}', 'argument after * must be an iterable, not int'],
    ['**list', '{% macro m(a) %}{{ a }}{% endmacro %}{{ m(**[1]) }}', 'argument after ** must be a mapping, not list'],
    ['a flag pipe does not have', '{{ flags.LOG_PATH }}', 'flags.LOG_PATH is not supported by pipe'],
  ];
  it.each(refused)('%s', (_name, template, message) => {
    expect(() => render(template)).toThrow(message);
  });

  it('refuses misplaced spreads when the template is read, at their line', () => {
    expect(() => render('{{ f(**a, *b) }}')).toThrow(/invalid order of arguments.*"line":1/);
    expect(() => render('{{ f(a=1, 2) }}')).toThrow(/invalid order of arguments/);
    expect(() => render("{{ f(**{'a': 1}, b=2) }}")).toThrow(/invalid order of arguments/);
    expect(() => render('\n{% macro m(*a) %}{% endmacro %}')).toThrow(/a macro's parameters are names.*"line":2/);
  });
});
