import { isUtf8 } from 'node:buffer';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import { DiagnosticError, type Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { analyzeAndSelect } from '../../src/commands/context.js';
import { noLongerBuilt, noLongerBuiltNotice } from '../../src/commands/no-longer-built.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { parseCliSelection } from '../../src/graph/selection-spec.js';
import { schemaChange } from '../../src/plan/strategies/schema-change.js';
import { loadProject } from '../../src/project/load-project.js';
import { nameProblem } from '../../src/project/names.js';
import { CachedFs } from '../../src/project/project-fs.js';
import { invalidUtf8At } from '../../src/project/utf8.js';

/**
 * Inputs pipe once took silently and now refuses or reports: model names that cannot be
 * names, files that are not UTF-8, config() keys set twice, selections of nothing, columns
 * retyped under append_new_columns, relations left behind.
 */

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function project(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-refusals-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const day = dayInterval(parseDate('2024-01-02')!);
const analyzed = (files: Record<string, string | Buffer>): Analysis => analyze(loadProject(project(files)), { interval: day });
/** The diagnostics `f` throws: it must throw them. */
function thrownBy(f: () => unknown): readonly Diagnostic[] {
  try {
    f();
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics;
    throw e;
  }
  throw new Error('nothing was thrown');
}

const where = (d: Diagnostic) => `${d.location?.file}:${d.location?.line ?? ''}:${d.location?.column ?? ''}`;

describe('the rule for model and seed names', () => {
  const accepted = ['orders', 'stg_orders', '_scratch', 'fct-orders', 'a$b', 'x1', '주문', '주문_2024', '注文', 'café', 'cafe\u0301', 'Ünïcödé', 'ORDERS'];

  it.each(accepted)('accepts %j', (name) => {
    expect(nameProblem(name)).toBeUndefined();
  });

  it('keeps every accepted name one whole name in --select, with or without + around it', () => {
    for (const name of accepted) {
      expect(parseCliSelection([name, `+${name}+`]).criteria.map((s) => [s.method, s.value])).toEqual([
        ['fqn', name],
        ['fqn', name],
      ]);
    }
  });

  const refused: [string, string][] = [
    ['my model', 'it holds a space'],
    ['a\tb', 'it holds a tab'],
    ['evil"; DROP TABLE main.raw_trips; --', `it holds '"'`],
    ["it's", `it holds '''`],
    ['a;b', "it holds ';'"],
    ['stg.orders', "it holds '.'"],
    ['a,b', "it holds ','"],
    ['a+b', "it holds '+'"],
    ['tag:x', "it holds ':'"],
    ['orders@2024-01-02', "it holds '@'"],
    ['a*', "it holds '*'"],
    ['path/x', "it holds '/'"],
    ['a\\b', "it holds '\\'"],
    ['a\u0007b', 'it holds a control character (U+0007)'],
    ['a\nb', 'it holds a control character (U+000A)'],
    ['a\u001b[31mb', 'it holds a control character (U+001B)'],
    ['a\u00a0b', 'it holds a space character (U+00A0)'],
    ['a\u3000b', 'it holds a space character (U+3000)'],
    ['a\u200bb', 'it holds an invisible character (U+200B)'],
    ['a\u202eb', 'it holds an invisible character (U+202E)'],
    ['2024_orders', "it starts with '2'"],
    ['-x', "it starts with '-'"],
    ['$x', "it starts with '$'"],
    ['+orders', "it starts with '+'"],
    ['\u0301a', "it starts with '\u0301'"],
    ['__pipe_stage__orders', 'names starting with __pipe are kept for pipe\'s own tables'],
    ['__PIPE_ephemeral__x', 'names starting with __pipe are kept for pipe\'s own tables'],
    ['', 'the name is empty'],
  ];

  it.each(refused)('refuses %j: %s', (name, why) => {
    expect(nameProblem(name)).toBe(why);
  });

  it('takes a digit first in a dbt project, as dbt-duckdb does, but not digits alone', () => {
    expect(nameProblem('01_orders', true)).toBeUndefined();
    expect(nameProblem('2024', true)).toBe('it is digits alone, which YAML reads as a number');
    expect(nameProblem('٣_orders', true)).toBeUndefined();
    expect(nameProblem('-x', true)).toBe("it starts with '-'");
    expect(nameProblem('01 orders', true)).toBe('it holds a space');
    expect(nameProblem('01_orders')).toBe("it starts with '0'");
  });

  it('refuses every character selectors, task ids, relationships or SQL give a meaning to', () => {
    for (const ch of ' \t\r\n"\'`;.,+:@*/\\()[]{}<>=!?#%&|^~') expect(nameProblem(`a${ch}b`), JSON.stringify(ch)).toBeDefined();
  });
});

describe('files whose name is refused', () => {
  it('are left out with an error naming the file, and a ref() or relationship to them is not also unknown', () => {
    const a = analyzed({
      'models/my model.sql': 'select 1 as id',
      'models/evil"; DROP TABLE main.raw_trips; --.sql': 'select 1 as id',
      'models/__pipe_stage__x.sql': 'select 1 as id',
      'models/주문.sql': 'select 1 as id',
      'seeds/2024data.csv': 'id\n1\n',
      'models/b.sql': "select * from {{ ref('my model') }}, {{ ref('주문') }}",
      'models/b.yaml': 'checks:\n  relationships: {id: 2024data.id}\n',
    });
    expect(a.diagnostics.map((d) => [d.code, d.location?.file, d.message])).toEqual([
      ['bad-name', 'models/__pipe_stage__x.sql', "'__pipe_stage__x' cannot be a model name: names starting with __pipe are kept for pipe's own tables"],
      ['bad-name', 'models/evil"; DROP TABLE main.raw_trips; --.sql', `'evil"; DROP TABLE main.raw_trips; --' cannot be a model name: it holds '"'`],
      ['bad-name', 'models/my model.sql', "'my model' cannot be a model name: it holds a space"],
      ['bad-name', 'seeds/2024data.csv', "'2024data' cannot be a seed name: it starts with '2'"],
    ]);
    expect(a.diagnostics[0].hint).toContain("letters (of any script), digits, _, $ and -, starting with a letter or _ (but not __pipe)");
    expect([...a.nodes.keys()].sort()).toEqual(['b', '주문']);
    expect(a.nodes.get('b')!.upstream).toEqual(['주문']);
  });

  it('are not also unknown to --select', () => {
    const files = loadProject(project({ 'models/a.sql': 'select 1', 'seeds/2024data.csv': 'id\n1\n' }));
    expect(thrownBy(() => analyzeAndSelect(files, { interval: day, select: ['2024data+'] })).map((d) => d.code)).toEqual(['bad-name']);
  });

  it("selectors.yml in a pipe project is said not to be read (pipelines name selections there), not left for --selector to call unknown", () => {
    const a = analyzed({ 'models/a.sql': 'select 1 as id', 'selectors.yml': 'selectors:\n  - name: marts\n    definition: a\n' });
    expect(a.diagnostics.map((d) => [d.code, d.severity, d.location?.file, d.message])).toEqual([
      ['not-read', 'warning', 'selectors.yml', 'selectors.yml is read in a dbt project only (beside dbt_project.yml): its selectors are not known here'],
    ]);
  });

  it('with an extension in capitals are not read, and said so: orders.SQL, raw.CSV, a.YAML', () => {
    const a = analyzed({
      'models/a.sql': 'select 1 as id',
      'models/a.YAML': 'checks:\n  not_null: [id]\n',
      'models/b.SQL': 'select 2 as id',
      'seeds/raw.CSV': 'id\n1\n',
      'seeds/raw.Yml': 'column_types:\n  id: VARCHAR\n',
      'models/notes.txt': 'x',
    });
    expect(a.diagnostics.map((d) => [d.code, d.severity, d.location?.file, d.message, d.hint])).toEqual([
      ['not-read', 'warning', 'models/a.YAML', 'models/a.YAML is not read: a YAML file name ends in .yml or .yaml, in lower case', 'rename it to a.yaml'],
      ['not-read', 'warning', 'models/b.SQL', "models/b.SQL is not read: a model's file name ends in .sql, in lower case", 'rename it to b.sql'],
      ['not-read', 'warning', 'seeds/raw.CSV', "seeds/raw.CSV is not read: a seed's file name ends in .csv, in lower case", 'rename it to raw.csv'],
      ['not-read', 'warning', 'seeds/raw.Yml', 'seeds/raw.Yml is not read: a YAML file name ends in .yml or .yaml, in lower case', 'rename it to raw.yml'],
    ]);
    expect([...a.nodes.keys()]).toEqual(['a']);
  });

  it('never print control characters of a name into the terminal', () => {
    const a = analyzed({ 'models/a\u001b[31mb.sql': 'select 1' });
    expect(a.diagnostics[0].message).toBe("'a\\u001b[31mb' cannot be a model name: it holds a control character (U+001B)");
  });
});

describe('files that are not UTF-8', () => {
  const bytes = (...b: number[]) => Buffer.from(b);

  it.each([
    ['ASCII', bytes(0x61, 0x0a, 0x62), undefined],
    ['two, three and four bytes', Buffer.from('é 한 😀'), undefined],
    ['Latin-1 é', bytes(0x63, 0x61, 0x66, 0xe9), 3],
    ['a lone continuation byte', bytes(0x61, 0x80), 1],
    ['a sequence cut short by the end', bytes(0x61, 0xe2, 0x82), 1],
    ['a sequence cut short by ASCII', bytes(0xe2, 0x28, 0xa1), 0],
    ['an overlong slash', bytes(0xc0, 0xaf), 0],
    ['an overlong three-byte form', bytes(0xe0, 0x80, 0xaf), 0],
    ['a surrogate', bytes(0xed, 0xa0, 0x80), 0],
    ['a code point past U+10FFFF', bytes(0xf4, 0x90, 0x80, 0x80), 0],
    ['a byte never used', bytes(0x61, 0xff), 1],
  ])('finds the first bad byte in %s', (_what, b, at) => {
    expect(invalidUtf8At(b)).toBe(at);
  });

  it('agrees with Node on whether random bytes are UTF-8', () => {
    // A fixed generator: the same bytes every run.
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.alloc(1 + (next() % 8));
      // High bytes mostly, where the encoding's rules are.
      for (let j = 0; j < b.length; j++) b[j] = next() % 4 === 0 ? next() % 0x80 : 0x80 + (next() % 0x80);
      expect(invalidUtf8At(b) === undefined, b.toString('hex')).toBe(isUtf8(b));
    }
  });

  const latin1 = Buffer.concat([Buffer.from("select 1 as id\n-- l'été\n-- caf"), bytes(0xe9), Buffer.from('\n')]);

  it.each([
    ['the disk', undefined],
    ['the watch cache', new CachedFs()],
  ])('are refused at the line and column of the first bad byte, read from %s; a ref() to the model is not also unknown', (_from, fs) => {
    const root = project({
      'models/a.sql': latin1,
      'models/b.sql': "select * from {{ ref('a') }}",
      'macros/m.sql': Buffer.concat([Buffer.from('{% macro m() %}'), bytes(0xfc), Buffer.from('{% endmacro %}')]),
      'models/c.sql': 'select 1 as x',
      'models/c.yaml': Buffer.concat([Buffer.from('description: gr'), bytes(0xfc, 0x6e)]),
      'pipelines/p.yaml': Buffer.concat([Buffer.from('select: [b]\ndescription: '), bytes(0xa0)]),
    });
    const a = analyze(loadProject(root, fs), { interval: day });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message])).toEqual([
      ['not-utf8', 'models/a.sql:3:7', 'models/a.sql is not valid UTF-8: byte 0xE9 on line 3 cannot be decoded'],
      ['not-utf8', 'models/c.yaml:1:16', 'models/c.yaml is not valid UTF-8: byte 0xFC on line 1 cannot be decoded'],
      ['not-utf8', 'macros/m.sql:1:16', 'macros/m.sql is not valid UTF-8: byte 0xFC on line 1 cannot be decoded'],
      ['not-utf8', 'pipelines/p.yaml:2:14', 'pipelines/p.yaml is not valid UTF-8: byte 0xA0 on line 2 cannot be decoded'],
    ]);
    expect(a.diagnostics[0].hint).toContain('UTF-8');
    expect([...a.nodes.keys()].sort()).toEqual(['b', 'c']);
  });

  it('with a NUL character are refused at it: DuckDB would run the query up to it and drop the rest', () => {
    const root = project({
      'models/a.sql': "select * from {{ ref('b') }}\nwhere v > 10\u0000\n  and id = 2\n",
      'models/b.sql': 'select 1 as id, 20 as v',
      'models/b.yaml': 'description: x\u0000\n',
    });
    const a = analyze(loadProject(root), { interval: day });
    expect(a.diagnostics.map((d) => [d.code, where(d)])).toEqual([
      ['nul-character', 'models/a.sql:2:13'],
      ['nul-character', 'models/b.yaml:1:15'],
    ]);
    expect(a.diagnostics[0].message).toBe('models/a.sql holds a NUL character (U+0000): a query would be cut short there without a word');
  });
});

