import type { Graph } from './graph.js';
import { downstreamClosure, upstreamClosure } from './graph.js';

/**
 * Selection syntax, shared by every command:
 *   name        the node            +name   it and everything upstream
 *   name+       it and downstream   +name+  both
 *   tag:daily   nodes with the tag  path:models/staging  nodes whose file is under the path
 * `+` works on tag: and path: too. As in dbt, selectors given as several arguments or separated
 * by spaces are united, and selectors joined by commas are intersected: `tag:daily,path:models/marts`
 * is the daily models under models/marts, not every daily model and every mart.
 */
export interface SelectableNode {
  readonly name: string;
  readonly file: string;
  readonly tags: readonly string[];
}

export interface Selector {
  readonly text: string;
  readonly upstream: boolean;
  readonly downstream: boolean;
  readonly method: 'name' | 'tag' | 'path';
  readonly value: string;
}

/** Every selector named, in order, whichever group it is in. */
export function parseSelectors(texts: readonly string[]): Selector[] {
  return parseSelection(texts).flat();
}

/** The groups to unite, each a list of selectors to intersect (`a,b`). */
export function parseSelection(texts: readonly string[]): Selector[][] {
  return texts
    .flatMap((t) => t.split(/\s+/))
    .map((group) => group.split(',').filter(Boolean).map(parseSelector))
    .filter((group) => group.length > 0);
}

function parseSelector(text: string): Selector {
  let core = text;
  const upstream = core.startsWith('+');
  if (upstream) core = core.slice(1);
  const downstream = core.endsWith('+');
  if (downstream) core = core.slice(0, -1);
  let method: Selector['method'] = 'name';
  if (core.startsWith('tag:')) method = 'tag';
  else if (core.startsWith('path:')) method = 'path';
  const value = method === 'name' ? core : core.slice(method.length + 1);
  return { text, upstream, downstream, method, value };
}

export interface SelectionProblem {
  readonly selector: Selector;
  readonly message: string;
  readonly candidates: readonly string[];
}

function matchCore(selector: Selector, nodes: readonly SelectableNode[]): string[] {
  switch (selector.method) {
    case 'name':
      return nodes.filter((n) => n.name === selector.value).map((n) => n.name);
    case 'tag':
      return nodes.filter((n) => n.tags.includes(selector.value)).map((n) => n.name);
    case 'path': {
      const prefix = selector.value.replace(/\/+$/, '');
      return nodes.filter((n) => n.file === prefix || n.file.startsWith(`${prefix}/`)).map((n) => n.name);
    }
    default: {
      const never: never = selector.method;
      throw new Error(`internal error: selector method ${never}`);
    }
  }
}

/** The nodes one selector names, with its upstream and downstream when asked. */
function expandOne(s: Selector, nodes: readonly SelectableNode[], graph: Graph, problems: SelectionProblem[]): Set<string> {
  const out = new Set<string>();
  const core = matchCore(s, nodes);
  if (core.length === 0) {
    const candidates = s.method === 'name' ? nodes.map((n) => n.name) : s.method === 'tag' ? [...new Set(nodes.flatMap((n) => n.tags))] : [];
    const what = s.method === 'name' ? 'no model or seed named' : s.method === 'tag' ? 'no model has the tag' : 'no model file under';
    problems.push({ selector: s, message: `${what} '${s.value}'`, candidates });
    return out;
  }
  for (const n of core) out.add(n);
  if (s.upstream) for (const n of upstreamClosure(graph, core)) out.add(n);
  if (s.downstream) for (const n of downstreamClosure(graph, core)) out.add(n);
  return out;
}

/** The union of the groups, each the intersection of its selectors. */
function expand(groups: readonly Selector[][], nodes: readonly SelectableNode[], graph: Graph, problems: SelectionProblem[]): Set<string> {
  const out = new Set<string>();
  for (const group of groups) {
    const sets = group.map((s) => expandOne(s, nodes, graph, problems));
    for (const n of sets[0]) if (sets.every((set) => set.has(n))) out.add(n);
  }
  return out;
}

/** Resolves `select` minus `exclude`; an empty `select` means every node. */
export function select(
  graph: Graph,
  nodes: readonly SelectableNode[],
  selectTexts: readonly string[],
  excludeTexts: readonly string[],
): { selected: Set<string>; problems: SelectionProblem[] } {
  const problems: SelectionProblem[] = [];
  const groups = parseSelection(selectTexts);
  const selected = groups.length === 0 ? new Set(graph.nodes) : expand(groups, nodes, graph, problems);
  const excluded = expand(parseSelection(excludeTexts), nodes, graph, problems);
  for (const n of excluded) selected.delete(n);
  return { selected, problems };
}
