import { spawn, spawnSync } from 'node:child_process';
import { cachedDataVersionTag } from 'node:v8';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import parser from 'nunjucks/src/parser.js';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_PACKS, MAX_UNUSED_DAYS, TemplateCodeCache, templateCacheDir } from '../../src/analyze/template-code-cache.js';
import { compileIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { packEntries, packs, sealed } from '../support/packs.js';
import { parseJsonLines, PIPE_BIN } from '../e2e/helpers.js';

/**
 * The compiled-template cache beside the warehouse: a second compile of an unchanged project
 * compiles no template (counted at Nunjucks' compiler itself), gives the same SQL, and a
 * damaged, stale or unwritable cache is never trusted and never an error.
 */

afterAll(removeProjects);

/** Every call of Nunjucks' compiler and of its parser (for a compile, or a program) in this process, counted while a test runs. */
const compiler = (nunjucks as unknown as { compiler: { compile: (...args: unknown[]) => string } }).compiler;
const original = compiler.compile;
const templateParser = parser as unknown as { parse: (...args: unknown[]) => unknown };
const originalParse = templateParser.parse;
let compiles: string[] = [];
let parses = 0;
beforeEach(() => {
  compiles = [];
  parses = 0;
  compiler.compile = (...args: unknown[]) => {
    compiles.push(String(args[3]));
    return original(...args);
  };
  templateParser.parse = (...args: unknown[]) => {
    parses += 1;
    return originalParse(...args);
  };
});
afterEach(() => {
  compiler.compile = original;
  templateParser.parse = originalParse;
});

/**
 * Macros, loops, a call block, namespace, do, return(), dispatch, Python methods, slices and a
 * query check: the macro file and the call block compile; the rest run as programs, those
 * with a slice made from Nunjucks' tree (and kept), the others by pipe's parser (each time).
 */
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
select {{ ns.cols | join(', ') }}, {{ cents('amount') }} as amount_cents, '€ ✓' as currency,
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
  // Slices: pipe's parser leaves them to Nunjucks', whose tree gives a program (kept).
  'models/firsts.sql': "{% set cols = ['id', 'amount', 'status'] %}select {{ cols[:2] | join(', ') }} from {{ ref('orders') }}\n",
  'models/lasts.sql': "select {{ ['id', 'amount'][1:] | join(', ') }}, '{{ ds[:4] }}' as y from {{ ref('orders') }}\n",
};

const DATE = '2024-01-02';
const cacheOf = (dir: string) => templateCacheDir(join(dir, 'warehouse.duckdb'));
const programsOf = (dir: string) => join(cacheOf(dir), '..', 'programs');
/** The renders kept beside (see render-cache.ts): a model whose render is kept is not compiled, so tests of compiling remove them. */
const forgetRenders = (dir: string) => rmSync(join(cacheOf(dir), '..', 'renders'), { recursive: true, force: true });
const entries = (dir: string) => packs(cacheOf(dir)).flatMap((p) => packEntries(join(cacheOf(dir), p)));
const programEntries = (dir: string) => packs(programsOf(dir)).flatMap((p) => packEntries(join(programsOf(dir), p)));

async function compiled(dir: string) {
  compiles = [];
  parses = 0;
  const r = await compileIn(dir, { date: DATE });
  // The compiled templates are written once the work that compiled them is done.
  await new Promise((resolve) => setImmediate(resolve));
  expect(r.code, r.stderr).toBe(0);
  expect(r.events.filter((e) => e.type === 'diagnostic')).toEqual([]);
  return { models: r.models.map((m) => [m.model, m.sql, m.sql_hash]), compiles: [...compiles], parses };
}

/** A cache folder with one pack of two templates, `a` and `b`, each rendering its name. */
function packOfTwo(): string {
  const dir = join(tempProject(), 'templates');
  const writer = new TemplateCodeCache(dir);
  writer.write('a', "return { root: function () { return 'a'; } };");
  writer.write('b', "return { root: function () { return 'b'; } };");
  writer.flush();
  return dir;
}

