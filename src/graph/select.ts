import type { Graph } from './graph.js';
import { downstreamClosure, upstreamClosure } from './graph.js';

/**
 * Selection syntax, shared by every command:
 *   name        the node            +name   it and everything upstream
 *   name+       it and downstream   +name+  both
 *   tag:daily   nodes with the tag  path:models/staging  nodes whose file is under the path
 * `+` works on tag: and path: too. Selectors may be given as several arguments or comma-separated.
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

export function parseSelectors(texts: readonly string[]): Selector[] {
  return texts
    .flatMap((t) => t.split(/[\s,]+/))
    .filter(Boolean)
    .map((text) => {
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
    });
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

function expand(selectors: readonly Selector[], nodes: readonly SelectableNode[], graph: Graph, problems: SelectionProblem[]): Set<string> {
  const out = new Set<string>();
  for (const s of selectors) {
    const core = matchCore(s, nodes);
    if (core.length === 0) {
      const candidates =
        s.method === 'name' ? nodes.map((n) => n.name) : s.method === 'tag' ? [...new Set(nodes.flatMap((n) => n.tags))] : [];
      const what = s.method === 'name' ? 'no model or seed named' : s.method === 'tag' ? 'no model has the tag' : 'no model file under';
      problems.push({ selector: s, message: `${what} '${s.value}'`, candidates });
      continue;
    }
    for (const n of core) out.add(n);
    if (s.upstream) for (const n of upstreamClosure(graph, core)) out.add(n);
    if (s.downstream) for (const n of downstreamClosure(graph, core)) out.add(n);
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
  const selectors = parseSelectors(selectTexts);
  const selected = selectors.length === 0 ? new Set(graph.nodes) : expand(selectors, nodes, graph, problems);
  const excluded = expand(parseSelectors(excludeTexts), nodes, graph, problems);
  for (const n of excluded) selected.delete(n);
  return { selected, problems };
}
