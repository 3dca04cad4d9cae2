import { describe, expect, it } from 'vitest';
import { RenderFailure, TemplateEngine, type CompiledTemplate, type RenderHooks } from '../../src/analyze/template-engine.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { Random } from '../support/random.js';

/**
 * simple-template.ts renders the templates made only of text, `ref()`, `source()`, `config()`
 * and variables without Nunjucks, and must give exactly what Nunjucks gives. Generated templates
 * mix those forms with the near misses that must go to Nunjucks (filters, operators,
 * whitespace control, escapes, trailing commas, repeated keywords, undefined and null
 * values, stray braces); each is compiled and rendered by an engine with the fast path and
 * by one without, and everything observable is compared: the text, the ref() and config()
 * calls in order, and the diagnostic when there is one.
 */

const VARIABLE_NAMES = ['ds', 'ds_nodash', 'prev_ds', 'empty', 'missing', 'nil', 'zero', 'flag'];
const VARIABLES: Record<string, unknown> = {
  ds: '2024-01-02',
  ds_nodash: '20240102',
  prev_ds: '2024-01-01',
  this: '"main"."m"',
  empty: '',
  missing: undefined,
  nil: null,
  zero: 0,
  flag: false,
};

/** A generator of template source, from a seed. */
class TemplateSource {
  constructor(private readonly r: Random) {}

  private ws(): string {
    return this.r.pick(['', '', ' ', ' ', '  ', '\n', '\t', ' \n  ']);
  }

  private text(): string {
    return this.r.pick([
      'select * ', 'from t ', 'where d = ', "'", '"', '\n', '  ', ', ', 'a.b', '-- note\n', '/* c */', '{', '}', '}}', '{ {',
      '%', '#', '-', '\\', 'é ü', '$$x$$', ';', '(', ')',
    ]);
  }

  private name(): string {
    return this.r.pick(['orders', 'stg_orders', 'a b', 'x-1', '', "it's", 'say "hi"', 'tab\there']);
  }

  private quoted(s: string): string {
    const q = this.r.pick(["'", '"']);
    return `${q}${s}${q}`;
  }

  private string(): string {
    const chars = ['a', 'b', 'z', ' ', ',', '[', ']', '=', '(', ')', "'", '"', '{', '}', 'é'];
    if (this.r.chance(0.05)) chars.push('\\', '\n', '\\n');
    let s = '';
    for (let i = this.r.int(6); i > 0; i--) s += this.r.pick(chars);
    const q = this.r.pick(["'", '"']);
    // Mostly well-formed: the quote itself left out of the content.
    return `${q}${this.r.chance(0.9) ? s.replaceAll(q, '') : s}${q}`;
  }

  private literal(depth = 0): string {
    switch (this.r.int(depth > 1 ? 3 : 4)) {
      case 0:
        return this.string();
      case 1:
        return this.r.pick(['0', '7', '42', '007', '3.5', '-1', '1e3', '12345678901234567890']);
      case 2:
        return this.r.pick(['true', 'false', 'True', 'False', 'none', 'None']);
      default: {
        const items = Array.from({ length: this.r.int(4) }, () => `${this.ws()}${this.literal(depth + 1)}${this.ws()}`);
        return `[${items.join(',')}${items.length && this.r.chance(0.1) ? ',' : ''}]`;
      }
    }
  }

  /** A literal, sometimes made into an expression that is not one. */
  private value(): string {
    const v = this.literal();
    if (this.r.chance(0.9)) return v;
    return `${v}${this.ws()}${this.r.pick(['| upper', '+ 1', '.length', '[0]', '~ "x"', 'or 1'])}`;
  }

  private config(): string {
    const keys = ['materialized', 'tags', 'enabled', 'partition_by', 'n', 'x', 'true', 'if'];
    const args = Array.from({ length: this.r.int(4) }, () => {
      const eq = this.r.chance(0.03) ? '==' : '=';
      return `${this.ws()}${this.r.pick(keys)}${this.ws()}${eq}${this.ws()}${this.value()}${this.ws()}`;
    });
    if (this.r.chance(0.05)) args.push(this.ws());
    return `config(${args.join(',')})`;
  }

