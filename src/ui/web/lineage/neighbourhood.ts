/**
 * What the lineage page draws: never the whole graph of a large project, only a neighbourhood
 * of at most `cap` nodes. Pure, so the page's cost is bounded by the cap, not by the project.
 */

export interface LineageNode {
  readonly name: string;
  readonly upstream: readonly string[];
}

export interface Neighbourhood {
  /** The nodes to draw, nearest first. */
  readonly names: readonly string[];
  /** Nodes the hops reach (or the project holds, without a focus) beyond the cap. */
  readonly more: number;
}

/** Each node's readers, built once per graph. */
export function downstreamOf(nodes: readonly LineageNode[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of nodes) {
    for (const u of n.upstream) {
      const list = out.get(u);
      if (list) list.push(n.name);
      else out.set(u, [n.name]);
    }
  }
  return out;
}

/**
 * The focus, then breadth-first the nodes up to `up` hops upstream and `down` hops downstream
 * of it, at most `cap` in all. Without a focus, the first `cap` nodes.
 */
export function neighbourhood(
  nodes: readonly LineageNode[],
  downstream: ReadonlyMap<string, readonly string[]>,
  focus: string | undefined,
  up: number,
  down: number,
  cap: number,
): Neighbourhood {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  if (focus === undefined || !byName.has(focus)) {
    return { names: nodes.slice(0, cap).map((n) => n.name), more: Math.max(0, nodes.length - cap) };
  }
  const reached = new Set<string>([focus]);
  const walk = (next: (name: string) => readonly string[], hops: number) => {
    let frontier = [focus];
    for (let h = 0; h < hops && frontier.length > 0; h++) {
      const following: string[] = [];
      for (const name of frontier) {
        for (const m of next(name)) {
          if (reached.has(m)) continue;
          reached.add(m);
          following.push(m);
        }
      }
      frontier = following;
    }
  };
  walk((name) => byName.get(name)?.upstream ?? [], up);
  walk((name) => downstream.get(name) ?? [], down);
  const names = [...reached];
  return { names: names.slice(0, cap), more: Math.max(0, names.length - cap) };
}

/** The edges among the drawn nodes. */
export function edgesAmong(nodes: readonly LineageNode[], names: readonly string[]): [string, string][] {
  const drawn = new Set(names);
  const out: [string, string][] = [];
  for (const n of nodes) {
    if (!drawn.has(n.name)) continue;
    for (const u of n.upstream) if (drawn.has(u)) out.push([u, n.name]);
  }
  return out;
}

/** Names containing the search text, whatever its case, best (name starts with it) first. */
export function search(nodes: readonly LineageNode[], text: string, limit: number): string[] {
  const q = text.trim().toLowerCase();
  if (q === '') return [];
  const hits = nodes.map((n) => n.name).filter((n) => n.toLowerCase().includes(q));
  hits.sort((a, b) => Number(!a.toLowerCase().startsWith(q)) - Number(!b.toLowerCase().startsWith(q)) || a.length - b.length || a.localeCompare(b));
  return hits.slice(0, limit);
}