describe("a ref() to an unknown name made by a macro", () => {
  it('is reported at the macro\'s call, reached through the model', () => {
    const a = analyzed({
      'seeds/raw.csv': 'id\n1\n',
      'macros/m.sql': "{% macro src() %}\n  {{ ref('raww') }}\n{% endmacro %}\n",
      'models/b.sql': 'select *\nfrom {{ src() }}\n',
    });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['unknown-ref', 'macros/m.sql:2:6', "ref('raww'): no model or seed is named 'raww', called as b renders", "did you mean 'raw'?"],
    ]);
    expect(a.diagnostics[0].related).toEqual([{ message: 'reached through b', location: { file: 'models/b.sql' } }]);
  });
});

describe('a row_count check no count passes', () => {
  it('is refused at its line: min above max would fail every run', () => {
    const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yaml': 'checks:\n  row_count: {min: 5, max: 1}\n' });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message])).toEqual([['bad-check', 'models/a.yaml:2:', 'row_count: min 5 is above max 1: no row count passes']]);
  });
});

describe('an expression check with Jinja in it', () => {
  it('is refused at its line: SQL, not a template, it would compare the Jinja as text; a query check renders it', () => {
    const a = analyzed({ 'models/a.sql': "select 'x' as status", 'models/a.yaml': `checks:\n  expression: ["status <> '{{ var(\\"bad\\", \\"y\\") }}'"]\n` });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message])).toEqual([
      [
        'bad-check',
        'models/a.yaml:2:',
        `expression: status <> '{{ var("bad", "y") }}' is SQL, not a template: Jinja in it would be compared as its text; write it as a query check, which renders as a model does: query: ["select * from {{ this }} where not (...)"]`,
      ],
    ]);
    const b = analyzed({ 'models/a.sql': "select 'x' as status", 'models/a.yaml': `checks:\n  query: ["select * from {{ this }} where not (status <> '{{ var(\\"bad\\", \\"y\\") }}')"]\n` });
    expect(b.diagnostics).toEqual([]);
  });
});

