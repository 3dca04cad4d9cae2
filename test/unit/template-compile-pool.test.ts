import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

/**
 * Nunjucks' compiler on worker threads (template-compile-pool.ts, as built in dist/: a worker
 * runs JavaScript): the code the workers write is byte for byte what this thread writes, for
 * each set of options, and a template that does not compile comes back as none, for its caller
 * to compile on its own thread and report.
 */

type Pool = typeof import('../../src/analyze/template-compile-pool.js');
const pool = (await import(new URL('../../dist/analyze/template-compile-pool.js', import.meta.url).href)) as Pool;
const syntax = (await import(new URL('../../dist/analyze/jinja/syntax.js', import.meta.url).href)) as typeof import('../../src/analyze/jinja/syntax.js');

const SHAPES = [
  (i: number) => `{{ config(materialized='table') }}\n{%- set cols = ['a', 'b', 'c_${i}'] %}\nselect\n{%- for c in cols %}\n  {{ c }}{{ ',' if not loop.last }}\n{%- endfor %}\nfrom {{ ref('up_${i}') }}`,
  (i: number) => `{%- set ns = namespace(n=0) %}{% for x in range(${i % 5}) %}{% do ns.__setattr__('n', ns.n + x) %}{% endfor %}\nselect {{ ns.n }} as n, '{{ ds }}' as ds{% if is_incremental() %} where ds > (select max(ds) from {{ this }}){% endif %}`,
  (i: number) => `{% macro cents(column, digits=2) -%}round({{ column }} * 100, {{ digits }}){%- endmacro %}\nselect {{ cents('amount_${i}', digits=${i % 3}) }}, {{ {'k': [1, 2][-1], 'v': 'x'.upper()}['k'] }} as k, {{ 1_000 * 1e-3 }} as f`,
];
/** Syntax errors: an unclosed block, an unknown tag, an unterminated expression. */
const BROKEN = ["select 1\n{% for x in [1, 2] %}{{ x }}\n", "select 1\n\n{% frobnicate %}\n", 'select {{ 1 +\n'];

/** The code of each template, undefined where it did not compile. */
const code = (r: ReturnType<Pool['compileTemplates']>) => r.compiled.map((c) => c?.code);

function jobs(count: number, opts: object) {
  return Array.from({ length: count }, (_, i) => ({ path: `models/m_${i}.sql`, source: SHAPES[i % SHAPES.length](i), opts }));
}

describe('compiling templates on worker threads', () => {
  it('writes on the workers the code this thread writes, byte for byte, for each set of options', () => {
    const strict = { autoescape: false, throwOnUndefined: true, dev: false };
    const lenient = { ...strict, throwOnUndefined: false };
    const all = [...jobs(60, strict), ...jobs(60, lenient).map((j) => ({ ...j, path: `pkg/${j.path}` }))];
    const here = code(pool.compileTemplates(all, [], 1));
    const there = pool.compileTemplates(all, [], 3);
    expect(there.report.byWorkers).toBe(all.length);
    expect(here.every((c) => typeof c === 'string' && c.includes('function root'))).toBe(true);
    expect(code(there)).toEqual(here);
    // The options are part of the code: an undefined value is refused in one, printed as nothing in the other.
    expect(here[0]).not.toEqual(here[60]);
  });

  it("gives each template's code as a function compiled from the workers' V8 code cache, which renders", () => {
    const opts = { autoescape: false, throwOnUndefined: false };
    const all = jobs(96, opts);
    const there = pool.compileTemplates(all, [], 2);
    expect(there.report.codeCacheHits).toBe(3);
    // Rendered as pipe renders: Nunjucks with Jinja's runtime installed (the instance dist/ uses).
    syntax.installJinjaSyntax();
    const nunjucks = require('nunjucks') as typeof import('nunjucks');
    const env = new nunjucks.Environment(null, { autoescape: false });
    const made = there.compiled[0]!;
    const template = new nunjucks.Template({ type: 'code', obj: made.fn() } as never, env, 'models/m_0.sql', true);
    expect(String(template.render({ config: () => '', ref: (n: string) => `"${n}"` })).replace(/\s+/g, ' ').trim()).toBe('select a, b, c_0 from "up_0"');
  });

  it('gives no code for a template that does not compile, and compiles the others of its batch', () => {
    const opts = { autoescape: false, throwOnUndefined: true };
    const all = jobs(90, opts);
    const at = [5, 40, 77];
    at.forEach((i, n) => (all[i] = { ...all[i], source: BROKEN[n] }));
    const there = pool.compileTemplates(all, [], 2);
    expect(there.report.byWorkers).toBe(all.length);
    expect(code(there).flatMap((c, i) => (c === undefined ? [i] : []))).toEqual(at);
    expect(code(pool.compileTemplates(all, [], 1))).toEqual(code(there));
  });

  it('compiles on this thread alone below the threshold, and with one thread', () => {
    const opts = { autoescape: false, throwOnUndefined: true };
    expect(pool.compileTemplates(jobs(pool.MIN_PARALLEL_TEMPLATES - 1, opts), [], 4).report.byWorkers).toBe(0);
    expect(pool.compileTemplates(jobs(100, opts), [], 1).report.byWorkers).toBe(0);
  });
});
