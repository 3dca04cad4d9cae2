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

/** Downstream maps already computed: a graph never changes (watch mode keeps one across saves). */
const downstreams = new WeakMap<Graph, ReadonlyMap<string, readonly string[]>>();

/** node -> the nodes that read from it. */
export function downstreamMap(graph: Graph): ReadonlyMap<string, readonly string[]> {
  const known = downstreams.get(graph);
  if (known) return known;
  const down = new Map<string, string[]>(graph.nodes.map((n) => [n, []]));
  for (const n of graph.nodes) {
    for (const u of graph.upstream.get(n) ?? []) down.get(u)?.push(n);
  }
  downstreams.set(graph, down);
  return down;
}

/** Orders already computed: a graph never changes, and analysis, planning and compile each ask. */
const orders = new WeakMap<Graph, readonly string[]>();

/**
 * Kahn's algorithm, ties broken by name so the order is stable across runs.
 * Nodes on a cycle are left out; call findCycles first.
 */
export function topologicalOrder(graph: Graph): string[] {
  return [...topologicalOrderOf(graph)];
}

/** Each node's place in topologicalOrder, made once per graph. */
const positions = new WeakMap<Graph, ReadonlyMap<string, number>>();

/**
 * `names` in the order topologicalOrder gives them, those not in the graph left out: without
 * walking the whole graph, so that planning a few nodes of a large project (a save in watch
 * mode) costs what those few do.
 */
export function inTopologicalOrder(graph: Graph, names: Iterable<string>): string[] {
  let at = positions.get(graph);
  if (!at) {
    at = new Map(topologicalOrderOf(graph).map((n, i) => [n, i]));
    positions.set(graph, at);
  }
  const order = topologicalOrderOf(graph);
  const places: number[] = [];
  for (const n of names) {
    const i = at.get(n);
    if (i !== undefined) places.push(i);
  }
  // A typed array sorts by number.
  return Array.from(Int32Array.from(places).sort(), (i) => order[i]);
}

function topologicalOrderOf(graph: Graph): readonly string[] {
  let order = orders.get(graph);
  if (!order) {
    order = kahn(graph);
    orders.set(graph, order);
  }
  return order;
}

function kahn(graph: Graph): string[] {
  const remaining = new Map<string, number>();
  for (const n of graph.nodes) remaining.set(n, (graph.upstream.get(n) ?? []).length);
  const down = downstreamMap(graph);
  // The ready nodes in a min-heap: the smallest name goes first, so the order is stable.
  const ready = new NameHeap();
  for (const n of graph.nodes) if (remaining.get(n) === 0) ready.push(n);
  const order: string[] = [];
  for (let n = ready.pop(); n !== undefined; n = ready.pop()) {
    order.push(n);
    for (const d of down.get(n) ?? []) {
      const left = remaining.get(d)! - 1;
      remaining.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  return order;
}

/** A binary min-heap of names, in the order of the default string sort. */
class NameHeap {
  private readonly items: string[] = [];

  push(name: string): void {
    const a = this.items;
    a.push(name);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): string | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
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