describe('a misspelt option of a check', () => {
  it('is refused at its line with the option meant: the check would be weaker than written', () => {
    const a = analyzed({
      'models/a.sql': 'select 1 as id',
      'models/a.yaml': 'checks:\n  unique: {columns: [id], scop: table}\n  row_count:\n    minimum: 5\n  warn:\n    not_null: {column: [id]}\n',
    });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['unknown-key', 'models/a.yaml:2:', "unknown unique check key 'scop'", "did you mean 'scope'?"],
      ['unknown-key', 'models/a.yaml:4:', "unknown row_count check key 'minimum'", 'known keys: min, max, scope'],
      ['unknown-key', 'models/a.yaml:6:', "unknown not_null check key 'column'", "did you mean 'columns'?"],
    ]);
  });
});

describe('two models whose names differ in the case of a letter beyond ASCII', () => {
  it('are one name to pipe, which says so, not that DuckDB takes them for one table', () => {
    const a = analyzed({ 'models/Ä.sql': 'select 1 as x', 'models/ä.sql': 'select 2 as x' });
    expect(a.diagnostics.map((d) => d.message)).toEqual(["model 'ä' is defined twice: models/Ä.sql and models/ä.sql (names that differ only in case are one name to pipe)"]);
  });
});

describe('a seed holding a NUL character', () => {
  it('is refused at its line and column, as a model is: DuckDB would load it into names no query can name', () => {
    const a = analyzed({ 'models/m.sql': 'select 1 as x', 'seeds/s.csv': 'id\u0000x,amount\n1,1\u00002\n' });
    expect(a.diagnostics.map((d) => [d.code, where(d)])).toEqual([['nul-character', 'seeds/s.csv:1:3']]);
  });
});

