import type { Graph } from './graph.js';

/**
 * Finds the cycles of a graph, one per strongly connected component, each as the path
 * `[a, b, c, a]` where a depends on b, b on c and c on a. Iterative Tarjan, so deep graphs
 * cannot overflow the stack.
 */
export function findCycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];

  for (const root of graph.nodes) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const ups = graph.upstream.get(frame.node) ?? [];
      if (frame.next < ups.length) {
        const m = ups[frame.next++];
        if (!index.has(m)) {
          index.set(m, counter);
          low.set(m, counter++);
          stack.push(m);
          onStack.add(m);
          work.push({ node: m, next: 0 });
        } else if (onStack.has(m)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(m)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          component.push(m);
        } while (m !== frame.node);
        const selfLoop = (graph.upstream.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  return components.map((c) => cyclePath(graph, new Set(c))).sort((a, b) => a[0].localeCompare(b[0]));
}

/** A simple cycle through the smallest-named node of a strongly connected component. */
function cyclePath(graph: Graph, members: Set<string>): string[] {
  const start = [...members].sort()[0];
  // Breadth-first search from start back to start, staying inside the component.
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const m of [...(graph.upstream.get(n) ?? [])].sort()) {
      if (!members.has(m)) continue;
      if (m === start) {
        const chain: string[] = [];
        for (let at = n; at !== start; at = prev.get(at)!) chain.unshift(at);
        return [start, ...chain, start];
      }
      if (!seen.has(m)) {
        seen.add(m);
        prev.set(m, n);
        queue.push(m);
      }
    }
  }
  return [start, start];
}