  private expression(): string {
    switch (this.r.int(7)) {
      case 0:
      case 1:
        return `ref(${this.ws()}${this.quoted(this.name())}${this.ws()})`;
      case 6:
        return `source(${this.ws()}${this.quoted(this.name())}${this.ws()},${this.ws()}${this.quoted(this.name())}${this.r.chance(0.05) ? ', 1' : ''}${this.ws()})`;
      case 2:
        return this.r.pick([...VARIABLE_NAMES, 'this', 'undefined_name', 'true', 'none', 'ref', 'config']);
      case 3:
      case 4:
        return this.config();
      default:
        return this.r.pick([
          "var('x', 1)", "ds | upper", "ds ~ '!'", "ref('a') ~ 'b'", "'lit'", '1 + 2', 'ds if true', "ref('a', 'b')",
          "config('table')", 'config({"materialized": "view"})', 'ds.length', 'this | length',
        ]);
    }
  }

  template(): string {
    let out = '';
    for (let n = 1 + this.r.int(6); n > 0; n--) {
      if (this.r.chance(0.45)) {
        out += this.text();
        continue;
      }
      const open = this.r.chance(0.04) ? '{{-' : '{{';
      const close = this.r.chance(0.04) ? '-}}' : '}}';
      out += `${open}${this.ws() || ' '}${this.expression()}${this.ws() || ' '}${close}`;
      if (this.r.chance(0.02)) out += this.r.pick(['{% if true %}x{% endif %}', '{# c #}', '{{ ds ']);
    }
    return out;
  }
}

interface Observed {
  readonly compiled?: Diagnostic;
  readonly rendered?: string;
  readonly failure?: Diagnostic;
  readonly refs: string[];
  readonly configs: unknown[];
}

/** What source() was asked, recorded with the ref() calls in the order of the calls. */
const sourceCall = (source: string, table: string) => `source:${source}.${table}`;

function observe(engine: TemplateEngine, source: string): Observed & { simple: boolean } {
  const compiled = engine.compile('models/m.sql', source);
  if (!('source' in compiled)) return { compiled, refs: [], configs: [], simple: false };
  const refs: string[] = [];
  const configs: unknown[] = [];
  const hooks: RenderHooks = {
    variables: VARIABLES,
    ref: (name) => {
      refs.push(name);
      return `"main"."${name}"`;
    },
    source: (source, table) => {
      refs.push(sourceCall(source, table));
      return `"${source}"."${table}"`;
    },
    config: (keywords) => configs.push(structuredClone(keywords)),
    var: (name, fallback, hasFallback) => {
      if (hasFallback) return fallback;
      throw new Error(`var '${name}' is not set`);
    },
    isIncremental: () => false,
  };
  const simple = (compiled as CompiledTemplate).simple !== undefined;
  try {
    return { rendered: engine.render(compiled, hooks), refs, configs, simple };
  } catch (e) {
    if (!(e instanceof RenderFailure)) throw e;
    return { failure: e.diagnostic, refs, configs, simple };
  }
}

describe('the simple-template fast path', () => {
  it('renders every generated template exactly as Nunjucks does', () => {
    const fast = new TemplateEngine([], VARIABLE_NAMES);
    const reference = new TemplateEngine([], VARIABLE_NAMES, { simpleTemplates: false, programs: false });
    let simple = 0;
    const cases = 2500;
    for (let seed = 1; seed <= cases; seed++) {
      const source = new TemplateSource(new Random(seed)).template();
      const { simple: wasSimple, ...got } = observe(fast, source);
      const { simple: _, ...want } = observe(reference, source);
      expect(got, `seed ${seed}: ${JSON.stringify(source)}`).toEqual(want);
      if (wasSimple) simple++;
    }
    // Both sides of the line are exercised: templates the fast path takes, and ones it leaves.
    expect(simple).toBeGreaterThan(cases * 0.2);
    expect(simple).toBeLessThan(cases * 0.8);
  });

  it('takes the forms it is meant for', () => {
    const engine = new TemplateEngine([], VARIABLE_NAMES);
    const sources = [
      "{{ config(materialized='incremental', partition_by=\"d\", tags=['a', [1, true]], n=42, enabled=false) }}\nselect * from {{ ref('orders') }} where d = '{{ ds }}'",
      '{{ref("it\'s")}}{{this}}',
      '{{ config() }}',
      "select * from {{ source('raw', \"orders\") }}",
    ];
    for (const source of sources) {
      const compiled = engine.compile('models/m.sql', source) as CompiledTemplate;
      expect(compiled.simple, source).toBeDefined();
    }
  });
});