describe('checks of an ephemeral model', () => {
  it('are refused at their line: there is no table for them to read, and they would never run', () => {
    const a = analyzed({ 'models/e.sql': 'select null::int as a', 'models/e.yaml': 'materialized: ephemeral\nchecks:\n  not_null: [a]\n', 'models/m.sql': "select * from {{ ref('e') }}" });
    expect(a.diagnostics.map((d) => [d.code, d.severity, where(d), d.message])).toEqual([
      ['bad-check', 'error', 'models/e.yaml:2:', 'e is ephemeral: it has no table for its checks to read, and they would never run'],
    ]);
  });
});

describe('an unknown check', () => {
  it("is named with the check meant, warn: among them, or the one a name cut short begins", () => {
    const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yaml': 'checks:\n  warnn:\n    not_null: [id]\n  uniq: [id]\n' });
    expect(a.diagnostics.map((d) => [d.message, d.hint])).toEqual([
      ["unknown check 'warnn'", "did you mean 'warn'?"],
      ["unknown check 'uniq'", "did you mean 'unique'?"],
    ]);
  });
});

describe('a project file named pipe.yml', () => {
  it('is refused, said to be unread: its vars and warehouse would be gone without a word', () => {
    for (const name of ['pipe.yml', 'Pipe.yaml']) {
      const a = analyzed({ [name]: 'name: t\nvars:\n  currency: USD\n', 'models/a.sql': "select '{{ var(\"currency\", \"EUR\") }}' as c" });
      expect(a.diagnostics.map((d) => [d.code, d.severity, where(d), d.message, d.hint])).toEqual([
        ['bad-config', 'error', `${name}::`, `${name} is not read: pipe reads a project's settings from pipe.yaml`, 'rename it pipe.yaml'],
      ]);
    }
  });
});

describe('a YAML line indented with a tab', () => {
  it('is refused once, at that line, as a tab; not first as the keys the lines after it are read wrongly as', () => {
    const yml = 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n\t- name: total\n        description: the total\n';
    const a = analyzed({ 'models/a.sql': 'select 1 as id, 2 as total', 'models/schema.yml': yml });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['yaml-syntax', 'models/schema.yml:6:1', 'invalid YAML: a tab indents line 6, and YAML indents with spaces only', 'replace the tab with spaces, as many as the lines beside it are indented by'],
    ]);
  });

  it("in dbt_project.yml is the error a selection gets, not a name it matched in a project of which nothing could be read", () => {
    const files = loadProject(project({ 'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n\t+materialized: table\n', 'models/orders.sql': 'select 1 as id' }));
    expect(thrownBy(() => analyzeAndSelect(files, { interval: day, select: ['orders'] })).map((d) => [d.code, where(d)])).toEqual([['yaml-syntax', 'dbt_project.yml:4:1']]);
  });
});

describe('a YAML file of two documents', () => {
  it('is refused at the second one in words of pipe, not of the yaml package', () => {
    const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yaml': 'description: x\n---\ndescription: y\n' });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message])).toEqual([['yaml-syntax', 'models/a.yaml:2:1', 'invalid YAML: the file holds more than one document: a second one starts here']]);
    expect(a.diagnostics[0].hint).toContain('remove the --- line');
  });
});

describe("pipe.yaml's name that is no text", () => {
  it('is an error at its line, not the folder name taken silently (which fqn: and package: selectors then missed)', () => {
    for (const [given, said] of [['[shop]', '["shop"]'], ['5', '5'], ['""', '""']]) {
      const a = analyzed({ 'pipe.yaml': `name: ${given}\n`, 'models/m.sql': 'select 1 as x' });
      expect(a.diagnostics.map((d) => [d.code, where(d), d.message]), given).toEqual([['bad-config', 'pipe.yaml:1:', `name must be the project's name, a text (e.g. name: shop); got ${said}`]]);
    }
    expect(analyzed({ 'pipe.yaml': 'name: shop\n', 'models/m.sql': 'select 1 as x' }).diagnostics).toEqual([]);
  });
});

