import { describe, expect, it } from 'vitest';
import { findCycles } from '../../src/graph/cycles.js';
import { downstreamClosure, downstreamMap, inTopologicalOrder, makeGraph, topologicalOrder, upstreamClosure, type Graph } from '../../src/graph/graph.js';
import { DAG_FORMATS, renderDag, type DagNode } from '../../src/graph/render-dag.js';

/** A graph from `node: [upstream...]`. */
function graph(edges: Record<string, string[]>): Graph {
  return makeGraph(new Map(Object.entries(edges)));
}

describe('graph', () => {
  // raw → stg → fct → mart, and stg → dim; other is alone.
  const g = graph({ raw: [], stg: ['raw'], fct: ['stg'], dim: ['stg'], mart: ['fct', 'dim'], other: [] });

  it('sorts nodes by name and maps downstream edges', () => {
    expect(g.nodes).toEqual(['dim', 'fct', 'mart', 'other', 'raw', 'stg']);
    const down = downstreamMap(g);
    expect(down.get('stg')!.sort()).toEqual(['dim', 'fct']);
    expect(down.get('mart')).toEqual([]);
    expect(down.get('raw')).toEqual(['stg']);
  });

  it('orders topologically with ties broken by name', () => {
    expect(topologicalOrder(g)).toEqual(['other', 'raw', 'stg', 'dim', 'fct', 'mart']);
  });

  it('puts every node after all of its upstream nodes', () => {
    const order = topologicalOrder(g);
    for (const n of g.nodes) for (const u of g.upstream.get(n)!) expect(order.indexOf(u)).toBeLessThan(order.indexOf(n));
  });

  it('leaves nodes on a cycle, and what depends on them, out of the order', () => {
    const c = graph({ a: ['b'], b: ['a'], c: ['a'], d: [] });
    expect(topologicalOrder(c)).toEqual(['d']);
    expect(inTopologicalOrder(c, ['c', 'd', 'a'])).toEqual(['d']);
  });

  it('computes upstream and downstream closures including the start nodes', () => {
    expect([...upstreamClosure(g, ['fct'])].sort()).toEqual(['fct', 'raw', 'stg']);
    expect([...downstreamClosure(g, ['stg'])].sort()).toEqual(['dim', 'fct', 'mart', 'stg']);
    expect([...upstreamClosure(g, ['other'])]).toEqual(['other']);
  });
});

