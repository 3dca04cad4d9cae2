import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../e2e/helpers.js';

afterAll(removeTempDirs);

/**
 * Nunjucks' compiler on worker threads (template-compile-pool.ts, as built in dist/: a worker
 * runs JavaScript): the code the workers write is byte for byte what this thread writes, for
 * each set of options, and a template that does not compile comes back as none, for its caller
 * to compile on its own thread and report.
 *
 * The built modules run in a process of their own: loaded into this one beside the sources the
 * other test files of this worker use, they would install Jinja's syntax into the one Nunjucks
 * module a second time.
 */

const SHAPES = [
  (i: number) => `{{ config(materialized='table') }}\n{%- set cols = ['a', 'b', 'c_${i}'] %}\nselect\n{%- for c in cols %}\n  {{ c }}{{ ',' if not loop.last }}\n{%- endfor %}\nfrom {{ ref('up_${i}') }}`,
  (i: number) => `{%- set ns = namespace(n=0) %}{% for x in range(${i % 5}) %}{% do ns.__setattr__('n', ns.n + x) %}{% endfor %}\nselect {{ ns.n }} as n, '{{ ds }}' as ds{% if is_incremental() %} where ds > (select max(ds) from {{ this }}){% endif %}`,
  (i: number) => `{% macro cents(column, digits=2) -%}round({{ column }} * 100, {{ digits }}){%- endmacro %}\nselect {{ cents('amount_${i}', digits=${i % 3}) }}, {{ {'k': [1, 2][-1], 'v': 'x'.upper()}['k'] }} as k, {{ 1_000 * 1e-3 }} as f`,
];
/** Syntax errors: an unclosed block, an unknown tag, an unterminated expression. */
const BROKEN = ["select 1\n{% for x in [1, 2] %}{{ x }}\n", "select 1\n\n{% frobnicate %}\n", 'select {{ 1 +\n'];


/** What the scenarios below give, computed in a process that loads dist/ alone. */
interface Outcome {
  readonly here: (string | null)[];
  readonly there: (string | null)[];
  readonly thereByWorkers: number;
  readonly cacheHits: number;
  readonly rendered: string;
  readonly brokenByWorkers: number;
  readonly broken: (string | null)[];
  readonly brokenHere: (string | null)[];
  readonly belowThreshold: number;
  readonly oneThread: number;
  readonly threshold: number;
}

const BROKEN_AT = [5, 40, 77];

const SCRIPT = `
const pool = await import(process.argv[2] + '/analyze/template-compile-pool.js');
const syntax = await import(process.argv[2] + '/analyze/jinja/syntax.js');
const { createRequire } = await import('node:module');
const require = createRequire(process.argv[2] + '/cli/main.js');
const SHAPES = [${SHAPES.map(String).join(', ')}];
const BROKEN = ${JSON.stringify(BROKEN)};
const jobs = (count, opts) => Array.from({ length: count }, (_, i) => ({ path: 'models/m_' + i + '.sql', source: SHAPES[i % SHAPES.length](i), opts }));
const code = (r) => r.compiled.map((c) => (c === undefined ? null : c.code));

const strict = { autoescape: false, throwOnUndefined: true, dev: false };
const lenient = { ...strict, throwOnUndefined: false };
const all = [...jobs(60, strict), ...jobs(60, lenient).map((j) => ({ ...j, path: 'pkg/' + j.path }))];
const here = code(pool.compileTemplates(all, [], 1));
const thereRun = pool.compileTemplates(all, [], 3);

const cached = pool.compileTemplates(jobs(96, { autoescape: false, throwOnUndefined: false }), [], 2);
syntax.installJinjaSyntax();
const nunjucks = require('nunjucks');
const env = new nunjucks.Environment(null, { autoescape: false });
const template = new nunjucks.Template({ type: 'code', obj: cached.compiled[0].fn() }, env, 'models/m_0.sql', true);
const rendered = String(template.render({ config: () => '', ref: (n) => '"' + n + '"' })).replace(/\\s+/g, ' ').trim();

const withBroken = jobs(90, strict);
${JSON.stringify(BROKEN_AT)}.forEach((i, n) => (withBroken[i] = { ...withBroken[i], source: BROKEN[n] }));
const brokenRun = pool.compileTemplates(withBroken, [], 2);

process.stdout.write(JSON.stringify({
  here, there: code(thereRun), thereByWorkers: thereRun.report.byWorkers,
  cacheHits: cached.report.codeCacheHits, rendered,
  brokenByWorkers: brokenRun.report.byWorkers, broken: code(brokenRun), brokenHere: code(pool.compileTemplates(withBroken, [], 1)),
  belowThreshold: pool.compileTemplates(jobs(pool.MIN_PARALLEL_TEMPLATES - 1, strict), [], 4).report.byWorkers,
  oneThread: pool.compileTemplates(jobs(100, strict), [], 1).report.byWorkers,
  threshold: pool.MIN_PARALLEL_TEMPLATES,
}));
`;

let outcome: Outcome;
beforeAll(() => {
  const dist = fileURLToPath(new URL('../../dist', import.meta.url));
  // A file, not -e: worker threads inherit the process's flags, and --input-type would stop them.
  const script = join(tempDir(), 'compile-pool.mjs');
  writeFileSync(script, SCRIPT);
  outcome = JSON.parse(execFileSync(process.execPath, [script, dist], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Outcome;
});

describe('compiling templates on worker threads', () => {
  it('writes on the workers the code this thread writes, byte for byte, for each set of options', () => {
    const { here, there, thereByWorkers } = outcome;
    expect(thereByWorkers).toBe(here.length);
    expect(here.every((c) => typeof c === 'string' && c.includes('function root'))).toBe(true);
    expect(there).toEqual(here);
    // The options are part of the code: an undefined value is refused in one, printed as nothing in the other.
    expect(here[0]).not.toEqual(here[60]);
  });

  it("gives each template's code as a function compiled from the workers' V8 code cache, which renders", () => {
    expect(outcome.cacheHits).toBe(3);
    // Rendered as pipe renders: Nunjucks with Jinja's runtime installed.
    expect(outcome.rendered).toBe('select a, b, c_0 from "up_0"');
  });

  it('gives no code for a template that does not compile, and compiles the others of its batch', () => {
    expect(outcome.brokenByWorkers).toBe(outcome.broken.length);
    expect(outcome.broken.flatMap((c, i) => (c === null ? [i] : []))).toEqual(BROKEN_AT);
    expect(outcome.brokenHere).toEqual(outcome.broken);
  });

  it('compiles on this thread alone below the threshold, and with one thread', () => {
    expect(outcome.threshold).toBeGreaterThan(1);
    expect(outcome.belowThreshold).toBe(0);
    expect(outcome.oneThread).toBe(0);
  });
});