describe('a YAML key indented deeper than the key above it', () => {
  it('is refused once, at its own line and colon as PyYAML places it, the line it is read as going on from related', () => {
    const yml = 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n         description: the key\n';
    const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/schema.yml': yml });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message])).toEqual([
      ['yaml-syntax', 'models/schema.yml:6:21', "invalid YAML: this line is indented deeper than the key on line 5, so YAML reads it as going on from that key's value, and a key cannot go on over several lines"],
    ]);
    expect(a.diagnostics[0].related).toEqual([{ message: 'read as one key from here to the colon', location: { file: 'models/schema.yml', line: 5, column: 15 } }]);
    expect(a.diagnostics[0].hint).toBe("indent this line's key as the keys beside it: as deep as the key on line 5, or less");
    // A quoted key over two lines is no indentation: said as such, at its colon.
    const b = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yaml': 'description: x\n"a\n b": 1\n' });
    expect(b.diagnostics.map((d) => [where(d), d.message])).toEqual([['models/a.yaml:3:4', 'invalid YAML: a key cannot go on over several lines (this one starts on line 2)']]);
  });

  it("is said with the column to indent it to where it stands between a list item's dash and the item's keys", () => {
    for (const [yml, at, column, dashLine, dash, keys] of [
      ['version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n       description: the id\n        tests:\n          - unique\n', 'models/a.yml:6:8', 8, 5, 7, 9],
      // Below a nested list's items: the list the line belongs to is further up.
      ['version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - unique\n   description: the model\n', 'models/a.yml:8:4', 4, 3, 3, 5],
    ] as const) {
      const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yml': yml });
      expect(a.diagnostics.map((d) => [where(d), d.message, d.hint]), at).toEqual([
        [at, `invalid YAML: this line's key is at column ${column}, between the dash of the list item on line ${dashLine} (column ${dash}) and that item's keys (column ${keys})`, `indent it to column ${keys}, as the item's other keys, to make it one of them`],
      ]);
    }
  });

  it('is said at the line whose [list] or {mapping} is never closed, not at the lines after it', () => {
    for (const [yml, at, what] of [
      ['version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique, not_null\n      - name: b\n        tests: [unique]\n', 'models/a.yml:6:16', 'list opened here with ['],
      ['version: 2\nmodels:\n  - name: a\n    config: {materialized: table, tags: ["a"]\n    columns: []\n', 'models/a.yml:4:13', 'mapping opened here with {'],
    ] as const) {
      const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yml': yml });
      expect(a.diagnostics.map((d) => [where(d), d.message]), at).toEqual([[at, `invalid YAML: the ${what} is never closed`]]);
    }
    // Closed on the next line, which is not indented past its key: said so.
    const next = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yml': 'version: 2\nmodels:\n  - name: a\n    tags: [x,\n    y]\n' });
    expect(next.diagnostics.map((d) => [where(d), d.message])).toEqual([['models/a.yml:4:11', 'invalid YAML: the list opened here with [ goes on to line 5, and its lines after this one are not indented past its key']]);
    // A ] in a quoted text of another key closes nothing.
    const quoted = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yml': 'version: 2\nmodels:\n  - name: a\n    tags: [x, y\n    description: "see [docs]"\n' });
    expect(quoted.diagnostics.map((d) => [where(d), d.message])).toEqual([['models/a.yml:4:11', 'invalid YAML: the list opened here with [ is never closed']]);
  });

  it('is said where a quoted text that is never closed opens, not at the end of the file the yaml package reads into it', () => {
    const yml = "version: 2\nmodels:\n  - name: a\n    description: 'it''s here' # a \"comment\n    columns:\n      - name: id\n        description: \"Primary key # of a\n      - name: b\n\n";
    const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/schema.yml': yml });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['yaml-syntax', 'models/schema.yml:7:22', 'invalid YAML: the text quoted here with " is never closed, so YAML reads the rest of the file into it', 'end it with " where the text ends'],
    ]);
    const project = analyzed({ 'models/a.sql': 'select 1 as id', 'dbt_project.yml': "name: shop\n# it's here\nprofile: 'shop\n" });
    expect(project.diagnostics.map((d) => [where(d), d.message])).toEqual([['dbt_project.yml:3:10', "invalid YAML: the text quoted here with ' is never closed, so YAML reads the rest of the file into it"]]);
  });

  it('is said as a missing colon where a word stands alone on its line, a key without its colon', () => {
    const yml = 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests\n          - unique\n';
    const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/schema.yml': yml });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['yaml-syntax', 'models/schema.yml:6:14', 'invalid YAML: tests has no colon after it, so YAML reads the lines below as going on from it', 'write tests: with its colon'],
    ]);
    // With a comment after it, its list at its own column, or a dbt config key over its entries: the same, once.
    for (const [file, text, at, word] of [
      ['models/schema.yml', 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests   # uniqueness\n        - unique\n', 'models/schema.yml:6:14', 'tests'],
      ['dbt_project.yml', "name: shop\nversion: '1.0'\nseeds:\n  shop:\n    +column_types\n      amount: integer\n", 'dbt_project.yml:5:18', '+column_types'],
    ]) {
      const b = analyzed({ 'models/a.sql': 'select 1 as id', [file]: text });
      expect(b.diagnostics.map((d) => [where(d), d.message]), file).toEqual([[at, `invalid YAML: ${word} has no colon after it, so YAML reads the lines below as going on from it`]]);
    }
    // A word alone in a block scalar (SQL, markdown) is text: the file's own error is said.
    const block = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yaml': 'description: x\nchecks:\n  query:\n    - |\n      select *\n      from\n        {{ this }}\n      where id < 0\n  unique: [id\n' });
    expect(block.diagnostics.map((d) => [where(d), d.message])).toEqual([['models/a.yaml:9:11', 'invalid YAML: the list opened here with [ is never closed']]);
    // A plain value going on over lines is no key: a file that reads is not refused.
    expect(analyzed({ 'models/a.sql': 'select 1 as id', 'models/schema.yml': 'version: 2\nmodels:\n  - name: a\n    description: one\n      two\n' }).diagnostics).toEqual([]);
  });

  it('is refused at its key after a quoted value or a flow list, with the line above named (not at column 1 in the words of the yaml package)', () => {
    for (const value of ['"the id"', '[a, b]']) {
      const yml = `version: 2\nmodels:\n  - name: a\n    description: ${value}\n\n    # tags\n      tags: [x]\n`;
      const a = analyzed({ 'models/a.sql': 'select 1 as id', 'models/schema.yml': yml });
      expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint]), value).toEqual([
        [
          'yaml-syntax',
          'models/schema.yml:7:7',
          "invalid YAML: this line's key is indented deeper (column 7) than the key on line 4 (column 5), whose value ends on its line, so nothing can go on from it",
          "indent this line's key as the keys beside it: as deep as the key on line 4, or less",
        ],
      ]);
      expect(a.diagnostics[0].related).toEqual([{ message: 'the key above', location: { file: 'models/schema.yml', line: 4, column: 5 } }]);
    }
    // Less deep than its mapping's keys, and deeper than the parent's.
    const c = analyzed({ 'models/a.sql': 'select 1 as id', 'models/a.yaml': 'meta:\n  b: 1\n c: 2\n' });
    expect(c.diagnostics.map((d) => [where(d), d.message])).toEqual([
      ['models/a.yaml:3:2', "invalid YAML: this line's key is at column 2, where no mapping around it has its keys (the key on line 2 is at column 3)"],
    ]);
  });
});

