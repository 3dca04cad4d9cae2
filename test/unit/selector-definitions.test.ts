import { describe, expect, it } from 'vitest';
import { readSelectorDefinitions, type SelectorDefinitions } from '../../src/analyze/selector-definitions.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { makeGraph } from '../../src/graph/graph.js';
import { select, type SelectableNode } from '../../src/graph/select.js';
import { parseYaml } from '../../src/project/yaml-file.js';

/** selectors.yml read from text: its definitions and every problem as [code, line, message]. */
function read(text: string): { defs: SelectorDefinitions; problems: [string, number | undefined, string][]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const yaml = parseYaml(text, 'selectors.yml', diagnostics);
  expect(diagnostics).toEqual([]);
  const defs = readSelectorDefinitions(yaml, diagnostics);
  return { defs, problems: diagnostics.map((d) => [d.code, d.location?.line, d.message]), diagnostics };
}

// raw_orders -> stg_orders -> fct_orders -> daily; stg_orders -> dim; old alone.
const g = makeGraph(
  new Map(Object.entries({ raw_orders: [], stg_orders: ['raw_orders'], fct_orders: ['stg_orders'], daily: ['fct_orders'], dim: ['stg_orders'], old: [] })),
);
const node = (name: string, folder: string, tags: string[], materialized: string): SelectableNode => ({
  name,
  resourceType: materialized === 'seed' ? 'seed' : 'model',
  fqn: ['shop', ...(folder ? [folder] : []), name],
  file: materialized === 'seed' ? `seeds/${name}.csv` : `models/${folder}/${name}.sql`,
  tags,
  config: { materialized, tags },
});
const nodes = [
  node('raw_orders', '', [], 'seed'),
  node('stg_orders', 'staging', ['nightly'], 'view'),
  node('fct_orders', 'marts', ['nightly', 'finance'], 'incremental'),
  node('daily', 'marts', ['finance'], 'table'),
  node('dim', 'marts', ['deprecated'], 'table'),
  node('old', 'staging', ['deprecated'], 'view'),
];

function selectedBy(defs: SelectorDefinitions, name: string): string[] {
  const def = defs.byName.get(name);
  expect(def, name).toBeDefined();
  const r = select(g, nodes, def!.definition, undefined);
  expect(r.problems).toEqual([]);
  return [...r.selected].sort();
}

