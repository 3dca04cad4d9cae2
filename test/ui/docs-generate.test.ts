import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UiModel } from '../../src/ui/api.js';
import type { DocsIndex } from '../../src/ui/docs-format.js';
import { docsGenerate, DOCS_MARKER } from '../../src/ui/docs/docs-generate.js';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { holdWarehouse } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { builtProject, stubAssets, type Fixture } from './ui-fixture.js';

/** `pipe docs generate`: the files it writes, read as the page reads them. */

let fx: Fixture;
let assets: string;

/** A written script's JSON: `NAME=json;` or `NAME(i,json);`. */
function scriptJson<T>(file: string): T {
  const text = readFileSync(file, 'utf8');
  return JSON.parse(text.slice(text.search(/[{]/), text.lastIndexOf('}') + 1)) as T;
}

function modelFile(out: string, index: DocsIndex, name: string): UiModel {
  const i = index.graph.nodes.findIndex((n) => n.name === name);
  expect(i, name).toBeGreaterThanOrEqual(0);
  expect(readFileSync(join(out, 'data/models', `${i}.js`), 'utf8')).toMatch(new RegExp(`^PIPE_DOCS_MODEL\\(${i},`));
  return scriptJson<UiModel>(join(out, 'data/models', `${i}.js`));
}

describe('pipe docs generate', () => {
  beforeAll(async () => {
    fx = await builtProject();
    assets = stubAssets();
    writeFileSync(join(assets, 'app.js'), '/* page */');
  });
  afterAll(() => removeProjects());

  it('writes the page, an index of the graph and one file per node, with columns from the warehouse', async () => {
    const written = await docsGenerate({ project: fx.dir, assets });
    expect(written.out).toBe(join(fx.dir, 'target/docs'));
    expect(written.columnsFrom).toBe('warehouse');
    const html = readFileSync(join(written.out, 'index.html'), 'utf8');
    // Relative names, data before the page: it opens from file:// and from any folder of a host.
    expect(html.indexOf('src="data/index.js"')).toBeGreaterThan(0);
    expect(html.indexOf('src="data/index.js"')).toBeLessThan(html.indexOf('src="assets/app.js"'));
    expect(readFileSync(join(written.out, 'assets/app.js'), 'utf8')).toBe('/* page */');
    const index = scriptJson<DocsIndex>(join(written.out, 'data/index.js'));
    expect(index.graph.nodes.map((n) => n.name).sort()).toEqual(['a', 'b', 'bad', 'c', 'checked', 'people']);
    expect(index.graph.nodes.every((n) => n.last_status === null)).toBe(true);
    // No path of this machine in a site meant to be read elsewhere.
    expect(readFileSync(join(written.out, 'data/index.js'), 'utf8')).not.toContain(fx.dir);
    expect(index.graph.project).toEqual({ name: expect.any(String), root: '.', warehouse: 'warehouse.duckdb' });
    expect(readdirSync(join(written.out, 'data/models')).length).toBe(6);
    const a = modelFile(written.out, index, 'a');
    expect(a.columns_from).toBe('warehouse');
    expect(a.columns.map((c) => c.name)).toEqual(['id', 'name']);
    expect(a.downstream.sort()).toEqual(['b', 'bad', 'checked']);
    expect(a.compiled).toEqual({ sql: expect.stringContaining('"main"."people"') });
    expect(a.source_sql).toContain("ref('people')");
    expect(a.tasks).toEqual([]);
    // Never built: its columns are the project's (none declared).
    const c = modelFile(written.out, index, 'c');
    expect(c.columns_from).toBe('project');
    expect(modelFile(written.out, index, 'checked').checks.map((k) => k.name)).toEqual(['expression(id < 2)']);
    expect(modelFile(written.out, index, 'people').compiled).toEqual({ problem: 'a seed has no query of its own' });
  });

  it('shows the columns the project declares while another process holds the warehouse, and says so', async () => {
    const holder = await holdWarehouse(join(fx.dir, 'warehouse.duckdb'));
    try {
      const written = await docsGenerate({ project: fx.dir, out: 'held', assets });
      expect(written.columnsFrom).toBe('project');
      expect(written.warnings.map((w) => w.message)).toContainEqual(expect.stringContaining('columns are shown as the project declares them'));
      const index = scriptJson<DocsIndex>(join(written.out, 'data/index.js'));
      expect(modelFile(written.out, index, 'a').columns_from).toBe('project');
    } finally {
      await holder.release();
    }
  });

  it('writes secrets masked, as pipe compile prints them: a site is copied to other hosts', async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: sec\nsecret_vars: [api_key]\nvars:\n  api_key: supersecretvalue123\n',
      'models/s.sql': `select '{{ env_var("PIPE_DOCS_TOKEN") }}' as tok, '{{ var("api_key") }}' as k\n`,
    });
    process.env.PIPE_DOCS_TOKEN = 'sk_live_SUPERSECRET42';
    try {
      const written = await docsGenerate({ project: dir, assets });
      const index = scriptJson<DocsIndex>(join(written.out, 'data/index.js'));
      expect(modelFile(written.out, index, 's').compiled).toEqual({ sql: "select '****' as tok, '****' as k" });
      const everything = ['data/index.js', ...readdirSync(join(written.out, 'data/models')).map((f) => `data/models/${f}`)].map((f) => readFileSync(join(written.out, f), 'utf8')).join('\n');
      expect(everything).not.toMatch(/SUPERSECRET|supersecretvalue/);
    } finally {
      delete process.env.PIPE_DOCS_TOKEN;
    }
  });

  it('replaces its own previous output whole', async () => {
    const out = join(fx.dir, 'site');
    await docsGenerate({ project: fx.dir, out: 'site', assets });
    writeFileSync(join(out, 'data/models/999.js'), 'stale');
    writeFileSync(join(out, 'notes.txt'), 'put here since');
    writeFileSync(join(out, 'data/extra.js'), 'put here since');
    await docsGenerate({ project: fx.dir, out: 'site', assets });
    expect(existsSync(join(out, 'data/models/999.js'))).toBe(false);
    expect(existsSync(join(out, 'notes.txt'))).toBe(false);
    expect(existsSync(join(out, 'data/extra.js'))).toBe(false);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    expect(existsSync(join(out, DOCS_MARKER))).toBe(true);
    expect(readdirSync(fx.dir).filter((f) => f.startsWith('site.'))).toEqual([]);
  });

  it('refuses a folder it did not write, and leaves it as it was', async () => {
    const out = join(fx.dir, 'mine');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'keep me');
    const e = await docsGenerate({ project: fx.dir, out: 'mine', assets }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DiagnosticError);
    expect((e as DiagnosticError).diagnostics[0].message).toBe(`${out} is not empty and was not written by pipe docs generate: pipe does not replace it`);
    expect(readdirSync(out)).toEqual(['notes.txt']);
  });

  it("keeps the project's descriptions on the warehouse's columns, and shows the declared ones the table lacks", async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/orders.sql': 'select 1 as ID, 2.5 as amount',
      'models/schema.yml': [
        'version: 2',
        'models:',
        '  - name: orders',
        '    description: One row per order.',
        '    columns:',
        '      - name: id',
        '        description: The order.',
        '      - name: status',
        '        description: Not built yet.',
      ].join('\n'),
    });
    const before = await docsGenerate({ project: dir, out: 'docs', assets });
    const at = (out: string) => {
      const index = scriptJson<DocsIndex>(join(out, 'data/index.js'));
      return modelFile(out, index, 'orders');
    };
    expect(before.columnsFrom).toBe('project');
    expect(at(before.out)).toMatchObject({ description: 'One row per order.', columns_from: 'project' });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const after = await docsGenerate({ project: dir, out: 'docs', assets });
    const model = at(after.out);
    expect(model.columns_from).toBe('warehouse');
    expect(model.columns).toEqual([
      { name: 'ID', type: 'INTEGER', description: 'The order.' },
      { name: 'amount', type: 'DECIMAL(2,1)' },
      { name: 'status', type: '', description: 'Not built yet.', in_table: false },
    ]);
    expect(model.node.last_status).toBeNull();
  });

  it('refuses a folder it cannot make, naming it and why, without spinning under /proc', async () => {
    writeFileSync(join(fx.dir, 'a-file'), 'x');
    // Root may write anywhere but in /sys; /proc takes no new folder, and Node's recursive mkdir loops there.
    const cases = [
      [join(fx.dir, 'a-file', 'docs'), `cannot create the folder ${join(fx.dir, 'a-file', 'docs')}: ${join(fx.dir, 'a-file')} is a file, not a folder`],
      ['/proc/pipe-docs', 'cannot create the folder /proc/pipe-docs: the file system does not allow it'],
    ];
    for (const [out, says] of cases) {
      const e = await docsGenerate({ project: fx.dir, out, assets }).catch((x: unknown) => x);
      expect(e, out).toBeInstanceOf(DiagnosticError);
      expect((e as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'docs-out', message: `cannot write the docs to ${out}: ${says}` });
    }
    expect(existsSync('/proc/pipe-docs')).toBe(false);
  });

  it('refuses when the page is not built', async () => {
    const e = await docsGenerate({ project: fx.dir, out: 'unbuilt', assets: stubAssets() }).catch((x: unknown) => x);
    expect((e as DiagnosticError).diagnostics[0].code).toBe('ui-not-built');
    expect(existsSync(join(fx.dir, 'unbuilt'))).toBe(false);
  });
});