describe('a config() key set twice', () => {
  it('is an error at the second call naming the key and both values, the first call related', () => {
    const a = analyzed({ 'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as id\n  {{ config(materialized='view') }}\n" });
    expect(a.diagnostics).toHaveLength(1);
    const d = a.diagnostics[0];
    expect([d.code, where(d), d.message]).toEqual([
      'config-conflict',
      'models/a.sql:3:6',
      "config() sets 'materialized' twice, to 'table' and then to 'view'; set it once",
    ]);
    expect(d.related?.map((r) => [r.message, `${r.location.line}:${r.location.column}`])).toEqual([["materialized='table' set here", '1:4']]);
  });

  it('points at the calls that set the key, past calls that set others, in templates Nunjucks renders', () => {
    const a = analyzed({
      'models/a.sql': [
        "{{ config(tags=['x']) }}",
        "{% if true %}{{ config(materialized='table', tags=['x']) }}{% endif %}",
        'select 1 as id',
        "{{ config({'materialized': 'incremental', 'partition_by': 'id'}) }}",
      ].join('\n'),
    });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.related?.map((r) => r.location.line)])).toEqual([
      ['config-conflict', 'models/a.sql:4:4', "config() sets 'materialized' twice, to 'table' and then to 'incremental'; set it once", [2]],
    ]);
  });

  it("is said at the macro's line when a macro the model calls sets it the second time", () => {
    const a = analyzed({
      'macros/body.sql': "{% macro body() %}\n{{ config(materialized='view') }}\nselect 1 as id\n{% endmacro %}",
      'models/a.sql': "{{ config(materialized='table') }}\n{{ body() }}",
    });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.related?.map((r) => `${r.location.file}:${r.location.line}`)])).toEqual([
      ['config-conflict', 'macros/body.sql:2:4', "config() sets 'materialized' twice, to 'table' and then to 'view'; set it once", ['models/a.sql:1']],
    ]);
  });

  it("adds up hooks from call to call, in dbt's order: dbt_project.yml's, then each call's as it renders (one in a macro)", () => {
    const a = analyzed({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +pre-hook: "select \'project\'"\n',
      'macros/body.sql': `{% macro body() %}{{ config(pre_hook="select 'macro'", post_hook=after_commit("select 'after'")) }}select 1 as id{% endmacro %}`,
      'models/a.sql': `{{ config(materialized='table', pre_hook=["select 'first'", "select 'second'"]) }}\n{{ body() }}\n{{ config(pre_hook="select 'last'") }}`,
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const config = (a.nodes.get('a') as ModelNode).config;
    expect(config.pre_hook.map((h) => h.sql)).toEqual(["select 'project'", "select 'first'", "select 'second'", "select 'macro'", "select 'last'"]);
    expect(config.post_hook.map((h) => [h.sql, h.transaction])).toEqual([["select 'after'", false]]);
  });

  it('names lists by their values', () => {
    const a = analyzed({ 'models/a.sql': "{{ config(tags=['a']) }}{{ config(tags=['a', 'b']) }}\nselect 1 as id" });
    expect(a.diagnostics.map((d) => d.message)).toEqual([`config() sets 'tags' twice, to ["a"] and then to ["a","b"]; set it once`]);
  });

  it('is an error when one call gives the key twice', () => {
    const a = analyzed({ 'models/a.sql': "select 1 as id\n{{ config(materialized='table', tags=['a, b'], materialized = \"view\") }}" });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message])).toEqual([
      ['config-conflict', 'models/a.sql:2:4', `config() sets 'materialized' twice in one call, to 'table' and then to "view"; set it once`],
    ]);
  });

  it('is fine with the same value twice', () => {
    const a = analyzed({
      'models/a.sql': "{{ config(materialized='view', tags=['a']) }}\nselect 1 as id\n{{ config(materialized='view', tags=['a'], tags=['a']) }}",
    });
    expect(a.diagnostics).toEqual([]);
    expect(a.nodes.get('a')).toMatchObject({ config: { materialized: 'view' }, tags: ['a'] });
  });
});