describe('selectors.yml', () => {
  const file = `selectors:
  - name: nightly
    description: What runs every night.
    default: true
    definition:
      union:
        - tag:nightly
        - method: selector
          value: finance_marts
        - exclude:
            - tag:deprecated
            - dim
  - name: finance_marts
    definition:
      intersection:
        - marts
        - {tag: finance}
  - name: staged
    definition: "staging,config.materialized:view"
  - name: around_fct
    definition:
      method: fqn
      value: fct_orders
      parents: true
      parents_depth: 1
      children: true
  - name: everything_at_fct
    definition:
      method: fqn
      value: fct_orders
      childrens_parents: true
      indirect_selection: cautious
  - name: marts_but_daily
    definition:
      method: path
      value: models/marts
      exclude: [daily]
`;

  it('reads strings, mappings, unions, intersections, exclusions and references in any order', () => {
    const { defs, problems } = read(file);
    expect(problems).toEqual([]);
    expect(defs.defaultName).toBe('nightly');
    expect(defs.byName.get('nightly')).toMatchObject({ description: 'What runs every night.', default: true, location: { file: 'selectors.yml', line: 2 } });
    expect(selectedBy(defs, 'finance_marts')).toEqual(['daily', 'fct_orders']);
    // The union of nightly and finance marts, minus what is deprecated and dim.
    expect(selectedBy(defs, 'nightly')).toEqual(['daily', 'fct_orders', 'stg_orders']);
    // A string is the command-line form: its comma intersects.
    expect(selectedBy(defs, 'staged')).toEqual(['old', 'stg_orders']);
    expect(selectedBy(defs, 'around_fct')).toEqual(['daily', 'fct_orders', 'stg_orders']);
    expect(selectedBy(defs, 'everything_at_fct')).toEqual(['daily', 'fct_orders', 'raw_orders', 'stg_orders']);
    expect(selectedBy(defs, 'marts_but_daily')).toEqual(['dim', 'fct_orders']);
  });

  it('gives the line of each term to what it selects, for a term that matches nothing', () => {
    const { defs } = read('selectors:\n  - name: s\n    definition:\n      union:\n        - tag:nightly\n        - tag:nigthly\n');
    const r = select(g, nodes, defs.byName.get('s')!.definition, undefined);
    expect(r.problems.map((p) => [p.criterion.text, p.criterion.location])).toEqual([['tag:nigthly', { file: 'selectors.yml', line: 6 }]]);
  });

  it('is empty when the file is', () => {
    expect(read('').defs.byName.size).toBe(0);
    expect(read('selectors: []\n').defs.byName.size).toBe(0);
  });

  it('reports every problem at its line', () => {
    const { problems, defs } = read(`selectors:
  - name: bad_key
    definiton: tag:x
  - name: listed
    definition: [tag:a, tag:b]
  - name: methods
    definition:
      union:
        - tga:nightly
        - method: metric
          value: weekly
        - {method: config.materialized, value: [table, view]}
  - name: operators
    definition:
      method: tag
      value: nightly
      parents_depth: 2
      children: true
      childrens_parents: true
  - name: excludes
    definition:
      union:
        - tag:a
        - exclude: [tag:b]
        - exclude: [tag:c]
  - name: rooted
    definition:
      union: [tag:a]
      intersection: [tag:b]
  - name: templated
    default: "{{ target.name == 'prod' }}"
    definition: tag:a
  - name: methods
    definition: tag:a
  - name: wrong_depth
    definition: {method: tag, value: a, parents: true, parents_depth: -1, indirect_selection: greedy}
`);
    expect(problems).toEqual([
      ['unknown-key', 3, "unknown selector key 'definiton'"],
      ['bad-selector', 2, "selector 'bad_key' needs a definition:"],
      ['bad-selector', 5, 'a definition is a selector in the command-line form (text), a mapping with method: and value:, or a union: or intersection: list'],
      ['bad-selector', 9, "selector 'tga:nightly': 'tga' is not a selector method"],
      ['unsupported-selector', 10, expect.stringContaining("selector 'metric:weekly': pipe does not support the metric: method")],
      ['bad-selector', 12, 'the value of config.materialized is one text, number or true/false'],
      ['bad-selector', 17, 'parents_depth says how far parents: true goes; add parents: true'],
      ['bad-selector', 15, expect.stringContaining("'@' before a selector and '+' after it cannot be combined")],
      ['bad-selector', 25, 'one exclude: per union: list; list everything to leave out in it'],
      ['bad-selector', 27, expect.stringContaining('a union: mapping has no other key (found union, intersection)')],
      ['bad-selector', 31, 'default must be true or false, got "{{ target.name == \'prod\' }}"'],
      ['bad-selector', 33, "selector 'methods' is defined twice"],
      ['bad-selector', 36, 'parents_depth is a whole number of generations, got -1'],
      ['bad-selector', 36, 'indirect_selection is one of eager, cautious, buildable, empty'],
    ]);
    expect(read('selectors:\n  - name: t\n    default: "{{ x }}"\n    definition: a\n').diagnostics[0].hint).toContain('does not render Jinja');
    // A broken selector is known by name, so that choosing it is not reported again as unknown.
    expect([...defs.byName.keys()]).toEqual(['templated']);
    expect([...defs.broken].sort()).toEqual(['bad_key', 'excludes', 'listed', 'methods', 'operators', 'rooted', 'wrong_depth']);
  });

  it('refuses references to unknown selectors, cycles of them, and two defaults', () => {
    const { problems, defs } = read(`selectors:
  - name: a
    default: true
    definition: {method: selector, value: b}
  - name: b
    definition:
      union:
        - tag:x
        - method: selector
          value: a
  - name: c
    default: true
    definition:
      union:
        - selector: finance_mart
  - name: finance_marts
    definition: marts
  - name: d
    definition: {method: selector, value: d}
`);
    expect(problems).toEqual([
      ['bad-selector', 12, "selectors 'a' and 'c' both say default: true; one selector can be the default"],
      ['selector-cycle', 10, 'selectors refer to each other in a cycle: a -> b -> a'],
      ['unknown-selector', 15, "no selector named 'finance_mart' in selectors.yml"],
      ['selector-cycle', 19, 'selectors refer to each other in a cycle: d -> d'],
    ]);
    expect(read('selectors:\n  - name: c\n    definition: {selector: finance_mart}\n  - name: finance_marts\n    definition: marts\n').diagnostics[0].hint).toBe(
      "did you mean 'finance_marts'?",
    );
    expect([...defs.byName.keys()]).toEqual(['finance_marts']);
    expect(defs.defaultName).toBeUndefined();
  });

  it('refuses a file without a selectors: list, and unknown top-level keys', () => {
    expect(read('selector:\n  - name: a\n    definition: a\n').problems).toEqual([
      ['unknown-key', 1, "unknown selectors.yml key 'selector'"],
      ['bad-selector', undefined, 'selectors.yml lists its selectors under selectors:, each with a name: and a definition:'],
    ]);
  });
});
