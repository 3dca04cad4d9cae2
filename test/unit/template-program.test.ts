import { describe, expect, it } from 'vitest';
import { RenderFailure, TemplateEngine, type CompiledTemplate, type MacroPackages, type RenderHooks } from '../../src/analyze/template-engine.js';
import type { TemplateMessage } from '../../src/analyze/jinja/surface.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { Random } from '../support/random.js';
import { programFromNunjucks, quickProgram } from '../../src/analyze/jinja/program.js';
import { parseTemplate } from '../../src/analyze/jinja/template-parser.js';
import { isProgram } from '../../src/analyze/jinja/program-check.js';

/**
 * A template that is not simple runs as a program (jinja/program.ts, jinja/run-program.ts)
 * instead of as the JavaScript Nunjucks' compiler writes, and must give exactly what that
 * code gives. Generated templates use every statement and expression programs cover, with
 * the near misses they leave to Nunjucks (macros and call blocks in the template, includes,
 * syntax errors) and every kind of failure (undefined names, type errors, a macro that
 * raises, a misplaced break); each is compiled and rendered by an engine with programs and
 * by one without, as a project's own template and as an installed package's, and everything
 * observable is compared: the text or the diagnostic, ref(), source() and config() calls in
 * order, and what log() reported.
 */

const NAMES = ['ds', 'xs', 'd', 's', 'n', 'nil', 'missing', 'flag', 'nested'];

/** Fresh each render: a template may change them (`xs.append(1)`). */
function variables(): Record<string, unknown> {
  return { ds: '2024-01-02', xs: [1, 2, 3], d: { a: 1, b: 2 }, s: 'abc', n: 3, nil: null, missing: undefined, flag: false, nested: [[1, 'a'], [2, 'b']], this: '"main"."m"' };
}

const MACROS = `{% macro m_add(a, b=10) %}{{ a + b }}{% endmacro %}
{% macro m_join(items, sep=', ') %}{% for i in items %}{{ i }}{{ sep if not loop.last }}{% endfor %}{% endmacro %}
{% macro m_kw(a) %}{{ a }}|{{ kwargs }}|{{ varargs }}{% endmacro %}
{% macro m_ref(name) %}{{ ref(name) }}{% endmacro %}
{% macro m_fail() %}{{ exceptions.raise_compiler_error('m_fail failed') }}{% endmacro %}
{% macro m_ret(x) %}{{ return(x * 2) }}{% endmacro %}
{% macro m_call() %}[{{ caller() }}]{% endmacro %}
{% macro m_log(msg) %}{% do log(msg, info=true) %}logged{% endmacro %}
`;

class Source {
  private depth = 0;
  private loops = 0;
  /** Whether the template may use what mostly fails (undefined names, bad calls): most templates do not, so that most render. */
  private readonly risky: boolean;
  constructor(private readonly r: Random) {
    this.risky = r.chance(0.35);
  }

  /** One of `safe`, or when the template is risky one of either. */
  private choose<T>(safe: readonly T[], risky: readonly T[]): T {
    return this.r.pick(this.risky ? [...safe, ...risky] : safe);
  }

  private ws(): string {
    return this.r.pick(['', ' ', ' ', '  ', '\n']);
  }

  private string(): string {
    return this.r.pick(["'a'", '"b"', "''", "'x y'", "'a,b'", "'\\n'", "'\\d+'", "'é'", "'upper'", ...(this.r.chance(0.05) ? ["'it''s'", "'__proto__'"] : [])]);
  }

  private atom(): string {
    switch (this.r.int(9)) {
      case 0:
        return this.string();
      case 1:
        return this.r.pick(['0', '1', '2', '7', '-1', '3.5', '1e3', '1_000', '12345678901234567890']);
      case 2:
        return this.r.pick(['true', 'false', 'True', 'none', 'None']);
      case 3:
        return `[${this.list()}]`;
      case 4:
        return this.r.pick([`{${this.string()}: ${this.expr()}}`, `{'a': 1, 'b': ${this.expr()}}`, `{s: 1}`, '{}', `{'a': 1,}`, ...(this.r.chance(0.1) ? ['{1: 2}', "{'__proto__': 1}"] : [])]);
      case 5:
        return this.r.pick([`(${this.expr()})`, `(${this.expr()},)`, `(${this.expr()}, ${this.expr()})`, '()']);
      default:
        return this.choose(['ds', 'xs', 'd', 's', 'n', 'flag', 'nested', 'this', ...(this.loops > 0 ? ['x', 'loop'] : [])], ['nil', 'missing', 'x', 'y', 'k', 'v', 'loop', 'ns', 'undefined_thing', 'caller']);
    }
  }

