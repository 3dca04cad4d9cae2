import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TemplateEngine, type CompiledTemplate } from '../../src/analyze/template-engine.js';
import { templateCacheDir } from '../../src/analyze/template-code-cache.js';
import { compileIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { stampOf } from '../../src/util/stat-stamp.js';
import { packEntries, packs as packsIn, sealed } from '../support/packs.js';

/**
 * Renders kept beside the warehouse: a second compile of an unchanged project renders only
 * the models whose output its key does not decide, and gives the same SQL; a change to a
 * model, a macro, a var, the date or the table's state renders again; a damaged entry, or one
 * whose `this` moved, is never trusted.
 */

afterAll(removeProjects);

const DATE = '2024-01-02';

const PROJECT = {
  'pipe.yaml': 'name: shop\nvars:\n  currency: EUR\n',
  'seeds/raw.csv': 'id,amount\n1,10\n2,20\n',
  'macros/money.sql': '{% macro cents(column) -%}\nround({{ column }} * 100)\n{%- endmacro %}\n',
  'models/base.sql': `{{ config(materialized='table') }}
{%- set cols = ['id', 'amount'] %}
select {% for c in cols %}{{ c }}, {% endfor %}{{ cents('amount') }} as cents, '{{ var("currency") }}' as currency, '{{ ds }}' as d
from {{ ref('raw') }}
`,
  'models/inc.sql': `{{ config(materialized='incremental', unique_key='id') }}
select * from {{ ref('base') }}
{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}
`,
  'models/plain.sql': "select * from {{ ref('base') }} where d = '{{ ds }}'\n",
  'models/region.sql': "select '{{ env_var('PIPE_KEPT_REGION', 'eu') }}' as region\n",
  'macros/dispatched.sql': '{% macro default__one() %}1{% endmacro %}\n',
  // A macro that reads what the key does not hold makes every model calling it rendered again.
  'macros/where.sql': "{% macro schema_tag() %}{{ env_var('PIPE_KEPT_TAG', 'main') }}{% endmacro %}\n",
  'models/tagged.sql': "select '{{ schema_tag() }}' as tag\n",
  'models/sources.yml': 'version: 2\nsources:\n  - name: raw_src\n    schema: landing\n    tables:\n      - name: events\n',
  'models/from_source.sql': "select '{{ source('raw_src', 'events').schema }}' as s\n",
  'models/tgt.sql': "select '{{ target.name }}' as t, {{ adapter.dispatch('one')() }} as one\n",
  // The target is the analysis's, which every key holds: kept. What a render changes in it is its own.
  // (edits_target renders first, as the models are listed.)
  'models/edits_target.sql': "{% do target.update({'name': 'changed'}) %}select '{{ project_name }}.{{ target.schema }}' as t, {{ target.threads }} as threads\n",
  'models/reads_target.sql': "select '{{ target.name }}' as t\n",
};

const rendersOf = (dir: string) => join(templateCacheDir(join(dir, 'warehouse.duckdb')), '..', 'renders');
const packs = (dir: string) => packsIn(rendersOf(dir));

/** Models' templates rendered in this process while a test runs (the engine's own render calls). */
let rendered: string[] = [];
beforeEach(() => {
  rendered = [];
  const render = TemplateEngine.prototype.render;
  vi.spyOn(TemplateEngine.prototype, 'render').mockImplementation(function (this: TemplateEngine, template: CompiledTemplate, hooks) {
    if (template.file.startsWith('models/')) rendered.push(template.file.slice('models/'.length, -'.sql'.length));
    return render.call(this, template, hooks);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.PIPE_KEPT_REGION;
});

/** Every model, and those rendered every time. */
const ALL = ['base', 'edits_target', 'from_source', 'inc', 'plain', 'reads_target', 'region', 'tagged', 'tgt'];
const AGAIN = ['region', 'tagged', 'tgt'];

async function compiled(dir: string, options: Parameters<typeof compileIn>[1] = {}) {
  rendered = [];
  const r = await compileIn(dir, { date: DATE, ...options });
  // Renders are written once the work that made them is done.
  await new Promise((resolve) => setImmediate(resolve));
  expect(r.code, r.stderr).toBe(0);
  return { sql: Object.fromEntries(r.models.map((m) => [m.model, m.sql])), rendered: [...new Set(rendered)].sort() };
}

describe('renders kept between processes', () => {
  it('renders again only what its key does not decide, with the same SQL, and keeps nothing of those', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    expect(cold.rendered).toEqual(ALL);
    // env_var() (in a macro too) and adapter read what the key does not hold: never kept.
    expect(packs(dir).flatMap((p) => packEntries(join(rendersOf(dir), p)))).toHaveLength(6);
    const warm = await compiled(dir);
    expect(warm.rendered).toEqual(AGAIN);
    expect(warm.sql).toEqual(cold.sql);
    expect(warm.sql.base).toContain("round(amount * 100) as cents, 'EUR' as currency, '2024-01-02' as d");
    expect(warm.sql.edits_target).toContain("'shop.main' as t, 1 as threads");
    expect(warm.sql.reads_target).toContain("'default' as t");
    // Nothing new to keep: no pack written.
    expect(packs(dir)).toHaveLength(1);
    // What the key does not hold still changes the SQL.
    process.env.PIPE_KEPT_REGION = 'us';
    expect((await compiled(dir)).sql.region).toContain("'us' as region");
  });

  it('renders again a changed model, and every model after a change of a macro, a var or the date', async () => {
    const dir = tempProject(PROJECT);
    await compiled(dir);
    writeFileSync(join(dir, 'models/plain.sql'), "select id from {{ ref('base') }} where d = '{{ ds }}'\n");
    const edited = await compiled(dir);
    expect(edited.rendered).toEqual(['plain', ...AGAIN]);
    expect(edited.sql.plain).toContain('select id from');

    writeFileSync(join(dir, 'macros/money.sql'), '{% macro cents(column) -%}\n({{ column }} * 100)::bigint\n{%- endmacro %}\n');
    const macro = await compiled(dir);
    expect(macro.rendered).toEqual(ALL);
    expect(macro.sql.base).toContain('(amount * 100)::bigint as cents');

    const usd = await compiled(dir, { vars: { currency: 'USD' } });
    expect(usd.rendered).toContain('base');
    expect(usd.sql.base).toContain("'USD' as currency");
    // The project's own var again: read back, as it was.
    const eur = await compiled(dir);
    expect(eur.sql.base).toContain("'EUR' as currency");

    // A source moved: its render read where it lives, and is made again.
    writeFileSync(join(dir, 'models/sources.yml'), 'version: 2\nsources:\n  - name: raw_src\n    schema: landed\n    tables:\n      - name: events\n');
    const moved = await compiled(dir);
    expect(moved.rendered).toEqual(['from_source', ...AGAIN]);
    expect(moved.sql.from_source).toContain("'landed' as s");

    // Another target: what read it is made again.
    writeFileSync(join(dir, 'pipe.yaml'), 'name: shop\nthreads: 3\nvars:\n  currency: EUR\n');
    const threads = await compiled(dir);
    expect(threads.rendered).toContain('edits_target');
    expect(threads.sql.edits_target).toContain('3 as threads');

    const nextDay = await compiled(dir, { date: '2024-01-03' });
    expect(nextDay.rendered).toEqual(ALL);
    expect(nextDay.sql.plain).toContain("where d = '2024-01-03'");
  });

  it("keeps a render per state of the table where it asks is_incremental(), and one for both where it does not", async () => {
    const dir = tempProject(PROJECT);
    // pipe run refuses a source that is not in the warehouse.
    for (const f of ['models/sources.yml', 'models/from_source.sql']) rmSync(join(dir, f));
    const before = await compiled(dir);
    expect(before.sql.inc).not.toContain('where id >');
    const r = await runIn(dir, { date: DATE });
    expect(r.code, r.stderr).toBe(0);
    const after = await compiled(dir);
    // Only the model that asks is_incremental() renders again: the others' renders hold whatever the warehouse has.
    expect(after.rendered).toEqual(['inc', ...AGAIN]);
    expect(after.sql.inc).toContain('where id > (select max(id) from');
    expect((await compiled(dir)).rendered).toEqual(AGAIN);
  });

  it("keeps no render that reads another node's table name: that node's alias may change alone", async () => {
    const dir = tempProject({ ...PROJECT, 'models/named.sql': "select '{{ ref('base').identifier }}' as t\n" });
    expect((await compiled(dir)).sql.named).toContain("'base' as t");
    writeFileSync(join(dir, 'models/base.yaml'), 'alias: base_table\n');
    const renamed = await compiled(dir);
    expect(renamed.rendered).toContain('named');
    expect(renamed.sql.named).toContain("'base_table' as t");
  });

  it('renders again an entry cut short, not of the right shape, or whose `this` lives elsewhere now, never trusting one', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    const [pack] = packs(dir).map((p) => join(rendersOf(dir), p));
    const kept = packEntries(pack);
    const [first, second, third] = kept;
    const moved = JSON.parse(third.code) as { self: { schema: string } };
    moved.self.schema = 'elsewhere';
    const damaged = [
      // Its hash no longer matches its text.
      { ...first, code: first.code.replace('select', 'delete') },
      // Sealed, but not a render.
      { key: second.key, ...sealed(second.key, '{"render":{"sql":1}}') },
      // Sealed and whole, made when `this` lived in another schema.
      { key: third.key, ...sealed(third.key, JSON.stringify(moved)) },
    ];
    const text = damaged.map((e) => `${e.key} ${e.checksum} ${e.code.length}\n${e.code}\n`).join('');
    writeFileSync(pack, `${readFileSync(pack, 'utf8').split('\n')[0]}\n${text}`);
    const again = await compiled(dir);
    expect(again.rendered).toEqual(ALL);
    expect(again.sql).toEqual(cold.sql);
    // Kept anew, and found from then on.
    expect((await compiled(dir)).rendered).toEqual(AGAIN);
  });

  it("never gives an entry's render for another key: two entries whose keys were exchanged are both refused", async () => {
    const dir = tempProject(PROJECT);
    const eur = await compiled(dir);
    const usd = await compiled(dir, { vars: { currency: 'USD' } });
    const [eurPack, usdPack] = packs(dir).map((p) => join(rendersOf(dir), p)).sort((a, b) => Number(readFileSync(a, 'utf8').includes("'USD'")) - Number(readFileSync(b, 'utf8').includes("'USD'")));
    const baseOf = (pack: string) => packEntries(pack).find((e) => e.code.includes(' as cents'))!;
    const [a, b] = [baseOf(eurPack), baseOf(usdPack)];
    // Each pack holds its render under the other's key, its checksum and text as written.
    const swap = (pack: string, from: string, to: string) => writeFileSync(pack, readFileSync(pack, 'utf8').replace(`\n${from} `, `\n${to} `));
    swap(eurPack, a.key, b.key);
    swap(usdPack, b.key, a.key);
    const again = await compiled(dir);
    expect(again.sql.base).toBe(eur.sql.base);
    expect(again.rendered).toContain('base');
    expect((await compiled(dir, { vars: { currency: 'USD' } })).sql.base).toBe(usd.sql.base);
  });

  it('keeps no render holding a secret: a secret var is read again, and never written beside the warehouse', async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\nsecret_vars: [api_token]\nvars:\n  api_token: s3cr3t-t0ken\n',
      'models/calls.sql': "select '{{ var('api_token') }}' as token\n",
      'models/open.sql': "select 1 as n from {{ ref('calls') }}\n",
    });
    const cold = await compiled(dir);
    expect(cold.sql.calls).toContain('s3cr3t-t0ken');
    const warm = await compiled(dir);
    expect(warm.rendered).toEqual(['calls']);
    const kept = packs(dir).map((p) => readFileSync(join(rendersOf(dir), p), 'utf8'));
    expect(kept.join('')).toContain('select 1 as n');
    expect(kept.join('')).not.toContain('s3cr3t');
  });

  it("takes pipe's build hash kept beside the packs only while the code has the stamp it was kept with", async () => {
    const module = new URL('../../dist/analyze/render-cache.js', import.meta.url);
    // The hash is kept only for code left unchanged a few seconds (a build may have just written it).
    const settleMs = stampOf(module.pathname).changedAtMs + 3_100 - Date.now();
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    // In a process of its own: the hash is read once per process.
    const buildIn = (dir: string) => {
      const script = `const { RenderCache } = await import(${JSON.stringify(module.href)});
console.log(new RenderCache(${JSON.stringify(dir)}).build());`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const dir = join(tempProject(), 'renders');
    const made = buildIn(dir);
    expect(made).toMatch(/^[0-9a-f]{64}$/);
    const { stamp } = stampOf(module.pathname);
    // Kept with the code's stamp: read back, not made.
    expect(readFileSync(join(dir, 'build'), 'latin1')).toBe(`${stamp}\n${made}`);
    const other = 'a'.repeat(64);
    writeFileSync(join(dir, 'build'), `${stamp}\n${other}`);
    expect(buildIn(dir)).toBe(other);
    // Kept for code of another stamp: made again from the code.
    writeFileSync(join(dir, 'build'), `1:2:3:4\n${other}`);
    expect(buildIn(dir)).toBe(made);
  });

  it('works as no cache where its folder cannot be made', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    rmSync(join(dir, '.pipe'), { recursive: true });
    writeFileSync(join(dir, '.pipe'), 'a file where the cache folder would be');
    const again = await compiled(dir);
    expect(again.rendered).toEqual(ALL);
    expect(again.sql).toEqual(cold.sql);
  });
});