describe('findCycles', () => {
  it('finds none in a DAG', () => {
    expect(findCycles(graph({ a: [], b: ['a'], c: ['a', 'b'] }))).toEqual([]);
  });

  it('reports the full path of a three-node cycle, starting and ending at the smallest name', () => {
    // a depends on b, b on c, c on a.
    expect(findCycles(graph({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('reports the path in dependency direction whatever the names', () => {
    // x depends on z, z on y, y on x: from x the path goes to z first.
    expect(findCycles(graph({ x: ['z'], y: ['x'], z: ['y'] }))).toEqual([['x', 'z', 'y', 'x']]);
  });

  it('reports a self-reference as a one-edge cycle', () => {
    expect(findCycles(graph({ a: ['a'], b: [] }))).toEqual([['a', 'a']]);
  });

  it('reports each separate cycle once, sorted by first node', () => {
    const cycles = findCycles(graph({ p: ['q'], q: ['p'], a: ['b'], b: ['a'], m: ['a', 'p'] }));
    expect(cycles).toEqual([
      ['a', 'b', 'a'],
      ['p', 'q', 'p'],
    ]);
  });

  it('gives a path whose every step is a real edge inside a larger tangle', () => {
    const g = graph({ a: ['b', 'd'], b: ['c'], c: ['a', 'd'], d: ['b'] });
    const [cycle] = findCycles(g);
    expect(cycle[0]).toBe('a');
    expect(cycle.at(-1)).toBe('a');
    for (let i = 0; i + 1 < cycle.length; i++) expect(g.upstream.get(cycle[i])).toContain(cycle[i + 1]);
    // A simple cycle: no node repeated except the closing one.
    expect(new Set(cycle.slice(0, -1)).size).toBe(cycle.length - 1);
  });

  it('handles a long chain without overflowing the stack', () => {
    const edges: Record<string, string[]> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) edges[`m${String(i).padStart(5, '0')}`] = i === 0 ? [] : [`m${String(i - 1).padStart(5, '0')}`];
    expect(findCycles(graph(edges))).toEqual([]);
    edges.m00000 = [`m${String(n - 1).padStart(5, '0')}`];
    const cycles = findCycles(graph(edges));
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(n + 1);
  });
});

describe('renderDag', () => {
  const nodes: DagNode[] = [
    { name: 'raw_orders', kind: 'seed', file: 'seeds/raw_orders.csv', tags: [], upstream: [] },
    { name: 'stg_orders', kind: 'view', file: 'models/stg_orders.sql', tags: ['staging'], upstream: ['raw_orders'] },
    { name: 'fct_orders', kind: 'incremental', file: 'models/fct_orders.sql', tags: ['daily'], upstream: ['stg_orders', 'raw_orders'] },
  ];

  it('renders text with the upstream of each node', () => {
    expect(renderDag(nodes, 'text')).toBe(
      ['raw_orders (seed)', 'stg_orders (view)', '  ← raw_orders', 'fct_orders (incremental)', '  ← stg_orders, raw_orders'].join('\n'),
    );
  });

  it('renders mermaid with safe, distinct node ids and one arrow per edge', () => {
    const odd: DagNode[] = [
      ...nodes,
      { name: 'my-model.v2', kind: 'table', file: 'models/my-model.v2.sql', tags: [], upstream: ['fct_orders'] },
      { name: 'my_model_v2', kind: 'view', file: 'models/my_model_v2.sql', tags: [], upstream: ['my-model.v2'] },
    ];
    expect(renderDag(odd, 'mermaid')).toBe(
      [
        'graph LR',
        '  n_raw_orders["raw_orders (seed)"]',
        '  n_stg_orders["stg_orders (view)"]',
        '  n_fct_orders["fct_orders (incremental)"]',
        '  e_my_2d_model_2e_v2["my-model.v2 (table)"]',
        '  n_my_model_v2["my_model_v2 (view)"]',
        '  n_raw_orders --> n_stg_orders',
        '  n_stg_orders --> n_fct_orders',
        '  n_raw_orders --> n_fct_orders',
        '  n_fct_orders --> e_my_2d_model_2e_v2',
        '  e_my_2d_model_2e_v2 --> n_my_model_v2',
      ].join('\n'),
    );
  });

  it('renders json with nodes and [from, to] edges', () => {
    const parsed = JSON.parse(renderDag(nodes, 'json')) as { nodes: DagNode[]; edges: [string, string][] };
    expect(parsed.nodes).toEqual(nodes);
    expect(parsed.edges).toEqual([
      ['raw_orders', 'stg_orders'],
      ['stg_orders', 'fct_orders'],
      ['raw_orders', 'fct_orders'],
    ]);
  });

  it('renders dot whose every statement tokenizes as valid DOT, names with quotes and backslashes included', () => {
    const odd: DagNode[] = [
      ...nodes,
      { name: 'we"ird\\name', kind: 'table', file: 'models/x.sql', tags: [], upstream: ['fct_orders'] },
    ];
    const dot = renderDag(odd, 'dot');
    const tokens = dotTokens(dot);
    expect(tokens.slice(0, 4)).toEqual(['digraph', 'pipe', '{', 'rankdir']);
    expect(tokens.at(-1)).toBe('}');
    const strings = tokens.filter((t) => t.startsWith('"')).map(dotUnquote);
    // Every node id and every edge end, with the original names.
    expect(strings).toContain('we"ird\\name');
    const edges = statements(tokens).filter((s) => s.includes('->'));
    expect(edges.map((s) => [dotUnquote(s[0]), dotUnquote(s[2])])).toEqual([
      ['raw_orders', 'stg_orders'],
      ['stg_orders', 'fct_orders'],
      ['raw_orders', 'fct_orders'],
      ['fct_orders', 'we"ird\\name'],
    ]);
    const labels = statements(tokens)
      .filter((s) => s[1] === '[')
      .map((s) => ({ id: dotUnquote(s[0]), attr: s[2], label: s[4] }));
    expect(labels.map((l) => l.id)).toEqual(['raw_orders', 'stg_orders', 'fct_orders', 'we"ird\\name']);
    for (const l of labels) {
      expect(l.attr).toBe('label');
      // The label names the model and its kind on two lines.
      expect(dotLabelLines(l.label)).toEqual([l.id, odd.find((n) => n.name === l.id)!.kind]);
    }
  });

  it('knows every format it advertises', () => {
    for (const f of DAG_FORMATS) expect(renderDag(nodes, f).length).toBeGreaterThan(0);
  });
});

/**
 * A strict tokenizer of the DOT subset pipe writes: keywords/identifiers, punctuation, `->`,
 * and double-quoted strings whose only escapes are `\"` and `\\` (plus Graphviz's `\n`,
 * `\l`, `\r` label escapes). Anything else, e.g. an unterminated string, throws.
 */
function dotTokens(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          if (!'"\\nlr'.includes(text[j + 1] ?? '')) throw new Error(`bad escape at ${j}: ${text.slice(j, j + 2)}`);
          j += 2;
        } else j++;
      }
      if (j >= text.length) throw new Error(`unterminated string at ${i}`);
      out.push(text.slice(i, j + 1));
      i = j + 1;
    } else if (text.startsWith('->', i)) {
      out.push('->');
      i += 2;
    } else if ('{}[];=,'.includes(c)) {
      out.push(c);
      i++;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (!m) throw new Error(`unexpected character ${JSON.stringify(c)} at ${i}`);
      out.push(m[0]);
      i += m[0].length;
    }
  }
  return out;
}

function dotUnquote(token: string): string {
  if (!token.startsWith('"')) throw new Error(`expected a quoted id, got ${token}`);
  return token.slice(1, -1).replace(/\\(["\\])/g, '$1');
}

/** The lines of a quoted label: a raw newline or Graphviz's \n, \l, \r escapes break lines. */
function dotLabelLines(token: string): string[] {
  if (!token.startsWith('"')) throw new Error(`expected a quoted label, got ${token}`);
  return token
    .slice(1, -1)
    .replace(/\\(["\\nlr])/g, (_, c: string) => ('"\\'.includes(c) ? c : '\n'))
    .split('\n');
}

/** Statements between the outer braces, split on `;`. */
function statements(tokens: string[]): string[][] {
  const body = tokens.slice(tokens.indexOf('{') + 1, tokens.lastIndexOf('}'));
  const out: string[][] = [];
  let cur: string[] = [];
  for (const t of body) {
    if (t === ';') {
      out.push(cur);
      cur = [];
    } else cur.push(t);
  }
  expect(cur).toEqual([]);
  return out;
}

describe('topologicalOrder on larger graphs', () => {
  it('equals Kahn\'s algorithm taking the smallest ready name each step', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const names = Array.from({ length: 400 }, (_, i) => `n${Math.floor(rand() * 1e6)}_${i}`);
    const upstream = new Map(names.map((n, i) => [n, i === 0 ? [] : [...new Set(Array.from({ length: Math.floor(rand() * 3) }, () => names[Math.floor(rand() * i)]))]]));
    const reference = (): string[] => {
      const left = new Map(names.map((n) => [n, upstream.get(n)!.length]));
      const ready = names.filter((n) => left.get(n) === 0);
      const out: string[] = [];
      while (ready.length > 0) {
        ready.sort();
        const n = ready.shift()!;
        out.push(n);
        for (const d of names) if (upstream.get(d)!.includes(n)) {
          left.set(d, left.get(d)! - 1);
          if (left.get(d) === 0) ready.push(d);
        }
      }
      return out;
    };
    const g = makeGraph(upstream);
    expect(topologicalOrder(g)).toEqual(reference());
    // A few of them, in any order and with names not in the graph: their places in that order.
    const some = names.filter(() => rand() < 0.1).reverse();
    expect(some.length).toBeGreaterThan(10);
    expect(inTopologicalOrder(g, [...some, 'not_a_node'])).toEqual(reference().filter((n) => some.includes(n)));
    expect(inTopologicalOrder(g, new Set(names))).toEqual(reference());
    expect(inTopologicalOrder(g, [])).toEqual([]);
  });
});