  private list(): string {
    return Array.from({ length: this.r.int(4) }, () => this.expr()).join(', ') + (this.r.chance(0.05) ? ',' : '');
  }

  private call(): string {
    // Each alternative a function: only the one picked is generated (and draws random numbers).
    return this.choose<() => string>([
      () => `ref(${this.string()})`,
      () => `ref('a')`,
      () => `ref('pkg', 'a')`,
      () => `source('raw', ${this.string()})`,
      () => `config(materialized=${this.r.pick(["'table'", "'view'", 'n'])})`,
      () => `config(tags=[${this.list()}])`,
      () => `var('v', ${this.expr()})`,
      () => 'is_incremental()',
      () => `m_add(${this.r.pick(['1', 'n', '2.5'])})`,
      () => `m_add(n, ${this.r.pick(['1', 'n', '-3'])})`,
      () => 'm_add(a=n, b=2)',
      () => `m_join(${this.r.pick(['xs', 'd', 's', '[1, 2]', 'range(n)'])})`,
      () => `m_join(xs, sep=${this.string()})`,
      () => `m_kw(1, 2, z=${this.expr()})`,
      () => `m_ref(${this.string()})`,
      () => `m_ret(${this.r.pick(['n', '2', "'ab'", 'xs'])})`,
      () => `m_log(${this.expr()})`,
      () => `range(${this.r.pick(['3', 'n', '0', '1, 5, 2'])})`,
      () => 'namespace(c=0)',
      () => `log(${this.expr()})`,
      () => 'm_add(*[1, 2])',
      () => "m_add(**{'a': 1, 'b': 2})",
      () => 'm_kw(*[1, 2], **d)',
      () => `dict(a=${this.expr()})`,
      () => 'zip(xs, nested)',
      () => 's.upper()',
      // Not inside a loop, which may be over xs: it would never end.
      () => (this.loops > 0 ? 'xs.copy()' : `xs.append(${this.expr()})`),
      () => `d.get(${this.string()}, ${this.expr()})`,
      () => 'd.items()',
      () => `s.split(${this.string()})`,
    ], [
      () => `var('unset')`,
      () => `m_add(${this.expr()}, ${this.expr()})`,
      () => `m_add(1, c=2)`,
      () => `m_join(${this.expr()})`,
      () => 'm_fail()',
      () => `m_ret(${this.expr()})`,
      () => "range('a')",
      () => `undefined_fn(${this.expr()})`,
      () => 'm_add(*xs)',
      () => `zip(xs, ${this.expr()})`,
      () => `${this.atom()}(1)`,
      () => 'none()',
      () => `exceptions.raise_compiler_error(${this.string()})`,
    ])();
  }

  private postfix(target: string): string {
    return (
      target + this.choose(['[0]', '[-1]', '[1:]', '[:2]', '[::2]', '.index', '.last', '.first', '.length', '.index0', '.revindex'], ['.upper()', '.a', '.x', "['a']", '[n]', '.items()', '.c', '[x]'])
    );
  }