describe('a selection that names nothing', () => {
  it.each([['select: []'], ["select: ''"], ["select: ['', ',']"]])('in a pipeline (%s) is an error at its line', (yaml) => {
    const a = analyzed({ 'models/a.sql': 'select 1', 'pipelines/p.yaml': `description: all of it\n${yaml}\n` });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['empty-selection', 'pipelines/p.yaml:2:', 'select: lists no selector, which would select no model', 'remove select: to mean every model'],
    ]);
  });

  it('in a pipeline with no select: at all is every model', () => {
    const files = loadProject(project({ 'models/a.sql': 'select 1', 'models/b.sql': 'select 2', 'pipelines/p.yaml': 'exclude: []\n' }));
    expect([...analyzeAndSelect(files, { interval: day, pipeline: 'p' }).selected].sort()).toEqual(['a', 'b']);
  });

  it.each([[['']], [[' , ']], [['', '']]])('given to --select (%j) is an error', (select) => {
    const files = loadProject(project({ 'models/a.sql': 'select 1' }));
    expect(thrownBy(() => analyzeAndSelect(files, { interval: day, select })).map((d) => [d.code, d.message])).toEqual([
      ['empty-selection', `--select ${select.map((s) => `'${s}'`).join(' ')} names no model`],
    ]);
  });

  it('is not an empty list passed by a caller with no --select (as a retry of such a run does)', () => {
    const files = loadProject(project({ 'models/a.sql': 'select 1', 'models/b.sql': 'select 2' }));
    expect([...analyzeAndSelect(files, { interval: day, select: [] }).selected].sort()).toEqual(['a', 'b']);
  });
});

describe('append_new_columns and a retyped column', () => {
  const table = [
    { name: 'id', type: 'VARCHAR' },
    { name: 'n', type: 'INTEGER' },
  ];

  it('fails like fail does for it, naming the column, both types and the ways out', () => {
    const change = schemaChange('"main"."t"', table, [{ name: 'ID', type: 'DOUBLE' }, { name: 'n', type: 'INTEGER' }, { name: 'extra', type: 'DATE' }], 'append_new_columns');
    expect(change).toEqual({
      error: `the query's column types no longer match the table "main"."t" (retyped: ID VARCHAR → DOUBLE); append_new_columns only adds columns`,
      hint: 'set on_schema_change to sync_all_columns to retype the table, or rebuild it with pipe backfill --full-refresh',
    });
  });

  it('under fail, offers append_new_columns only for a change it would take: not for a retyped column', () => {
    const retyped = schemaChange('"main"."t"', table, [{ name: 'ID', type: 'DOUBLE' }, { name: 'n', type: 'INTEGER' }], 'fail');
    expect(retyped).toMatchObject({ hint: "rebuild the table with pipe backfill --full-refresh, or set on_schema_change to sync_all_columns (fail is the default, and pipe reads dbt's ignore as fail: ignore would leave the change out of the table without a word)" });
    const added = schemaChange('"main"."t"', table, [...table, { name: 'extra', type: 'DATE' }], 'fail');
    expect(added).toMatchObject({ hint: "rebuild the table with pipe backfill --full-refresh, or set on_schema_change to append_new_columns or sync_all_columns (fail is the default, and pipe reads dbt's ignore as fail: ignore would leave the change out of the table without a word)" });
  });

  it('still adds a new column when nothing is retyped', () => {
    expect(schemaChange('"main"."t"', table, [...table, { name: 'extra', type: 'DATE' }], 'append_new_columns')).toEqual({
      statements: ['ALTER TABLE "main"."t" ADD COLUMN IF NOT EXISTS "extra" DATE'],
    });
  });
});

