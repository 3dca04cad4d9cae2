import type { Diagnostic } from '../../diagnostics/diagnostics.js';

/** How many node names a grouped diagnostic spells out before it counts the rest. */
const NAMES_SHOWN = 5;

/**
 * What is wrong with the config of each node, reported once per place. A folder config of
 * dbt_project.yml applies to every node under its folder, so a setting pipe refuses there is
 * found once per node: a hundred copies of one line would hide which nodes it stops. What more
 * than one node found at one place is reported once, naming them, and so is what one model
 * found in dbt_project.yml (a seed's problems name its file); the rest is as it was.
 */
export class ConfigDiagnostics {
  private readonly places = new Map<string, { readonly diagnostic: Diagnostic; readonly nodes: string[]; readonly kinds: Set<string>; readonly blocks: Set<string> }>();

  constructor(private readonly kind: 'model' | 'seed') {}

  /** `kind`: the node's, when it is not the one the constructor names (a snapshot among models). */
  add(node: string, found: readonly Diagnostic[], kind: string = this.kind): void {
    for (const given of found) {
      // An error of a node's config stops that node alone (a key dbt builds with and pipe refuses, a slip of a key).
      const d = given.severity === 'error' && given.blocks === undefined ? { ...given, blocks: [node] } : given;
      const key = JSON.stringify([d.severity, d.code, d.message, d.location?.file, d.location?.line, d.location?.column, d.hint]);
      const place = this.places.get(key);
      if (place) {
        if (!place.nodes.includes(node)) place.nodes.push(node);
        place.kinds.add(kind);
        for (const b of d.blocks ?? []) place.blocks.add(b);
      } else {
        this.places.set(key, { diagnostic: d, nodes: [node], kinds: new Set([kind]), blocks: new Set(d.blocks) });
      }
    }
  }

  diagnostics(): Diagnostic[] {
    return [...this.places.values()].map(({ diagnostic, nodes, kinds, blocks }) => {
      // One place refused for several nodes stops each of them (see Diagnostic.blocks).
      const d = blocks.size > 0 ? { ...diagnostic, blocks: [...blocks] } : diagnostic;
      return nodes.length > 1 || (this.kind === 'model' && SHARED_SETTINGS.test(diagnostic.location?.file ?? '')) ? { ...d, message: `${d.message} (${named(nodes, kinds.size === 1 ? [...kinds][0] : 'node')})` } : d;
    });
  }
}

function named(nodes: readonly string[], kind: string): string {
  if (nodes.length === 1) return `${kind} ${nodes[0]}`;
  const shown = nodes.slice(0, NAMES_SHOWN);
  const rest = nodes.length - shown.length;
  const list = rest > 0 ? `${shown.join(', ')} and ${rest} more` : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
  return `${nodes.length} ${kind}s: ${list}`;
}

/** The files whose config applies to many nodes: what one node found there is said with its name, which the line does not show. */
const SHARED_SETTINGS = /(?:^|\/)(?:dbt_project\.yml|pipe\.ya?ml)$/;