  expr(): string {
    if (this.depth > 3) return this.atom();
    this.depth++;
    try {
      switch (this.r.int(14)) {
        case 0:
        case 1:
          return this.atom();
        case 2:
          return this.call();
        case 3:
          return this.postfix(this.choose(['xs', 's', 'nested', ...(this.loops > 0 ? ['loop'] : [])], [...NAMES, 'loop', 'ns', 'x', this.atom()]));
        case 4:
          return this.risky ? `${this.expr()} ${this.r.pick(['+', '-', '*', '/', '//', '%', '**', '~'])} ${this.expr()}` : this.r.chance(0.5) ? `${this.expr()} ~ ${this.expr()}` : `n ${this.r.pick(['+', '-', '*', '/', '//', '%', '**'])} ${this.r.pick(['1', '2', 'n', '0.5', '(n - 1)'])}`;
        case 5:
          if (!this.risky) return `${this.r.pick(['n', '1', 'xs | length'])} ${this.r.pick(['==', '!=', '<', '<=', '>', '>='])} ${this.r.pick(['n', '2', '(n + 1)'])}${this.r.chance(0.2) ? ' < 5' : ''}`;
          return `${this.expr()} ${this.r.pick(['==', '!=', '<', '<=', '>', '>='])} ${this.expr()}${this.r.chance(0.2) ? ` < ${this.expr()}` : ''}`;
        case 6:
          if (!this.risky) return this.r.pick(['1 in xs', "'a' not in s", "'a' in d", 'n in [1, 2, 3]', "'b' in 'abc'"]);
          return `${this.expr()} ${this.r.pick(['in', 'not in'])} ${this.expr()}`;
        case 7:
          // Parenthesized: a test's argument is a primary, so `a is odd + 1` does not parse.
          return `(${this.expr()} is ${this.r.pick(['defined', 'none', 'number', 'string', 'not sameas false', 'iterable', 'mapping', ...(this.risky ? ['divisibleby 2', 'odd', 'unknown_test', 'in xs', 'eq(1)'] : [])])})`;
        case 8:
          return this.risky ? `${this.r.pick(['not ', '-', '+'])}${this.expr()}` : this.r.pick([`not ${this.expr()}`, '-n', '+n', '-(n * 2)']);
        case 9:
          return `${this.expr()} ${this.r.pick(['and', 'or'])} ${this.expr()}`;
        case 10:
          return this.r.chance(0.7) ? `${this.expr()} if ${this.expr()} else ${this.expr()}` : `${this.expr()} if ${this.expr()}`;
        case 11:
          return this.risky
            ? `${this.expr()} | ${this.r.pick(['upper', "join(',')", 'length', "default('z')", 'int', "replace('a', 'b')", 'first', 'list', 'unknown_filter', 'sqlstring', 'ident', 'tojson', 'sort', 'trim', 'string'])}`
            : `${this.r.pick(['xs', 's', 'd', 'nested', 'n', this.expr()])} | ${this.r.pick(["join(',')", 'length', "default('z')", 'list', 'sqlstring', 'tojson', 'string', 'first'])}`;
        case 12:
          return `(${this.expr()})`;
        default:
          return this.call();
      }
    } finally {
      this.depth--;
    }
  }

  private text(): string {
    return this.r.pick(['select ', 'from t ', '\n', '  ', ', ', "'", '-- c\n', '}', '{ x }', '%', '#', 'é']);
  }

  private out(): string {
    return `${this.r.chance(0.08) ? '{{-' : '{{'}${this.ws() || ' '}${this.expr()}${this.ws() || ' '}${this.r.chance(0.08) ? '-}}' : '}}'}`;
  }

  private tag(body: string): string {
    return `${this.r.chance(0.15) ? '{%-' : '{%'} ${body} ${this.r.chance(0.15) ? '-%}' : '%}'}`;
  }