describe('relations pipe no longer builds', () => {
  const a = analyzed({
    'models/a.sql': 'select 1 as id',
    'models/b.sql': "{{ config(enabled=false) }}\nselect 1 as id",
    'models/d.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id",
    'seeds/s.csv': 'id\n1\n',
  });
  const found = (schema: string, name: string, type: 'table' | 'view' = 'table') => ({ database: 'warehouse', schema, name, type });

  it('are those of models deleted, disabled or made ephemeral; a relation of a name still built is left alone', () => {
    expect(a.diagnostics).toEqual([]);
    const stale = noLongerBuilt(
      [found('main', 'A'), found('raw', 'a'), found('main', 'b'), found('main', 'c', 'view'), found('main', 'd'), found('main', 's'), found('mart', 'gone')],
      a,
    );
    expect(stale).toEqual([
      { relation: '"main"."b"', type: 'table', node: 'b', reason: 'disabled' },
      { relation: '"main"."c"', type: 'view', node: 'c', reason: 'left-project' },
      { relation: '"main"."d"', type: 'table', node: 'd', reason: 'ephemeral' },
      { relation: '"mart"."gone"', type: 'table', node: 'gone', reason: 'left-project' },
    ]);
    expect(noLongerBuiltNotice(stale)).toBe(
      'these are no longer built, and they are not dropped: table "main"."b" (b is disabled), view "main"."c" (c left the project), ' +
        'table "main"."d" (d is ephemeral now), table "mart"."gone" (gone left the project); drop each if nothing reads it',
    );
    expect(noLongerBuiltNotice(stale.slice(1, 2))).toBe('view "main"."c" (c left the project) is no longer built, and it is not dropped: drop it if nothing reads it');
  });

  it("leave alone a relation of a test's name that names no node: it runs as a task of that name and builds nothing of it", () => {
    const withTest = analyzed({ 'dbt_project.yml': 'name: shop\n', 'models/a.sql': 'select 1 as id', 'tests/daily_totals.sql': 'select 1 where false' });
    expect(noLongerBuilt([found('main', 'daily_totals'), found('main_dbt_test__audit', 'daily_totals')], withTest)).toEqual([]);
  });
});

describe('a model that writes the table a declared source reads', () => {
  const files = {
    'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n',
    'models/orders.sql': "{{ config(schema='raw') }}\nselect 1 as id\n",
    'models/counted.sql': "select count(*) as n from {{ source('raw', 'orders') }}\n",
  };

  it('is refused in a pipe project, at the model, naming the source: its build would replace the data the source holds', () => {
    const found = analyzed(files).diagnostics.filter((d) => d.code === 'source-written');
    expect(found.map((d) => [d.severity, d.message, where(d), d.blocks])).toEqual([
      ['error', 'orders writes "raw"."orders", the table source raw.orders reads: its build would replace what that source holds', 'models/orders.sql::', ['orders']],
    ]);
    expect(found[0].related?.[0].location).toEqual({ file: 'models/sources.yml', line: 5 });
  });

  it('is told in a dbt project, which dbt builds as it is', () => {
    // dbt-duckdb writes the model's custom schema raw as main_raw: the source names that one.
    const dbt = { ...files, 'models/sources.yml': files['models/sources.yml'].replace('  - name: raw\n', '  - name: raw\n    schema: main_raw\n'), 'dbt_project.yml': 'name: shop\nprofile: shop\n', 'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n' };
    const found = analyzed(dbt).diagnostics.filter((d) => d.code === 'source-written');
    expect(found.map((d) => [d.severity, d.message])).toEqual([['warning', 'orders writes "main_raw"."orders", the table source raw.orders reads: its build would replace what that source holds']]);
    // An incremental model or a snapshot (one declared as a source to document it) writes rows into its table: it does not replace it.
    const snapshot = { ...dbt, 'models/orders.sql': "{{ config(schema='raw', materialized='incremental', unique_key='id') }}\nselect 1 as id\n" };
    const told = analyzed(snapshot).diagnostics.filter((d) => d.code === 'source-written');
    expect(told.map((d) => d.message)).toEqual(['orders writes "main_raw"."orders", the table source raw.orders reads: its build would change what that source holds']);
    // A source over a snapshot's table is a way to read the snapshot (its history): read after it, nothing said.
    const { 'models/orders.sql': _orders, ...rest } = dbt;
    const history = {
      ...rest,
      'snapshots/orders.sql': "{% snapshot orders %}\n{{ config(target_schema='main_raw', unique_key='id', strategy='check', check_cols='all') }}\nselect 1 as id\n{% endsnapshot %}\n",
    };
    const read = analyzed(history);
    expect(read.diagnostics.filter((d) => d.code === 'source-written')).toEqual([]);
    expect(read.nodes.get('raw.orders')?.upstream).toEqual(['orders']);
  });
});

describe('a var error where pipe.yaml could not be read', () => {
  it('says the var may be set in the file that could not be read', () => {
    const a = analyzed({ 'pipe.yaml': 'name: shop\nvars:\n  currency: EUR\nwarehouse: [oops\n', 'models/m.sql': "select '{{ var(\"currency\") }}' as c\n" });
    const unset = a.diagnostics.find((d) => d.message.startsWith("var 'currency' is not set"));
    expect(unset?.hint).toBe('pipe.yaml could not be read (see its error): a var set there is unset until it is fixed');
    expect(a.diagnostics.some((d) => d.code === 'yaml-syntax' && d.location?.file === 'pipe.yaml')).toBe(true);
  });
});
