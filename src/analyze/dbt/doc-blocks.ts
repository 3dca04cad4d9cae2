import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { didYouMean } from '../../diagnostics/suggest.js';
import type { DocsSource } from '../../project/load-project.js';
import type { ColumnProperties, NodeProperties, Properties } from './properties.js';

/**
 * dbt's documentation blocks: `{% docs name %}…{% enddocs %}` in the Markdown files of the
 * model folders, which a description names with `{{ doc('name') }}` (or `doc('package',
 * 'name')`). A description is given the block's text where it names one, as dbt renders it;
 * a block of a name defined twice, or a name no block has, is an error at its place, as in
 * dbt. Other Jinja in a description is left as written.
 */

interface Block {
  readonly text: string;
  readonly location: Location;
}

/** The blocks of a project, by name (`name`) and, for a package's, by `package.name` too. */
export class DocBlocks {
  private constructor(private readonly blocks: ReadonlyMap<string, Block>) {}

  static read(sources: readonly DocsSource[], diagnostics: Diagnostic[]): DocBlocks {
    const blocks = new Map<string, Block>();
    for (const source of sources) {
      for (const m of source.text.matchAll(BLOCK_RE)) {
        const [, name, , raw] = m;
        // dbt strips the whitespace around a block's text, whatever its tags' `-`.
        const body = raw.trim();
        const location = { file: source.file, line: source.text.slice(0, m.index).split('\n').length };
        const key = source.package ? `${source.package}.${name}` : name;
        const first = blocks.get(key);
        if (first) {
          diagnostics.push(error('bad-docs', `the docs block '${name}' is defined twice`, location, { related: [{ message: 'first defined here', location: first.location }] }));
          continue;
        }
        blocks.set(key, { text: body, location });
        // A package's block is found by its bare name too, unless the project has one.
        if (source.package && !blocks.has(name)) blocks.set(name, { text: body, location });
      }
    }
    return new DocBlocks(blocks);
  }

  static readonly none = new DocBlocks(new Map());

  /** `description` with each `{{ doc(…) }}` given its block's text; an unknown name is reported at `at` and left as written. */
  render(description: string, at: Location, diagnostics: Diagnostic[]): string {
    if (!description.includes('doc(')) return description;
    return description.replace(DOC_CALL_RE, (call, _q1: string, first: string, _q2: string | undefined, second: string | undefined) => {
      const key = second === undefined ? first : `${first}.${second}`;
      const block = this.blocks.get(key);
      if (block) return block.text;
      const names = [...this.blocks.keys()];
      diagnostics.push(
        error('bad-docs', `doc('${key.replace('.', "', '")}'): no docs block of that name`, at, {
          hint: didYouMean(second ?? first, names) ?? 'a docs block is {% docs name %}…{% enddocs %} in a .md file of the folders docs-paths names in dbt_project.yml (by default, of the model, seed, macro, snapshot and analysis folders)',
        }),
      );
      return call;
    });
  }
}

/** A block; `-%}` and `{%-` take the whitespace beside the text away, as in Jinja. */
const BLOCK_RE = /\{%-?\s*docs\s+([A-Za-z_]\w*)\s*(-?)%\}([\s\S]*?)\{%(-?)\s*enddocs\s*-?%\}/g;
const DOC_CALL_RE = /\{\{-?\s*doc\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?\)\s*-?\}\}/g;

/** `properties` with the `doc()` calls of their descriptions rendered: the nodes', their columns', the sources' and the exposures' (see DocBlocks). */
export function withDocs(properties: Properties, blocks: DocBlocks, diagnostics: Diagnostic[]): Properties {
  const described = <T extends { readonly description?: string; readonly location: Location }>(x: T): T =>
    x.description === undefined || !x.description.includes('doc(') ? x : { ...x, description: blocks.render(x.description, x.location, diagnostics) };
  const columnsOf = <T extends { readonly columns: readonly ColumnProperties[] }>(x: T): T =>
    x.columns.some((c) => c.description?.includes('doc(')) ? { ...x, columns: x.columns.map(described) } : x;
  const nodes = (m: ReadonlyMap<string, NodeProperties>) => new Map([...m].map(([name, n]) => [name, columnsOf(described(n))]));
  return {
    ...properties,
    models: nodes(properties.models),
    seeds: nodes(properties.seeds),
    snapshots: nodes(properties.snapshots),
    sources: properties.sources.map((s) => columnsOf(described(s))),
    exposures: properties.exposures.map(described),
  };
}
