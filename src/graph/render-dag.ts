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

/**
 * A Mermaid node id that keeps distinct names distinct: plain names as they are, others
 * (`my-model`) with every other character escaped, under a prefix of their own.
 */
const mermaidId = (name: string) =>
  /^[A-Za-z0-9_]+$/.test(name)
    ? `n_${name}`
    : `e_${name.replace(/[^A-Za-z0-9]/g, (c) => (c === '_' ? '__' : `_${c.codePointAt(0)!.toString(16)}_`))}`;
/** Mermaid label text: `"` would end the label, so it becomes an entity. */
const mermaidText = (s: string) => s.replaceAll('"', '#quot;');
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
      for (const n of nodes) lines.push(`  ${mermaidId(n.name)}["${mermaidText(n.name)} (${n.kind})"]`);
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
