import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_UNUSED_DAYS, TemplateCodeCache, templateCacheDir } from '../../src/analyze/template-code-cache.js';
import { compileIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * The compiled-template cache beside the warehouse: a second compile of an unchanged project
 * compiles no template (counted at Nunjucks' compiler itself), gives the same SQL, and a
 * damaged, stale or unwritable cache is never trusted and never an error.
 */

afterAll(removeProjects);

/** Every call of Nunjucks' compiler in this process, counted while a test runs. */
const compiler = (nunjucks as unknown as { compiler: { compile: (...args: unknown[]) => string } }).compiler;
const original = compiler.compile;
let compiles: string[] = [];
beforeEach(() => {
  compiles = [];
  compiler.compile = (...args: unknown[]) => {
    compiles.push(String(args[3]));
    return original(...args);
  };
});
afterEach(() => {
  compiler.compile = original;
});

/** Macros, loops, a call block, namespace, do, return(), dispatch, Python methods and a query check. */
const PROJECT = {
  'pipe.yaml': 'name: shop\n',
  'seeds/raw_orders.csv': 'id,amount,status\n1,10,placed\n2,20,shipped\n',
  'macros/money.sql': `{% macro cents(column, digits=2) -%}
round({{ column }} * 100, {{ digits }})
{%- endmacro %}

{% macro wrap(label) -%}
/* {{ label | upper }} */ {{ caller() }}
{%- endmacro %}

{% macro statuses() -%}
{{ return(['placed', 'shipped']) }}
{%- endmacro %}

{% macro default__today() -%}
'{{ ds }}'
{%- endmacro %}
`,
  'models/orders.sql': `{{ config(materialized='table') }}
{%- set ns = namespace(cols=[]) %}
{%- for c in ['id', 'amount'] %}{% do ns.cols.append(c) %}{% endfor %}
select {{ ns.cols | join(', ') }}, {{ cents('amount') }} as amount_cents,
{%- for s in statuses() %}
  count(*) filter (where status = '{{ s }}') over () as n_{{ s.replace('e', 'E') }}{{ ',' if not loop.last }}
{%- endfor %}
from {{ ref('raw_orders') }}
where {{ adapter.dispatch('today')() }} is not null
`,
  'models/orders.yaml': 'checks:\n  query: ["select * from {{ this }} where amount < {{ 0 }}"]\n',
  'models/wrapped.sql': `{% call wrap('totals') %}select sum(amount) as total from {{ ref('orders') }}{% endcall %}
{% if is_incremental() %}where false{% endif %}
`,
  'models/plain.sql': "select * from {{ ref('orders') }} where '{{ ds }}' <> ''\n",
};

const DATE = '2024-01-02';
const cacheOf = (dir: string) => templateCacheDir(join(dir, 'warehouse.duckdb'));
const entries = (dir: string) => readdirSync(cacheOf(dir)).filter((f) => f.endsWith('.js'));

async function compiled(dir: string) {
  compiles = [];
  const r = await compileIn(dir, { date: DATE });
  expect(r.code, r.stderr).toBe(0);
  expect(r.events.filter((e) => e.type === 'diagnostic')).toEqual([]);
  return { models: r.models.map((m) => [m.model, m.sql, m.sql_hash]), compiles: [...compiles] };
}

describe('the compiled-template cache', () => {
  it('compiles nothing on a warm cache, and gives the same SQL and hashes as a cold one', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    // The macro file, the three models with tags or macro calls, and the query check.
    expect(cold.compiles.sort()).toEqual(['macros/money.sql', 'models/orders.sql', 'models/orders.yaml', 'models/wrapped.sql']);
    expect(entries(dir)).toHaveLength(4);
    const warm = await compiled(dir);
    expect(warm.compiles).toEqual([]);
    expect(warm.models).toEqual(cold.models);
    expect(cold.models.find(([m]) => m === 'orders')?.[1]).toContain("n_placEd");
    // The same project without any cache renders the same SQL.
    rmSync(join(dir, '.pipe'), { recursive: true });
    writeFileSync(join(dir, '.pipe'), 'a file where the cache folder would be');
    expect((await compiled(dir)).models).toEqual(cold.models);
  });

  it('rebuilds a truncated entry, and one whose code does not load, never trusting either', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    const [first, second] = entries(dir).map((f) => join(cacheOf(dir), f));
    const text = readFileSync(first, 'utf8');
    writeFileSync(first, text.slice(0, text.length - 40));
    // A checksum that matches, over code that gives no template.
    const bad = 'return { nothing: 1 };';
    writeFileSync(second, `// pipe-template-code 1 ${createHash('sha256').update(bad).digest('hex')}\n${bad}`);
    const rebuilt = await compiled(dir);
    expect(rebuilt.compiles).toHaveLength(2);
    expect(rebuilt.models).toEqual(cold.models);
    expect(readFileSync(first, 'utf8')).toBe(text);
    expect((await compiled(dir)).compiles).toEqual([]);
  });

  it('compiles a changed macro file again, and the models render with the new macro', async () => {
    const dir = tempProject(PROJECT);
    const before = await compiled(dir);
    writeFileSync(join(dir, 'macros/money.sql'), PROJECT['macros/money.sql'].replace('round({{ column }} * 100', 'floor({{ column }} * 1000'));
    const after = await compiled(dir);
    expect(after.compiles).toEqual(['macros/money.sql']);
    const sql = (r: typeof before) => String(r.models.find(([m]) => m === 'orders')?.[1]);
    expect(sql(before)).toContain('round(amount * 100, 2)');
    expect(sql(after)).toContain('floor(amount * 1000, 2)');
  });

  it('reports a template that does not parse at its line, on every compile, and keeps nothing of it', async () => {
    const dir = tempProject({ ...PROJECT, 'models/broken.sql': "select 1\n{% for x in [1, 2] %}{{ x }}\n" });
    const errors = async () => {
      const r = await compileIn(dir, { date: DATE });
      expect(r.code).toBe(2);
      return r.events.flatMap((e) => (e.type === 'diagnostic' ? [[e.diagnostic.code, e.diagnostic.location?.file, e.diagnostic.location?.line]] : []));
    };
    const first = await errors();
    expect(first).toContainEqual(['template-syntax', 'models/broken.sql', 2]);
    expect(await errors()).toEqual(first);
    expect(compiles).toContain('models/broken.sql');
  });

  it('works as no cache when its folder cannot be made', async () => {
    const dir = tempProject({ ...PROJECT, '.pipe': 'not a folder' });
    const first = await compiled(dir);
    const second = await compiled(dir);
    expect(second.compiles).toEqual(first.compiles);
    expect(second.models).toEqual(first.models);
  });

  it('removes entries unused for the pruning age when it writes, keeping those used since', () => {
    const dir = join(tempProject(), 'templates');
    const day = 86_400_000;
    const start = Date.now();
    const cache = new TemplateCodeCache(dir, () => start);
    cache.write('old', 'return 1;');
    cache.write('used', 'return 2;');
    const path = (key: string) => join(dir, `${key}.js`);
    const past = new Date(start - 1000);
    utimesSync(path('old'), past, past);
    utimesSync(path('used'), past, past);
    // Read (used) a day and more later, then a process writes after the pruning age.
    expect(new TemplateCodeCache(dir, () => start + 2 * day).read('used')).toBe('return 2;');
    const later = new TemplateCodeCache(dir, () => start + (MAX_UNUSED_DAYS + 1) * day);
    later.write('new', 'return 3;');
    expect(existsSync(path('old'))).toBe(false);
    expect(existsSync(path('used'))).toBe(true);
    expect(existsSync(path('new'))).toBe(true);
    expect(Math.abs(statSync(path('used')).mtimeMs - (start + 2 * day))).toBeLessThan(1);
  });

  it('keeps one whole entry when two processes write it at once, as a third reads it', async () => {
    const dir = join(tempProject(), 'templates');
    const module = new URL('../../dist/analyze/template-code-cache.js', import.meta.url).href;
    const code = `return { root: function () { return ${JSON.stringify('x'.repeat(200_000))}; } };`;
    const script = join(dir, '..', 'cache-user.mjs');
    // A writer writes the entry 50 times; the reader reads it 200 times and fails on any entry that is not whole.
    writeFileSync(
      script,
      `const { TemplateCodeCache } = await import(${JSON.stringify(module)});
const cache = new TemplateCodeCache(${JSON.stringify(dir)});
const code = ${JSON.stringify(code)};
if (process.argv[2] === 'write') for (let i = 0; i < 50; i++) cache.write('same', code);
else for (let i = 0; i < 200; i++) { const read = cache.read('same'); if (read !== undefined && read !== code) process.exit(4); }
if (cache.stats.rejected > 0) process.exit(3);`,
    );
    const exits = await Promise.all(
      ['write', 'write', 'read'].map(
        (role) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, [script, role], { stdio: 'inherit' });
            child.on('close', resolve);
          }),
      ),
    );
    expect(exits).toEqual([0, 0, 0]);
    expect(readdirSync(dir).filter((f) => f !== '.pruned')).toEqual(['same.js']);
    expect(new TemplateCodeCache(dir).read('same')).toBe(code);
  });
});
