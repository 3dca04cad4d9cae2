import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import { installJinjaSyntax } from '../../src/analyze/jinja/syntax.js';

/**
 * Nunjucks' transformer is skipped for a template it would not change (see syntax.ts): the
 * code compiled must be byte for byte what the transformer's path writes. The transformer's
 * path is forced by naming an async filter no template uses, which changes nothing else.
 * Nunjucks names the symbols it draws for `super()` and async code from one counter of the
 * process (hole_0, hole_1, …), so two compiles of one template name them differently: they
 * are compared numbered by first appearance.
 */

installJinjaSyntax();
const { compiler } = nunjucks as unknown as { compiler: { compile(src: string, asyncFilters: string[], extensions: unknown[], name: string, opts: object): string } };

function compiled(source: string, asyncFilters: string[]): string {
  try {
    const code = compiler.compile(source, asyncFilters, [], 'models/m.sql', { autoescape: false });
    const holes = new Map<string, number>();
    return code.replace(/\bhole_\d+\b/g, (h) => `hole_#${holes.get(h) ?? holes.set(h, holes.size).get(h)!}`);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/** Every template of the example project and of the test fixtures. */
function projectTemplates(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.')) walk(path);
      else if (/\.sql$/.test(e.name)) out.push(readFileSync(path, 'utf8'));
    }
  };
  for (const dir of ['models', 'macros', 'test/fixtures']) walk(dir);
  return out;
}

const CASES = [
  "{% set cols = ['a', 'b'] %}select {% for c in cols %}{{ c }}{{ ',' if not loop.last }}{% endfor %} from {{ ref('x') }}",
  "{% if is_incremental() %}where ds > (select max(ds) from {{ this }}){% else %}{% for x in range(3) %}{% if x %}{{ x }}{% endif %}{% endfor %}{% endif %}",
  "{% macro m(a, b=2) %}{% for i in range(a) %}{{ i * b }}{% endfor %}{% endmacro %}{{ m(3) }}{% call m(1) %}inner{% endcall %}",
  '{% block body %}select 1{% endblock %}',
  '{% block body %}{{ super() }} and more{% endblock %}',
  '{% asyncEach x in [1, 2] %}{{ x }}{% endeach %}',
  '{% ifAsync true %}yes{% endif %}',
  '{% for x in [1] %}{% asyncAll y in [2] %}{{ y }}{% endall %}{% endfor %}',
  '{% for x in [1] %}{% asyncEach y in [2] %}{{ y }}{% endeach %}{% endfor %}',
  '{% if true %}{% ifAsync true %}a{% endif %}{% endif %}',
  "{{ 'a' | upper }} {{ [3, 1] | sort | join(',') }} {% filter upper %}x{% endfilter %}",
  'select {{ 1 +\n',
];

describe('compiling without the transformer where it changes nothing', () => {
  it('writes the same code as through the transformer, for every template here and each construct it rewrites', () => {
    const templates = [...projectTemplates(), ...CASES];
    expect(templates.length).toBeGreaterThan(60);
    for (const source of templates) expect(compiled(source, []), source).toBe(compiled(source, ['pipe_unused_async_filter']));
  });

  it('has nothing to transform in a template pipe parses: a block (with super()) and the async tags are refused first', () => {
    expect(compiled('{% block b %}{{ super() }}{% endblock %}', [])).toMatch(/^error: .*\{% block %\} \(Jinja's template inheritance/);
    for (const source of ['{% asyncEach x in [1] %}{{ x }}{% endeach %}', '{% asyncAll x in [1] %}{{ x }}{% endall %}', '{% ifAsync true %}a{% endif %}']) {
      expect(compiled(source, [])).toMatch(/^error: .*unknown block tag: (asyncEach|asyncAll|ifAsync)/);
    }
  });
});