  private statement(): string {
    if (this.depth > 2) return this.r.chance(0.5) ? this.text() : this.out();
    this.depth++;
    try {
      switch (this.r.int(16)) {
        case 0:
        case 1:
        case 2:
          return this.text();
        case 3:
        case 4:
        case 5:
          return this.out();
        case 6:
          return this.tag(`set ${this.r.pick(['x', 'y', 'n', 'xs', '_p', 'ns', 's'])} = ${this.expr()}`);
        case 7:
          return this.r.pick([
            this.tag(`set a, b = ${this.r.pick(['(1, 2)', 'xs', '[3, 4]', 'nested[0]', 'n'])}`) + this.out(),
            `${this.tag('set ns = namespace(c=0)')}${this.tag(`set ns.c = ns.c + ${this.expr()}`)}{{ ns.c }}`,
            `${this.tag('set cap')}${this.body()}${this.tag('endset')}{{ cap }}`,
            this.tag(`do ${this.expr()}`),
            this.tag(`set ${this.expr()} = 1`),
          ]);
        case 8:
        case 9: {
          let s = `${this.tag(`if ${this.expr()}`)}${this.body()}`;
          if (this.r.chance(0.3)) s += `${this.tag(`elif ${this.expr()}`)}${this.body()}`;
          if (this.r.chance(0.4)) s += `${this.tag('else')}${this.body()}`;
          return `${s}${this.tag('endif')}`;
        }
        case 10:
        case 11: {
          const head = this.r.pick(['x in xs', `x in ${this.expr()}`, 'k, v in d.items()', 'k, v in d', 'a, b in nested', 'a, b, c in nested', 'x in range(n)', 'x in s', 'y in nested']);
          this.loops++;
          let s = `${this.tag(`for ${head}`)}${this.body()}`;
          this.loops--;
          if (this.r.chance(0.25)) s += `${this.tag('else')}${this.body()}`;
          return `${s}${this.tag('endfor')}`;
        }
        case 12:
          if (this.loops > 0 || this.r.chance(0.1)) return this.r.chance(0.5) ? this.tag(this.r.pick(['break', 'continue'])) : `${this.tag(`if ${this.expr()}`)}${this.tag(this.r.pick(['break', 'continue']))}${this.tag('endif')}`;
          return this.out();
        case 13:
          return `${this.tag(`filter ${this.r.pick(['upper', 'trim', 'unknown_filter'])}`)}${this.body()}${this.tag('endfilter')}`;
        case 14:
          if (this.r.chance(0.6)) return this.out();
          return this.r.pick([
            `{% macro inline(p) %}<{{ p }}>{% endmacro %}{{ inline(${this.expr()}) }}`,
            `{% call m_call() %}${this.body()}{% endcall %}`,
            '{% raw %}{{ x }}{% endraw %}',
            '{# a comment #}',
            '{% include "other.sql" %}',
            '{{ x ',
            '{% if x %}',
            '{% endfor %}',
            '{% set %}',
          ]);
        default:
          return this.out();
      }
    } finally {
      this.depth--;
    }
  }

  private body(): string {
    return Array.from({ length: 1 + this.r.int(3) }, () => this.statement()).join('');
  }

  template(): string {
    return Array.from({ length: 1 + this.r.int(6) }, () => this.statement()).join('');
  }
}

interface Observed {
  readonly compiled?: Diagnostic;
  readonly rendered?: string;
  readonly failure?: Diagnostic;
  readonly calls: string[];
  readonly configs: unknown[];
  readonly messages: TemplateMessage[];
}

function observe(engine: TemplateEngine, source: string, pkg: string | undefined): Observed & { program: boolean } {
  const compiled = engine.compile(pkg ? 'pkg/models/m.sql' : 'models/m.sql', source, pkg);
  if (!('source' in compiled)) return { compiled, calls: [], configs: [], messages: [], program: false };
  const calls: string[] = [];
  const configs: unknown[] = [];
  const messages: TemplateMessage[] = [];
  const hooks: RenderHooks = {
    variables: variables(),
    ref: (name) => {
      calls.push(`ref:${name}`);
      return `"main"."${name}"`;
    },
    source: (source, table) => {
      calls.push(`source:${source}.${table}`);
      return `"${source}"."${table}"`;
    },
    config: (keywords) => configs.push(structuredClone(keywords)),
    var: (name, fallback, hasFallback) => {
      calls.push(`var:${name}`);
      if (hasFallback) return fallback;
      throw new Error(`var '${name}' is not set`);
    },
    isIncremental: () => {
      calls.push('is_incremental');
      return true;
    },
    report: (m) => messages.push(m),
  };
  const program = (compiled as CompiledTemplate).program !== undefined;
  try {
    return { rendered: engine.render(compiled, hooks), calls, configs, messages, program };
  } catch (e) {
    if (!(e instanceof RenderFailure)) throw e;
    return { failure: e.diagnostic, calls, configs, messages, program };
  }
}

/**
 * `work` with the errors it makes carrying no stack. Nunjucks formats a stack for every error
 * it makes (each syntax error, each failing render, each layer it wraps one in), and vitest
 * maps each frame of it through source maps: a seventh of this file's time. What is compared
 * here is what pipe makes of an error (its diagnostic), which reads no stack; an assertion
 * that fails is outside, with its stack.
 */
