import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOptions } from '../../src/commands/run.js';
import {
  copyExample,
  errorLines,
  expectRefusedBeforeRunning,
  diagnosticsOf,
  eventsOfType,
  explain,
  removeTempDirs,
  tempDir,
  runCount,
  snapshotWarehouse,
  warehouseOf,
  writeProjectFiles,
  type PipeResult,
} from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { builtExample } from '../support/built-example.js';

afterAll(removeTempDirs);

/**
 * Mistakes in the project or in a command's options: exit 2 before anything runs, with the
 * file, line and a hint, and nothing written to the warehouse. The commands run in-process;
 * the printed text is what the CLI's logger renders. test/e2e/bad-input.test.ts holds the
 * few cases that need the binary (its exit status and output, the current directory).
 */

/** Runs `pipe run` on a fresh copy of the example with `files` added; checks exit 2 and that no warehouse appeared. */
async function badRun(files: Record<string, string>, options: Omit<RunOptions, 'project' | 'emit'> = {}): Promise<PipeResult & { dir: string }> {
  const dir = copyExample();
  writeProjectFiles(dir, files);
  const r = await runIn(dir, { date: '2024-01-02', ...options });
  expectRefusedBeforeRunning(r, dir);
  return { ...r, dir };
}

describe('bad input: exit 2, pointing at the source, nothing written', () => {
  it('a dependency cycle shows the whole path and each ref()', async () => {
    const r = await badRun({
      'models/loop/a.sql': "select * from {{ ref('b') }}\n",
      'models/loop/b.sql': "select 1 as x\nfrom {{ ref('c') }}\n",
      'models/loop/c.sql': "select *\n\nfrom {{ ref('a') }}\n",
    });
    const paths = ['a → b → c → a', 'b → c → a → b', 'c → a → b → c'];
    expect(paths.some((p) => r.stderr.includes(p)), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/models\/loop\/a\.sql:1\b/);
    expect(r.stderr).toMatch(/models\/loop\/b\.sql:2\b/);
    expect(r.stderr).toMatch(/models\/loop\/c\.sql:3\b/);
  });

  it('an unknown ref() gives file:line:col, the source line and a suggestion', async () => {
    const r = await badRun({ 'models/marts/recent_orders.sql': "select *\nfrom {{ ref('stg_ordrs') }}\nwhere true\n" });
    expect(r.stderr).toContain('models/marts/recent_orders.sql:2:9');
    expect(r.stderr).toContain("from {{ ref('stg_ordrs') }}");
    expect(r.stderr).toContain("did you mean 'stg_orders'");
    expect(errorLines(r.stderr)).toHaveLength(1);
  });

  it('one model name in two folders names both files', async () => {
    const r = await badRun({ 'models/marts/stg_orders.sql': 'select 1 as order_id\n' });
    expect(r.stderr).toContain('models/marts/stg_orders.sql');
    expect(r.stderr).toContain('models/staging/stg_orders.sql');
    expect(r.stderr).toContain('stg_orders');
  });

  it('names that differ only in case are one table in DuckDB: an error naming both files', async () => {
    const r = await badRun({ 'models/marts/Dim_Customers.sql': 'select 1 as x\n', 'seeds/RAW_ORDERS.csv': 'x\n1\n' });
    const lines = errorLines(r.stderr);
    // The duplicates alone: a ref() to the name of a file left out is not also an unknown ref.
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.includes('models/marts/dim_customers.sql') && l.includes('models/marts/Dim_Customers.sql'))).toContain('defined twice');
    expect(lines.find((l) => l.includes('seeds/raw_orders.csv') && l.includes('seeds/RAW_ORDERS.csv'))).toContain('defined twice');
    expect(r.stderr).toContain('differ only in case');
  });

  it('a template syntax error gives file:line and prints the offending line', async () => {
    const r = await badRun({ 'models/marts/broken.sql': "select order_id\n-- the next line lacks a parenthesis\nfrom {{ ref('stg_orders' }}\n" });
    expect(r.stderr).toMatch(/models\/marts\/broken\.sql:3(:\d+)?: error/);
    expect(r.stderr).toContain("from {{ ref('stg_orders' }}");
  });

  it('a tag, block or comment left open points at the line that opens it', async () => {
    const openers = [
      "  {% if var('extra', false) %} quantity,",
      "  {% for c in ['quantity', 'status'] %} {{ c }},",
      '  {# a comment that is never closed',
    ];
    for (const opener of openers) {
      const r = await badRun({ 'models/marts/broken.sql': `select order_id,\n${opener}\n  customer_id\nfrom {{ ref('stg_orders') }}\n` });
      expect.soft(r.stderr, opener).toMatch(/models\/marts\/broken\.sql:2(:\d+)?: error/);
      expect.soft(r.stderr, opener).toContain(opener.trim());
    }
  });

  it('an undefined template variable is an error at its line, never an empty string', async () => {
    const r = await badRun({ 'models/marts/broken.sql': "select order_id\nfrom {{ ref('stg_orders') }}\nwhere order_date = '{{ dss }}'\n" });
    expect(r.stderr).toMatch(/models\/marts\/broken\.sql:3(:\d+)?: error/);
    expect(r.stderr).toContain('dss');
  });

  it('a var with no value and no default names the var and the line', async () => {
    const r = await badRun({ 'models/marts/priced.sql': "select order_id,\n  '{{ var(\"region\") }}' as region\nfrom {{ ref('stg_orders') }}\n" });
    expect(r.stderr).toMatch(/models\/marts\/priced\.sql:2(:\d+)?: error/);
    expect(r.stderr).toContain('region');
  });

  it("a source() of no declared source, an unknown function or filter: file:line:col and what to do instead", async () => {
    const r = await badRun({
      'models/staging/from_source.sql': 'select id,\n  name\nfrom {{ source("raw", "orders") }}\n',
      'models/staging/typo.sql': "select * from {{ reff('stg_orders') }}\n",
      'models/staging/filtered.sql': "select 1 as x\n{{ 'a' | upperr }}\n",
    });
    expect(r.stderr).toContain(`models/staging/from_source.sql:3:9: error: source('raw', 'orders'): no source is named 'raw'`);
    expect(r.stderr).toContain('hint: declare it under sources: in a properties file');
    expect(r.stderr).toMatch(/models\/staging\/typo\.sql:1:\d+: error: reff\(\) is not defined/);
    expect(r.stderr).toContain("did you mean 'ref'?");
    expect(r.stderr).toMatch(/models\/staging\/filtered\.sql:2:\d+: error: unknown filter 'upperr'/);
    expect(errorLines(r.stderr)).toHaveLength(3);
  });

  it('a model that renders to no SQL is an error naming the file, not a parser error at run time', async () => {
    const r = await badRun({ 'models/staging/only_comment.sql': '-- to do\n{# later #}\n' });
    expect(r.stderr).toMatch(/models\/staging\/only_comment\.sql: error: only_comment renders to no SQL/);
  });

  it('an empty model file builds nothing, with a warning, as dbt skips it; a ref to it is an error at the ref', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, { 'models/staging/empty.sql': '  \n' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stderr).toContain('models/staging/empty.sql: warning: models/staging/empty.sql is empty: no model empty is built from it, as dbt builds none');
    expect(eventsOfType(r.events, 'task-started').map((e) => (e.task as { model: string }).model)).not.toContain('empty');
    const read = await badRun({ 'models/staging/empty.sql': '', 'models/staging/reader.sql': "select * from {{ ref('empty') }}\n" });
    expect(read.stderr).toContain("models/staging/reader.sql:1:18: error: ref('empty'): models/staging/empty.sql is empty, and no model is built from it");
    expect(errorLines(read.stderr)).toHaveLength(1);
    // Selected by name: said as empty, not as switched off.
    const selected = await runIn(dir, { date: '2024-01-02', select: ['empty'] });
    expect(selected.stderr).toContain("models/staging/empty.sql: error: selector 'empty': models/staging/empty.sql is empty, and no model empty is built from it");
  });

  it('an empty ephemeral model is an error where a model reads it, and nothing while none does, as in dbt', async () => {
    const eph = "{{ config(materialized='ephemeral') }}\n-- a placeholder\n";
    const read = await badRun({ 'models/staging/placeholder.sql': eph, 'models/staging/reader.sql': "select * from {{ ref('placeholder') }}\n" });
    expect(read.stderr).toContain('models/staging/placeholder.sql: error: placeholder renders to no SQL (only whitespace or comments) for 2024-01-02, and reader reads it');
    expect(errorLines(read.stderr)).toHaveLength(1);
    const dir = copyExample();
    writeProjectFiles(dir, { 'models/staging/placeholder.sql': eph });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
  });

  it('run inside a project\'s subfolder: says which folder above is the project', async () => {
    const dir = copyExample();
    const r = await runIn(join(dir, 'models'), { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'models')} has no models/ folder`);
    expect(r.stderr).toContain(`hint: ${dir} is one: run pipe there, or pass --project ${dir}`);
  });

  it("run in a repository whose project is a folder below: says which folder it is", async () => {
    const repo = tempDir();
    const dir = copyExample();
    renameSync(dir, join(repo, 'transform'));
    mkdirSync(join(repo, 'node_modules', 'pkg'), { recursive: true });
    writeFileSync(join(repo, 'node_modules', 'pkg', 'dbt_project.yml'), 'name: pkg\n');
    const r = await runIn(repo, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain(`hint: ${join(repo, 'transform')} is one: run pipe there, or pass --project ${join(repo, 'transform')}`);
  });

  it('an impossible --date', async () => {
    for (const date of ['2024-13-01', '2024-02-30']) {
      const r = await badRun({}, { date });
      expect(r.stderr).toContain(date);
      expect(errorLines(r.stderr)).toHaveLength(1);
    }
  });

  it('an unknown --select name: one error with a suggestion', async () => {
    const r = await badRun({}, { select: ['fct_ordrs'] });
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('fct_ordrs');
    expect(r.stderr).toContain("'fct_orders'");
    const json = await runIn(r.dir, { date: '2024-01-02', select: ['fct_ordrs'] });
    expect(json.code).toBe(2);
    expect(diagnosticsOf(json.events)).toEqual([expect.objectContaining({ hint: expect.stringContaining('fct_orders') })]);
    expect(eventsOfType(json.events, 'run-started')).toEqual([]);
  });

  it('an unknown pipeline, with a suggestion', async () => {
    const dir = copyExample();
    const r = await runIn(dir, { pipeline: 'dayly', date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain('dayly');
    expect(r.stderr).toContain("'daily'");
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });

  it('unknown config keys in pipe.yaml, a config() call and a model YAML, all at once, each with a suggestion', async () => {
    const r = await badRun({
      'pipe.yaml': 'name: shop\nvars:\n  currency: EUR\nthread: 4\n',
      'models/marts/tagged.sql': "{{ config(materialized='table', tag=['daily']) }}\nselect 1 as x\n",
      'models/marts/described.sql': 'select 1 as x\n',
      'models/marts/described.yaml': 'description: one row\nmaterialised: table\n',
    });
    expect(r.stderr).toMatch(/pipe\.yaml:4(:\d+)?: error: .*'thread'/);
    expect(r.stderr).toContain("'threads'");
    expect(r.stderr).toMatch(/models\/marts\/tagged\.sql:1(:\d+)?: error: .*'tag'/);
    expect(r.stderr).toContain("'tags'");
    expect(r.stderr).toMatch(/models\/marts\/described\.yaml:2(:\d+)?: error: .*'materialised'/);
    expect(r.stderr).toContain("'materialized'");
    expect(errorLines(r.stderr)).toHaveLength(3);
  });

  it('reports every problem of the project in one pass, also as --json diagnostics', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/one.sql': "select * from {{ ref('nope_one') }}\n",
      'models/marts/two.sql': "select * from {{ ref('nope_two') }}\n",
      'models/marts/three.sql': "select {{ 1 + }} as x\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    const files = diagnosticsOf(r.events).map((d) => d.location?.file).sort();
    expect(files).toEqual(['models/marts/one.sql', 'models/marts/three.sql', 'models/marts/two.sql']);
    for (const d of diagnosticsOf(r.events)) expect(d.location?.line).toBe(1);
    expect(eventsOfType(r.events, 'run-started')).toEqual([]);
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });

  it('on an existing warehouse, bad input changes no table and records no run', async () => {
    const { dir } = await builtExample();
    const db = warehouseOf(dir);
    const before = await snapshotWarehouse(db);
    const runs = await runCount(db);

    const attempts: { files?: Record<string, string>; options: Omit<RunOptions, 'project' | 'emit'> }[] = [
      { options: { date: '2024-13-01' } },
      { options: { date: '2024-01-03', select: ['fct_ordrs'] } },
      { files: { 'models/marts/x.sql': "select * from {{ ref('x') }}\n" }, options: { date: '2024-01-03' } },
    ];
    for (const a of attempts) {
      if (a.files) writeProjectFiles(dir, a.files);
      const r = await runIn(dir, a.options);
      expect(r.code, explain(r)).toBe(2);
      if (a.files) for (const f of Object.keys(a.files)) rmSync(join(dir, f));
    }
    const daily = await runIn(dir, { pipeline: 'dayly', date: '2024-01-03' });
    expect(daily.code, explain(daily)).toBe(2);

    expect(await snapshotWarehouse(db)).toEqual(before);
    expect(await runCount(db)).toBe(runs);
  });
});
