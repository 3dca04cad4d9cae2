import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { explain, pipe } from './helpers.js';

/**
 * A cold `pipe compile` of many templates makes their programs (or compiles them) on worker
 * threads (with PIPE_COMPILE_THREADS=2, every one of them): what it keeps beside the
 * warehouse, the SQL it gives and the errors it reports are those of a compile on one thread
 * (in this process: pipe's TypeScript sources have no worker script to start).
 */

afterAll(removeProjects);

const DATE = '2024-03-01';
const MODELS = 180;

function project(): Record<string, string> {
  const files: Record<string, string> = {
    'pipe.yaml': 'name: many\n',
    'macros/money.sql': "{% macro cents(column, digits=2) -%}\nround({{ column }} * 100, {{ digits }})\n{%- endmacro %}\n",
    'models/base.sql': "select 1 as id, 10 as amount, '{{ ds }}' as ds\n",
  };
  // A third read by pipe's parser, a third by Nunjucks' on the threads (a slice), and of those half compiled there (a macro of their own).
  for (let i = 0; i < MODELS; i++) {
    files[`models/m_${i}.sql`] = [
      `{%- set cols = ['id', 'amount'] %}\nselect\n{%- for c in cols %}\n  {{ c }} as {{ c }}_${i}{{ ',' if not loop.last }}\n{%- endfor %}\nfrom {{ ref('base') }}`,
      `select id, {{ cents('amount', digits=${i % 3}) }} as cents\nfrom {{ ref('base') }}\n{% if is_incremental() %}where ds > '{{ ds }}'{% endif %}`,
      `{%- set cols = ['id', 'amount', 'ds'] %}\nselect {{ cols[:2] | join(', ') }}, ${i} as n\nfrom {{ ref('base') }}`,
      `{% macro own(x) %}{{ x }} * ${i}{% endmacro %}\nselect id, {{ own('amount') }} as scaled\nfrom {{ ref('base') }}`,
    ][i % 3 === 2 ? 2 + (i % 2) : i % 3];
  }
  return files;
}

/** The text of every entry of the packs kept beside a warehouse, sorted: compiled code (templates), or programs. */
function packEntries(dir: string, db: string, kind: 'templates' | 'programs'): string[] {
  const folder = join(dir, '.pipe', db, kind);
  const entries = new Map<string, string>();
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.pack'))) {
    const text = readFileSync(join(folder, name), 'utf8');
    let at = text.indexOf('\n') + 1;
    while (at < text.length) {
      const eol = text.indexOf('\n', at);
      const [key, , length] = text.slice(at, eol).split(' ');
      entries.set(key, text.slice(eol + 1, eol + 1 + Number(length)));
      at = eol + 1 + Number(length) + 1;
    }
  }
  return [...entries.values()].sort();
}

const compile = (dir: string, db: string) =>
  pipe(['compile', '--json', '--date', DATE, '--project', dir, '--db', join(dir, db)], { env: { PIPE_COMPILE_THREADS: '2' } });

describe('compiling templates on worker threads', () => {
  it('keeps and gives what one thread does, and reports a syntax error at its file and line', async () => {
    const dir = tempProject({ ...project(), 'models/m_77.sql': "select 1 as id\nfrom {{ ref('base') }}\n{% for x in [1, 2] %}{{ x }\n" });
    const alone = await compileIn(dir, { date: DATE, db: join(dir, 'broken-1.duckdb') });
    expect(alone.code).toBe(2);
    const diagnostics = (events: typeof alone.events) => events.filter((e) => e.type === 'diagnostic').map((e) => e.diagnostic);
    expect(diagnostics(alone.events)).toContainEqual(expect.objectContaining({ code: 'template-syntax', location: expect.objectContaining({ file: 'models/m_77.sql', line: 3 }) }));
    const threads = compile(dir, 'broken-2.duckdb');
    expect(threads.code, explain(threads)).toBe(2);
    expect(diagnostics(threads.events)).toEqual(diagnostics(alone.events));

    writeFileSync(join(dir, 'models/m_77.sql'), "select 1 as id\nfrom {{ ref('base') }}\n");
    const one = await compileIn(dir, { date: DATE, db: join(dir, 'one.duckdb') });
    // The compiled templates are written once the work that compiled them is done.
    await new Promise((resolve) => setImmediate(resolve));
    const many = compile(dir, 'many.duckdb');
    expect(one.code).toBe(0);
    expect(many.code, explain(many)).toBe(0);
    const sql = (models: readonly { readonly model: string; readonly sql: string }[]) => models.map((m) => [m.model, m.sql]);
    expect(sql(many.events.filter((e) => e.type === 'compiled') as never)).toEqual(sql(one.models));
    // The keys name the compiler's own files (TypeScript here, JavaScript in the binary): the text is what must agree.
    // The programs of the models with a slice are kept (pipe's parser makes the others each time); the macro
    // file and the models with a macro of their own (but m_77, now simple) are compiled.
    const own = Object.entries(project()).filter(([f, text]) => f !== 'models/m_77.sql' && text.includes('macro own')).length;
    expect(own).toBe(MODELS / 6 - 1);
    const programs = packEntries(dir, 'one.duckdb', 'programs');
    expect(programs.filter((p) => p.startsWith('{"body":'))).toHaveLength(MODELS / 6);
    expect(packEntries(dir, 'many.duckdb', 'programs')).toEqual(programs);
    const code = packEntries(dir, 'one.duckdb', 'templates');
    expect(code).toHaveLength(1 + own);
    expect(packEntries(dir, 'many.duckdb', 'templates')).toEqual(code);
    rmSync(join(dir, '.pipe'), { recursive: true, force: true });
  });
});
