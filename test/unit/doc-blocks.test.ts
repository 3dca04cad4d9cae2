import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { DocBlocks } from '../../src/analyze/dbt/doc-blocks.js';

/** dbt's `{% docs %}` blocks and the `doc()` calls of descriptions that name them. */

const at = { file: 'models/schema.yml', line: 7 };

describe('docs blocks', () => {
  it("give a description each block's text where it names one, without the whitespace around it (dbt strips it), a package's by its name too", () => {
    const found: Diagnostic[] = [];
    const blocks = DocBlocks.read(
      [
        { file: 'models/docs.md', text: '# notes\n{% docs status %}\nOne of placed, shipped.\n{% enddocs %}\n{%- docs tight -%}\n  trimmed  \n{%- enddocs -%}\n{% docs spaced %} Identifies the source. {% enddocs %}' },
        { file: 'dbt_packages/pkg/models/pkg.md', text: '{% docs shared %}From the package.{% enddocs %}', package: 'pkg' },
      ],
      found,
    );
    const render = (d: string) => blocks.render(d, at, found);
    expect(render('{{ doc("status") }}')).toBe('One of placed, shipped.');
    expect(render('{{ doc("spaced") }}')).toBe('Identifies the source.');
    expect(render("Status: {{doc('tight')}}.")).toBe('Status: trimmed.');
    expect(render("{{ doc('pkg', 'shared') }} / {{ doc('shared') }}")).toBe('From the package. / From the package.');
    expect(render('no call here, {{ var("x") }} kept')).toBe('no call here, {{ var("x") }} kept');
    expect(found).toEqual([]);
  });

  it('refuse a name no block has, with the nearest, and a block defined twice', () => {
    const found: Diagnostic[] = [];
    const blocks = DocBlocks.read([{ file: 'models/a.md', text: '{% docs status %}a{% enddocs %}\n\n{% docs status %}b{% enddocs %}' }], found);
    expect(found.map((d) => [d.message, d.location?.line, d.related?.[0]?.location.line])).toEqual([["the docs block 'status' is defined twice", 3, 1]]);
    expect(blocks.render('{{ doc("stauts") }}', at, found)).toBe('{{ doc("stauts") }}');
    expect(found[1]).toMatchObject({ code: 'bad-docs', message: "doc('stauts'): no docs block of that name", location: at, hint: "did you mean 'status'?" });
  });
});
