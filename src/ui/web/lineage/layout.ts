import { graphlib, layout as dagreLayout } from '@dagrejs/dagre';
import type { LayoutRequest, LayoutResult } from './layout-protocol.js';

/** Lays out the drawn neighbourhood with dagre, layered, left to right. */
export function layout(req: LayoutRequest): LayoutResult {
  const g = new graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of req.nodes) g.setNode(n.name, { width: n.width, height: n.height });
  for (const [from, to] of req.edges) g.setEdge(from, to);
  dagreLayout(g);
  const positions: Record<string, { x: number; y: number }> = {};
  for (const name of g.nodes()) {
    const n = g.node(name);
    positions[name] = { x: n.x, y: n.y };
  }
  const edges = g.edges().map((e) => ({ from: e.v, to: e.w, points: ((g.edge(e).points ?? []) as { x: number; y: number }[]).map((p) => ({ x: p.x, y: p.y })) }));
  const graph = g.graph();
  return { id: req.id, width: graph.width ?? 0, height: graph.height ?? 0, positions, edges };
}
