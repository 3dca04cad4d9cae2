import { describe, expect, it } from 'vitest';

/**
 * Nunjucks' compiler on worker threads (template-compile-pool.ts, as built in dist/: a worker
 * runs JavaScript): the code the workers write is byte for byte what this thread writes, for
 * each set of options, and a template that does not compile comes back as none, for its caller
 * to compile on its own thread and report.
 */

type Pool = typeof import('../../src/analyze/template-compile-pool.js');
const pool = (await import(new URL('../../dist/analyze/template-compile-pool.js', import.meta.url).href)) as Pool;

const SHAPES = [
  (i: number) => `{{ config(materialized='table') }}\n{%- set cols = ['a', 'b', 'c_${i}'] %}\nselect\n{%- for c in cols %}\n  {{ c }}{{ ',' if not loop.last }}\n{%- endfor %}\nfrom {{ ref('up_${i}') }}`,
  (i: number) => `{%- set ns = namespace(n=0) %}{% for x in range(${i % 5}) %}{% do ns.__setattr__('n', ns.n + x) %}{% endfor %}\nselect {{ ns.n }} as n, '{{ ds }}' as ds{% if is_incremental() %} where ds > (select max(ds) from {{ this }}){% endif %}`,
  (i: number) => `{% macro cents(column, digits=2) -%}round({{ column }} * 100, {{ digits }}){%- endmacro %}\nselect {{ cents('amount_${i}', digits=${i % 3}) }}, {{ {'k': [1, 2][-1], 'v': 'x'.upper()}['k'] }} as k, {{ 1_000 * 1e-3 }} as f`,
];
/** Syntax errors: an unclosed block, an unknown tag, an unterminated expression. */
const BROKEN = ["select 1\n{% for x in [1, 2] %}{{ x }}\n", "select 1\n\n{% frobnicate %}\n", 'select {{ 1 +\n'];

function jobs(count: number, opts: object) {
  return Array.from({ length: count }, (_, i) => ({ path: `models/m_${i}.sql`, source: SHAPES[i % SHAPES.length](i), opts }));
}

describe('compiling templates on worker threads', () => {
  it('writes on the workers the code this thread writes, byte for byte, for each set of options', () => {
    const strict = { autoescape: false, throwOnUndefined: true, dev: false };
    const lenient = { ...strict, throwOnUndefined: false };
    const all = [...jobs(100, strict), ...jobs(100, lenient).map((j) => ({ ...j, path: `pkg/${j.path}` }))];
    const here = pool.compileTemplates(all, [], { threads: 1 });
    const there = pool.compileTemplates(all, [], { threads: 3, mainThread: false });
    expect(here.report.byWorkers).toBe(0);
    expect(there.report.byWorkers).toBe(all.length);
    expect(here.code.every((c) => typeof c === 'string' && c.includes('function root'))).toBe(true);
    expect(there.code).toEqual(here.code);
    // The options are part of the code: an undefined value is refused in one, printed as nothing in the other.
    expect(here.code[0]).not.toEqual(here.code[100]);
  });

  it('gives no code for a template that does not compile, and compiles the others of its batch', () => {
    const opts = { autoescape: false, throwOnUndefined: true };
    const all = jobs(90, opts);
    const at = [5, 40, 77];
    at.forEach((i, n) => (all[i] = { ...all[i], source: BROKEN[n] }));
    const { code, report } = pool.compileTemplates(all, [], { threads: 2, mainThread: false });
    expect(report.byWorkers).toBe(all.length);
    expect(code.flatMap((c, i) => (c === undefined ? [i] : []))).toEqual(at);
    expect(pool.compileTemplates(all, [], { threads: 1 }).code).toEqual(code);
  });

  it('compiles on this thread alone below the threshold, and with one thread', () => {
    const opts = { autoescape: false, throwOnUndefined: true };
    expect(pool.compileTemplates(jobs(pool.MIN_PARALLEL_TEMPLATES - 1, opts), [], { threads: 4, mainThread: false }).report.byWorkers).toBe(0);
    expect(pool.compileTemplates(jobs(100, opts), [], { threads: 1, mainThread: false }).report.byWorkers).toBe(0);
  });
});
