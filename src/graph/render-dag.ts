/** Text forms of the graph for `pipe dag`. Pure: nodes in, text out. */
export interface DagNode {
  readonly name: string;
  readonly kind: string;
  readonly file: string;
  readonly tags: readonly string[];
  readonly upstream: readonly string[];
}

export type DagFormat = 'text' | 'mermaid' | 'dot' | 'json';
export const DAG_FORMATS: readonly DagFormat[] = ['text', 'mermaid', 'dot', 'json'];

const mermaidId = (name: string) => `n_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
const dotEscape = (s: string) => s.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
const dotQuote = (s: string) => `"${dotEscape(s)}"`;

export function renderDag(nodes: readonly DagNode[], format: DagFormat): string {
  switch (format) {
    case 'text':
      return nodes
        .map((n) => `${n.name} (${n.kind})${n.upstream.length ? `\n  ← ${n.upstream.join(', ')}` : ''}`)
        .join('\n');
    case 'mermaid': {
      const lines = ['graph LR'];
      for (const n of nodes) lines.push(`  ${mermaidId(n.name)}["${n.name} (${n.kind})"]`);
      for (const n of nodes) for (const u of n.upstream) lines.push(`  ${mermaidId(u)} --> ${mermaidId(n.name)}`);
      return lines.join('\n');
    }
    case 'dot': {
      const lines = ['digraph pipe {', '  rankdir=LR;'];
      for (const n of nodes) lines.push(`  ${dotQuote(n.name)} [label="${dotEscape(n.name)}\\n${dotEscape(n.kind)}"];`);
      for (const n of nodes) for (const u of n.upstream) lines.push(`  ${dotQuote(u)} -> ${dotQuote(n.name)};`);
      lines.push('}');
      return lines.join('\n');
    }
    case 'json':
      return JSON.stringify({
        nodes: nodes.map((n) => ({ name: n.name, kind: n.kind, file: n.file, tags: n.tags, upstream: n.upstream })),
        edges: nodes.flatMap((n) => n.upstream.map((u) => [u, n.name])),
      });
    default: {
      const never: never = format;
      throw new Error(`internal error: format ${String(never)}`);
    }
  }
}