/** Loads and renders both templates of a pack of two (packOfTwo) here; what its code cache did. */
function usedHere(dir: string) {
  const cache = new TemplateCodeCache(dir);
  const values = ['a', 'b'].map((k) => (cache.load(k)?.() as { root(): string }).root());
  cache.flush();
  const { codeCacheHits, codeCacheRejected, codeCacheWritten } = cache.stats;
  return { values, codeCacheHits, codeCacheRejected, codeCacheWritten };
}

/**
 * The same in a process of its own, started with `flags` (V8 reads code caches only for a
 * script it has not compiled yet, and checks them against its own flags): prints the result.
 */
function usedInProcess(dir: string, flags: readonly string[] = []) {
  const module = new URL('../../dist/analyze/template-code-cache.js', import.meta.url).href;
  const script = `const { TemplateCodeCache } = await import(${JSON.stringify(module)});
const cache = new TemplateCodeCache(${JSON.stringify(dir)});
const values = ['a', 'b'].map((k) => cache.load(k)().root());
cache.flush();
const { codeCacheHits, codeCacheRejected, codeCacheWritten } = cache.stats;
console.log(JSON.stringify({ values, codeCacheHits, codeCacheRejected, codeCacheWritten }));`;
  return spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
}

describe('the compiled-template cache', () => {
  it('compiles nothing on a warm cache, and gives the same SQL and hashes as a cold one', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    // The macro file and the call block compile; the rest are programs.
    expect(cold.compiles.sort()).toEqual(['macros/money.sql', 'models/wrapped.sql']);
    expect(entries(dir)).toHaveLength(2);
    // Nunjucks parsed the macro file and the call block to compile them (the call block a first time for a program), and the two with slices.
    expect(cold.parses).toBe(5);
    // Their two programs are kept, and that the call block has none (so that it is not parsed again to find that out).
    expect(programEntries(dir).filter((e) => e.code.startsWith('{"body":'))).toHaveLength(2);
    expect(programEntries(dir).filter((e) => e.code === 'null')).toHaveLength(1);
    const warm = await compiled(dir);
    expect(warm.compiles).toEqual([]);
    // Nunjucks parsed nothing, and nothing was kept anew.
    expect(warm.parses).toBe(0);
    expect(packs(programsOf(dir))).toHaveLength(1);
    expect(warm.models).toEqual(cold.models);
    expect(cold.models.find(([m]) => m === 'orders')?.[1]).toContain("n_placEd");
    expect(cold.models.find(([m]) => m === 'orders')?.[1]).toContain("'€ ✓' as currency");
    // pipe run reads the same compiled templates.
    compiles = [];
    const run = await runIn(dir, { date: DATE });
    expect(run.code, run.stderr).toBe(0);
    expect(compiles).toEqual([]);
    // The same project without any cache renders the same SQL.
    rmSync(join(dir, '.pipe'), { recursive: true });
    writeFileSync(join(dir, '.pipe'), 'a file where the cache folder would be');
    expect((await compiled(dir)).models).toEqual(cold.models);
  });

  it('compiles again an entry cut short, or whose code does not load, never trusting either', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    const [pack] = packs(cacheOf(dir)).map((p) => join(cacheOf(dir), p));
    const [first, second, ...rest] = packEntries(pack);
    // The first entry's code cut short (its hash no longer matches); the second's replaced by
    // code that gives no template, under a matching hash.
    const bad = 'return { nothing: 1 };';
    const damaged = [
      { ...first, code: first.code.slice(0, -40) },
      { key: second.key, ...sealed(second.key, bad) },
      ...rest,
    ];
    const text = damaged.map((e) => `${e.key} ${e.checksum} ${e.code.length}\n${e.code}\n`).join('');
    writeFileSync(pack, `${readFileSync(pack, 'utf8').split('\n')[0]}\n${text}`);
    forgetRenders(dir);
    const rebuilt = await compiled(dir);
    expect(rebuilt.compiles).toHaveLength(2);
    expect(rebuilt.models).toEqual(cold.models);
    // The pack of the two entries compiled again has the damaged pack's content as it was, so
    // its name (the hash of that content): it takes the damaged one's place.
    expect(packs(cacheOf(dir))).toHaveLength(1);
    expect((await compiled(dir)).compiles).toEqual([]);
  });

  it('parses again a program cut short, not JSON, or not a whole program, never running either', async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    const [pack] = packs(programsOf(dir)).map((p) => join(programsOf(dir), p));
    const kept = packEntries(pack);
    const programs = kept.filter((e) => e.code !== 'null');
    expect(programs).toHaveLength(2);
    // Under hashes that match: the first program cut short (not JSON), the second one with a
    // statement of no known kind; and the first entry's own hash no longer matching its text.
    const damaged = kept.map((e) => {
      if (e === programs[0]) return { key: e.key, ...sealed(e.key, e.code.slice(0, -20)) };
      if (e === programs[1]) return { key: e.key, ...sealed(e.key, e.code.replace('"t":"text"', '"t":"shell"').replace('"t":"out"', '"t":"shell"')) };
      return e;
    });
    const text = damaged.map((e) => `${e.key} ${e.checksum} ${e.code.length}\n${e.code}\n`).join('');
    writeFileSync(pack, `${readFileSync(pack, 'utf8').split('\n')[0]}\n${text}`);
    forgetRenders(dir);
    const again = await compiled(dir);
    expect(again.models).toEqual(cold.models);
    expect(again.compiles).toEqual([]);
    expect(again.parses).toBe(2);
    // Both made again, and kept in a pack of their own, as they were.
    const made = packs(programsOf(dir)).map((p) => join(programsOf(dir), p)).filter((p) => p !== pack);
    expect(made).toHaveLength(1);
    expect(packEntries(made[0]).map((e) => [e.key, e.code]).sort()).toEqual(programs.map((e) => [e.key, e.code]).sort());
    // Found first from now on: the next compile parses nothing.
    forgetRenders(dir);
    expect((await compiled(dir)).parses).toBe(0);
    expect(packs(programsOf(dir))).toHaveLength(2);
  });

  it("keeps V8's code cache of a pack once it has been used, and the next compile loads its templates from it", async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    const codeCaches = () => readdirSync(cacheOf(dir)).filter((f) => f.endsWith('.v8'));
    expect(codeCaches()).toEqual([]);
    // The first compile that reads the pack compiles its script and keeps V8's cache of it.
    expect((await compiled(dir)).models).toEqual(cold.models);
    expect(codeCaches()).toEqual([`${packs(cacheOf(dir))[0]}.${process.versions.v8}-${cachedDataVersionTag()}.v8`]);
    const third = await compiled(dir);
    expect(third).toEqual({ models: cold.models, compiles: [], parses: 0 });
  });

  it("uses a pack's code cache only when it is whole and made for the pack's script, and makes it again otherwise", () => {
    const dir = packOfTwo();
    const used = () => usedHere(dir);
    expect(used()).toEqual({ values: ['a', 'b'], codeCacheHits: 0, codeCacheRejected: 0, codeCacheWritten: 1 });
    expect(used()).toEqual({ values: ['a', 'b'], codeCacheHits: 1, codeCacheRejected: 0, codeCacheWritten: 0 });
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.v8'));
    const bytes = readFileSync(join(dir, file));
    // Damaged data (its hash no longer matches); then whole data said to be of another script.
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 10] ^= 0xff;
    writeFileSync(join(dir, file), damaged);
    expect(used()).toEqual({ values: ['a', 'b'], codeCacheHits: 0, codeCacheRejected: 1, codeCacheWritten: 1 });
    const eol = bytes.indexOf(10);
    const [format, version, , dataHash] = bytes.subarray(0, eol).toString('latin1').split(' ');
    writeFileSync(join(dir, file), Buffer.concat([Buffer.from(`${format} ${version} ${'0'.repeat(64)} ${dataHash}\n`), bytes.subarray(eol + 1)]));
    expect(used()).toEqual({ values: ['a', 'b'], codeCacheHits: 0, codeCacheRejected: 1, codeCacheWritten: 1 });
    // Data V8 itself refuses (made by another V8), under a matching header: V8 reads code caches
    // only for a script it has not compiled yet, so a process of its own loads the pack.
    const junk = Buffer.from('not a code cache of V8');
    const sourceHash = bytes.subarray(0, eol).toString('latin1').split(' ')[2];
    writeFileSync(join(dir, file), Buffer.concat([Buffer.from(`${format} ${version} ${sourceHash} ${createHash('sha256').update(junk).digest('hex')}\n`), junk]));
    const child = usedInProcess(dir);
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ values: ['a', 'b'], codeCacheHits: 0, codeCacheRejected: 1, codeCacheWritten: 1 });
    // Made again, for the same script.
    expect(readFileSync(join(dir, file)).subarray(0, eol).toString('latin1').split(' ')[2]).toBe(sourceHash);
    expect(readFileSync(join(dir, file)).length).toBeGreaterThan(junk.length + eol + 1);
  });

  it('keeps a code cache per set of V8 flags: a process started with other flags neither takes nor replaces this one', () => {
    const dir = packOfTwo();
    const used = () => usedHere(dir);
    expect(used()).toMatchObject({ codeCacheHits: 0, codeCacheWritten: 1 });
    // A heap limit of its own: V8 refuses a code cache made under other flags.
    const other = () => usedInProcess(dir, ['--max-old-space-size=3000']);
    const first = other();
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toEqual({ values: ['a', 'b'], codeCacheHits: 0, codeCacheRejected: 0, codeCacheWritten: 1 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.v8'))).toHaveLength(2);
    expect(JSON.parse(other().stdout)).toEqual({ values: ['a', 'b'], codeCacheHits: 1, codeCacheRejected: 0, codeCacheWritten: 0 });
    expect(used()).toEqual({ values: ['a', 'b'], codeCacheHits: 1, codeCacheRejected: 0, codeCacheWritten: 0 });
  });

  it('hashes a pack and its code cache once while they are unchanged, and again once either is written to', () => {
    const dir = packOfTwo();
    const checkedFiles = () => readdirSync(dir).filter((f) => f.endsWith('.checked')).length;
    /** A process that loads both templates at `now`; what it hashed and what it loaded. */
    const used = (now: () => number) => {
      const cache = new TemplateCodeCache(dir, now);
      const values = ['a', 'b'].map((k) => (cache.load(k)?.() as { root(): string } | undefined)?.root());
      cache.flush();
      const { hashed, rejected, codeCacheHits } = cache.stats;
      return { values, hashed, rejected, codeCacheHits };
    };
    // Just written, a file is hashed by every process: a write in the same tick of the file system's clock could leave its stamp as it is.
    expect(used(Date.now)).toEqual({ values: ['a', 'b'], hashed: 1, rejected: 0, codeCacheHits: 0 });
    expect(used(Date.now)).toEqual({ values: ['a', 'b'], hashed: 2, rejected: 0, codeCacheHits: 1 });
    expect(checkedFiles()).toBe(0);
    // Seconds later, the first process to find them whole keeps their stamps; the next hashes nothing.
    const later = () => Date.now() + 60_000;
    expect(used(later)).toEqual({ values: ['a', 'b'], hashed: 2, rejected: 0, codeCacheHits: 1 });
    expect(checkedFiles()).toBe(2);
    expect(used(later)).toEqual({ values: ['a', 'b'], hashed: 0, rejected: 0, codeCacheHits: 1 });
    // A byte of the pack changed in place, its size, inode and modification time as they were
    // (only its change time, which no one sets, moved): the pack is hashed again, found damaged,
    // and the entry's own hash refuses it.
    const [pack] = packs(dir);
    const bytes = readFileSync(join(dir, pack));
    const at = bytes.lastIndexOf("'b'");
    bytes[at + 1] = 'c'.charCodeAt(0);
    const { atime, mtime } = statSync(join(dir, pack));
    writeFileSync(join(dir, pack), bytes);
    utimesSync(join(dir, pack), atime, mtime);
    expect(used(later)).toEqual({ values: ['a', undefined], hashed: 1, rejected: 1, codeCacheHits: 0 });
  });

  it("reads only regular files: a FIFO in place of a pack, its stamp or code cache is passed over, and the compile ends as a cold one", async () => {
    const dir = tempProject(PROJECT);
    const cold = await compiled(dir);
    // Every file pipe keeps in .pipe/ (packs of templates, programs, renders, YAML; code caches;
    // pipe's build hash) and a stamp beside each pack: a FIFO with no writer, whose read never ends.
    const kept = readdirSync(join(dir, '.pipe'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name));
    const fifos = [...kept, ...kept.filter((f) => f.endsWith('.pack')).map((f) => `${f}.checked`)];
    expect(fifos.filter((f) => f.endsWith('.pack')).length).toBeGreaterThanOrEqual(3);
    for (const f of fifos) {
      rmSync(f, { force: true });
      expect(spawnSync('mkfifo', [f]).status).toBe(0);
    }
    // In a process of its own: a read that blocks blocks the whole process, and a signal does not end it.
    const r = spawnSync(process.execPath, [PIPE_BIN, 'compile', '--json', '--date', DATE, '--project', dir], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const models = parseJsonLines(r.stdout).filter((e) => e.type === 'compiled') as unknown as { model: string; sql: string; sql_hash: string }[];
    expect(models.map((m) => [m.model, m.sql, m.sql_hash])).toEqual(cold.models);
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

  it('removes packs unused for the pruning age when it writes, keeping those used since', () => {
    const dir = join(tempProject(), 'templates');
    const day = 86_400_000;
    const start = Date.now();
    const packed = (now: number, key: string) => {
      const cache = new TemplateCodeCache(dir, () => now);
      cache.write(key, `return '${key}';`);
      cache.flush();
    };
    packed(start, 'old');
    packed(start, 'used');
    const past = new Date(start - 1000);
    for (const p of packs(dir)) utimesSync(join(dir, p), past, past);
    // Read (used) two days later; then a process writes after the pruning age.
    const reader = new TemplateCodeCache(dir, () => start + 2 * day);
    expect(reader.read('used')).toBe("return 'used';");
    reader.flush();
    packed(start + (MAX_UNUSED_DAYS + 1) * day, 'new');
    const after = new TemplateCodeCache(dir);
    expect([after.read('old'), after.read('used'), after.read('new')]).toEqual([undefined, "return 'used';", "return 'new';"]);
    expect(packs(dir)).toHaveLength(2);
  });

  it(`keeps at most ${MAX_PACKS} packs: beyond, a process writes what it used into its own pack and removes the others`, () => {
    const dir = join(tempProject(), 'templates');
    for (let i = 0; i < MAX_PACKS; i++) {
      const cache = new TemplateCodeCache(dir);
      cache.write(`k${i}`, `return ${i};`);
      cache.flush();
    }
    expect(packs(dir)).toHaveLength(MAX_PACKS);
    const last = new TemplateCodeCache(dir);
    expect(last.read('k3')).toBe('return 3;');
    last.write('k-last', 'return -1;');
    last.flush();
    expect(packs(dir)).toHaveLength(1);
    const after = new TemplateCodeCache(dir);
    expect([after.read('k3'), after.read('k-last'), after.read('k4')]).toEqual(['return 3;', 'return -1;', undefined]);
  });

  it('keeps one whole entry when two processes write it at once, as a third reads it', async () => {
    const dir = join(tempProject(), 'templates');
    const module = new URL('../../dist/analyze/template-code-cache.js', import.meta.url).href;
    const code = `return { root: function () { return ${JSON.stringify('x'.repeat(200_000))}; } };`;
    const script = join(dir, '..', 'cache-user.mjs');
    // A writer writes a pack of the entry 50 times; the reader reads the folder 200 times and fails on any entry that is not whole.
    writeFileSync(
      script,
      `const { TemplateCodeCache } = await import(${JSON.stringify(module)});
const cache = new TemplateCodeCache(${JSON.stringify(dir)});
const code = ${JSON.stringify(code)};
let rejected = 0;
if (process.argv[2] === 'write') for (let i = 0; i < 50; i++) { cache.write('same', code); cache.flush(); }
else for (let i = 0; i < 200; i++) {
  const reader = new TemplateCodeCache(${JSON.stringify(dir)});
  const read = reader.read('same');
  if (read !== undefined && read !== code) process.exit(4);
  rejected += reader.stats.rejected;
}
if (rejected > 0) process.exit(3);`,
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
    expect(readdirSync(dir).filter((f) => f !== '.pruned')).toEqual(packs(dir));
    expect(packs(dir)).toHaveLength(1);
    expect(new TemplateCodeCache(dir).read('same')).toBe(code);
  });
});
