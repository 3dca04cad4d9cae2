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
  const columns = req.nodes.map((n) => ({ left: positions[n.name].x - n.width / 2, right: positions[n.name].x + n.width / 2 }));
  const widths = new Map(req.nodes.map((n) => [n.name, n.width]));
  const edges = g.edges().map((e) => {
    const points = (g.edge(e).points ?? []) as { x: number; y: number }[];
    return { from: e.v, to: e.w, points: routed(positions[e.v], widths.get(e.v) ?? 0, points.slice(1, -1), positions[e.w], widths.get(e.w) ?? 0, columns) };
  });
  const graph = g.graph();
  return { id: req.id, width: graph.width ?? 0, height: graph.height ?? 0, positions, edges };
}

/**
 * An edge's line, drawn where no box is: from the middle of its source's right side to the
 * middle of its target's left side, and across a layer of boxes it passes (dagre's points
 * inside a box's column, on the row dagre keeps free for it) level, from the column's left to
 * its right. Dagre's own end points sit where the straight line to the box's centre meets the
 * box, on its top or bottom when the target lies far below: the line then crossed the boxes
 * between, and read as an edge from another node.
 */
function routed(
  from: { x: number; y: number },
  fromWidth: number,
  inner: readonly { x: number; y: number }[],
  to: { x: number; y: number },
  toWidth: number,
  columns: readonly { left: number; right: number }[],
): { x: number; y: number }[] {
  const out = [{ x: from.x + fromWidth / 2, y: from.y }];
  for (const p of inner) {
    const column = columns.find((c) => p.x > c.left && p.x < c.right);
    if (column) out.push({ x: column.left, y: p.y }, { x: column.right, y: p.y });
    else out.push({ x: p.x, y: p.y });
  }
  out.push({ x: to.x - toWidth / 2, y: to.y });
  return out;
}
