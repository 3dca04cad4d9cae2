import { describe, expect, it } from 'vitest';
import { layout } from '../../src/ui/web/lineage/layout.js';

/** The lineage page's drawing: every edge runs where no box is, so no edge reads as another node's. */

const W = 180;
const H = 30;
type Point = { readonly x: number; readonly y: number };

/** Whether the segment a-b enters the box centred at c (its border excluded: an edge touches its own nodes). */
function crosses(a: Point, b: Point, c: Point): boolean {
  const steps = 200;
  for (let i = 1; i < steps; i++) {
    const x = a.x + ((b.x - a.x) * i) / steps;
    const y = a.y + ((b.y - a.y) * i) / steps;
    if (Math.abs(x - c.x) < W / 2 - 0.5 && Math.abs(y - c.y) < H / 2 - 0.5) return true;
  }
  return false;
}

function crossings(nodes: string[], edges: [string, string][]): string[] {
  const out = layout({ id: 1, nodes: nodes.map((name) => ({ name, width: W, height: H })), edges });
  const found: string[] = [];
  for (const e of out.edges) {
    for (let i = 1; i < e.points.length; i++) {
      for (const [name, at] of Object.entries(out.positions)) if (crosses(e.points[i - 1], e.points[i], at)) found.push(`${e.from} -> ${e.to} through ${name}`);
    }
  }
  return [...new Set(found)];
}

describe('lineage layout', () => {
  it('draws no edge through a box: one model read by many, and edges that skip layers', () => {
    // The example project with three more models reading fct_orders: dagre's own ends met the
    // targets on their tops, through the boxes above them.
    const edges: [string, string][] = [
      ['raw_customers', 'stg_customers'],
      ['raw_orders', 'stg_orders'],
      ['raw_products', 'stg_products'],
      ['stg_orders', 'order_lines'],
      ['stg_products', 'order_lines'],
      ['order_lines', 'fct_orders'],
      ['stg_customers', 'fct_orders'],
      ['fct_orders', 'checked_daily'],
      ['fct_orders', 'daily_revenue'],
      ['stg_customers', 'dim_customers'],
      ['fct_orders', 'dim_customers'],
      ['fct_orders', 'flaky_daily'],
      ['fct_orders', 'slow_daily'],
      // An edge that skips layers.
      ['raw_orders', 'slow_daily'],
    ];
    expect(crossings([...new Set(edges.flat())], edges)).toEqual([]);
    // A graph where dagre's own ends crossed: m0 -> m5 was drawn through m8's box.
    const dense: [string, string][] = [
      ['m0', 'm1'], ['m1', 'm2'], ['m2', 'm3'], ['m0', 'm3'], ['m0', 'm4'], ['m0', 'm5'], ['m1', 'm5'],
      ['m0', 'm6'], ['m6', 'm7'], ['m5', 'm7'], ['m0', 'm8'], ['m4', 'm8'], ['m1', 'm9'],
    ];
    expect(crossings([...new Set(dense.flat())], dense)).toEqual([]);
  });

  it('draws no edge through a box in graphs of every shape (a seeded sample of 80)', () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 80; trial++) {
      const names = Array.from({ length: 5 + Math.floor(random() * 10) }, (_, i) => `m${i}`);
      const edges: [string, string][] = [];
      for (let j = 1; j < names.length; j++) {
        for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
          const i = Math.floor(random() * j);
          if (!edges.some(([a, b]) => a === names[i] && b === names[j])) edges.push([names[i], names[j]]);
        }
      }
      expect(crossings(names, edges), JSON.stringify(edges)).toEqual([]);
    }
  });

  it('starts each edge at its source box and ends it at its target box', () => {
    const out = layout({ id: 1, nodes: ['s', 't', 'u'].map((name) => ({ name, width: W, height: H })), edges: [['s', 't'], ['s', 'u']] });
    for (const e of out.edges) {
      const [first, last] = [e.points[0], e.points.at(-1)!];
      expect([first.x, first.y]).toEqual([out.positions[e.from].x + W / 2, out.positions[e.from].y]);
      expect([last.x, last.y]).toEqual([out.positions[e.to].x - W / 2, out.positions[e.to].y]);
    }
  });
});
