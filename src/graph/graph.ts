/**
 * The dependency graph as plain data: each node lists the nodes it depends on (upstream).
 * Functions here are pure and know nothing of models, files or SQL.
 */
export interface Graph {
  readonly nodes: readonly string[];
  /** node -> the nodes it reads from. Every name in a list is also in `nodes`. */
  readonly upstream: ReadonlyMap<string, readonly string[]>;
}

export function makeGraph(upstream: ReadonlyMap<string, readonly string[]>): Graph {
  return { nodes: [...upstream.keys()].sort(), upstream };
}

/** node -> the nodes that read from it. */
export function downstreamMap(graph: Graph): Map<string, string[]> {
  const down = new Map<string, string[]>(graph.nodes.map((n) => [n, []]));
  for (const n of graph.nodes) {
    for (const u of graph.upstream.get(n) ?? []) down.get(u)?.push(n);
  }
  return down;
}

/**
 * Kahn's algorithm, ties broken by name so the order is stable across runs.
 * Nodes on a cycle are left out; call findCycles first.
 */
export function topologicalOrder(graph: Graph): string[] {
  const remaining = new Map<string, number>();
  for (const n of graph.nodes) remaining.set(n, (graph.upstream.get(n) ?? []).length);
  const down = downstreamMap(graph);
  const ready = graph.nodes.filter((n) => remaining.get(n) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort();
    const n = ready.shift()!;
    order.push(n);
    for (const d of down.get(n) ?? []) {
      const left = remaining.get(d)! - 1;
      remaining.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  return order;
}

/** Every node reachable by following `next` from the start nodes, the start nodes included. */
export function reachable(start: Iterable<string>, next: (n: string) => readonly string[] | undefined): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const m of next(n) ?? []) if (!seen.has(m)) stack.push(m);
  }
  return seen;
}

export function upstreamClosure(graph: Graph, start: Iterable<string>): Set<string> {
  return reachable(start, (n) => graph.upstream.get(n));
}

export function downstreamClosure(graph: Graph, start: Iterable<string>): Set<string> {
  const down = downstreamMap(graph);
  return reachable(start, (n) => down.get(n));
}