function stackless<T>(work: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return work();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function engines(): { programs: TemplateEngine; reference: TemplateEngine } {
  const macros = [{ file: 'macros/m.sql', source: MACROS }];
  const packages: MacroPackages = {
    project: 'proj',
    installed: [{ name: 'pkg', macros: [{ file: 'pkg/macros/p.sql', source: '{% macro p_twice(x) %}{{ x }}{{ x }}{% endmacro %}' }], nodes: new Set(['a']) }],
    builtin: [],
    searchOrders: new Map(),
  };
  const invocation = { id: 'inv', startedAt: 0 };
  return {
    programs: new TemplateEngine(macros, NAMES, { packages, invocation }),
    reference: new TemplateEngine(macros, NAMES, { packages, invocation, programs: false }),
  };
}

describe('templates run as programs', () => {
  it('give every generated template exactly what Nunjucks gives, as a project template and as a package one', () => {
    const { programs, reference } = engines();
    let ran = 0;
    let failed = 0;
    // PROGRAM_CASES=40000 (and --testTimeout) for a longer search.
    const cases = Number(process.env.PROGRAM_CASES ?? 2500);
    for (let seed = 1; seed <= cases; seed++) {
      const source = new Source(new Random(seed)).template();
      const pkg = seed % 3 === 0 ? 'pkg' : undefined;
      const { program, ...got } = stackless(() => observe(programs, source, pkg));
      const { program: _, ...want } = stackless(() => observe(reference, source, pkg));
      expect(got, `seed ${seed}${pkg ? ' (package)' : ''}: ${JSON.stringify(source)}`).toEqual(want);
      if (program) {
        ran++;
        if (got.failure) failed++;
      }
    }
    // Both sides of the line, and both outcomes of a program, are exercised.
    expect(ran).toBeGreaterThan(cases * 0.5);
    expect(ran).toBeLessThan(cases * 0.95);
    expect(failed).toBeGreaterThan(ran * 0.1);
    expect(failed).toBeLessThan(ran * 0.9);
  });

  it("are read by pipe's parser exactly as from Nunjucks' tree, for every template it takes", () => {
    let taken = 0;
    const cases = Number(process.env.PROGRAM_CASES ?? 2000);
    const sources = [...Array.from({ length: cases }, (_, i) => new Source(new Random(100_000 + i)).template()), ...HANDWRITTEN];
    for (const [i, source] of sources.entries()) {
      for (const throwOnUndefined of [true, false]) {
        const opts = { throwOnUndefined };
        const tree = stackless(() => parseTemplate(source, opts));
        const reference = stackless(() => programFromNunjucks(source, 'models/m.sql', opts));
        if (tree) {
          taken++;
          // What it takes, Nunjucks parses to the same program (or both have none: a node programs do not cover).
          expect(stackless(() => quickProgram(source, opts)), `case ${i}: ${JSON.stringify(source)}`).toEqual(reference);
        }
      }
    }
    // It takes most templates that have a program (the rest go to Nunjucks' parser).
    const withProgram = sources.filter((source) => stackless(() => programFromNunjucks(source, 'models/m.sql', { throwOnUndefined: true }))).length;
    expect(taken / 2).toBeGreaterThan(withProgram * 0.7);
  });
});

/** Forms a generator makes rarely: whitespace control everywhere, comments, escapes, positions over lines. */
const HANDWRITTEN = [
  "{%- set a = 1 -%}\n  {{- a -}}  \n{#- c -#}  x {# d #} y\n",
  "{% set x %}  {{ 1 }} {% endset %}{{ x }}{% set y -%}  z{%- endset %}[{{ y }}]",
  "{% set ns = namespace(msg='', n=0) %}{% set ns.msg %} hello {{ 1 + 1 }} {% endset %}{% for i in range(3) %}{% set ns.n %}{{ ns.n | int + i }}{% endset %}{% endfor %}[{{ ns.msg }}]|{{ ns.n }}",
  "{{ 'a\\nb' }}{{ \"it's\" }}{{ 'q\\'s' }}{{ '\\d\\w' }}{{ 'x\\\nY' }}",
  "{{ {'a': {'b': 1}} }}{% set d = {'k': [1, {'z': 2}]} %}{{ d.k[1]['z'] }}",
  "{{ [1, 2) }}{{ (1, 2] }}{{ f(a, *b, k=1, **c,) }}",
  "{% for a, b in x %}{{ a }}{% else %}none{% endfor %}{% for k, v, w in y %}{{ w }}{% endfor %}",
  "line one\n  {{ x\n   + y }}\n{% if a\n %}\n{{ z | join(',')\n | upper }}{% endif %}",
  "{{ x is divisibleby 3 }}{{ x is not none }}{{ x is sameas(false) }}{{ x is in [1] }}{{ -x | abs }}{{ not x in y }}",
  "{{ 1.5 + 2 // 3 % 4 ** 2 - -1 }}{{ a < b <= c == d != e > f >= g }}{{ a if b }}{{ a if b else c if d else e }}",
  "{{ x | f(1)(2) }}{{ x | f.g }}{{ r/ab/ }}{{ 1e3 }}{{ 1_0 }}{{ '\\x41' }}{{ 1. }}",
  "{% set ns.a = 1 %}{% set a, b = c %}{% set a, b %}t{% endset %}{% do x.append(1) %}",
  "{% for x in y %}{% if x %}{% break %}{% endif %}{% continue %}{% endfor %}",
  // Loop filters, alone, nested, with two names, an else and loop control.
  "{% for x in y if x.ok %}{{ loop.index }}{% else %}e{% endfor %}{% for a, b in z.items() if b > 1 %}{% for c in a if c != b %}{% break %}{% endfor %}{% endfor %}",
  "{% if a %}1{% elif b %}2{% elseif c %}3{% else %}4{% endif %}",
  "{{ none }}{{ null }}{{ True }}{{ true }}{{ x.y.z() }}{{ x[0][1:] }}{{ x['a'].b }}",
  // String literals next to each other are one, as in Jinja: a Python-style triple-quoted text.
  "{{ 'a' \"b\" }}{{ '''x''' | upper }}{{ \"\"\"\n  two\n  lines\"\"\" ~ 'c'   'd' }}{% set s = 'p'\n 'q' %}{{ s }}{{ f('a' 'b', 'c') }}",
  // Dict keys that are expressions; a set of several values is a tuple.
  "{% set d = {s | upper: 1, 'k' ~ n: 2, (a if flag else 'z'): 3} %}{{ d }}{% set p, q = xs[0], s | upper %}{{ p }}{{ q }}{% set t = 1, 2 %}{{ t }}{% set u = f(1, 2), 3 %}{{ u }}",
  // Python's other spaces between tokens (not in the strings, nor outside tags).
  "{%\u2029set a = [1,\u30002]\u2029%}\u2029{{ a\u2028|\u2028join('\u2029')\u0085}}{{\u000bx\u000c+\u1680y\u202f}}",
];

describe('a program read back from disk', () => {
  it('is taken whole, and refused for any part out of shape', () => {
    const source = "{% set xs = [1, 2] %}{% for x in xs %}{% if x > 1 %}{% break %}{% endif %}{{ f(x, k={'a': x}) | upper }}{% endfor %}";
    const program = quickProgram(source, { throwOnUndefined: true })!;
    const text = JSON.stringify(program);
    expect(isProgram(JSON.parse(text))).toBe(true);
    const damaged = [
      text.replace('"t":"break"', '"t":"halt"'),
      text.replace('"slots":1', '"slots":0'),
      text.replace('{"t":"lit","v":1}', '{"t":"lit","v":[1]}'),
      text.replace('[["a",', '[["__proto__",'),
      text.replace(/"at":\[(\d+),/, '"at":[$1.5,'),
      // A break moved out of its loop, to the top level.
      JSON.stringify({ ...program, body: [...program.body, { t: 'break' }] }),
      '{"body":[]}',
      '[]',
      'null',
    ];
    for (const d of damaged) {
      expect(d).not.toBe(text);
      expect(isProgram(JSON.parse(d)), d).toBe(false);
    }
  });
});
