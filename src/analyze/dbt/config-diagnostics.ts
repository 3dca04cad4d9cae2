import type { Diagnostic } from '../../diagnostics/diagnostics.js';

/** How many node names a grouped diagnostic spells out before it counts the rest. */
const NAMES_SHOWN = 5;

/**
 * What is wrong with the config of each node, reported once per place. A folder config of
 * dbt_project.yml applies to every node under its folder, so a setting pipe refuses there is
 * found once per node: a hundred copies of one line would hide which nodes it stops. What more
 * than one node found at one place is reported once, naming them; the rest is as it was.
 */
export class ConfigDiagnostics {
  private readonly places = new Map<string, { readonly diagnostic: Diagnostic; readonly nodes: string[] }>();

  constructor(private readonly kind: 'model' | 'seed') {}

  add(node: string, found: readonly Diagnostic[]): void {
    for (const d of found) {
      const key = JSON.stringify([d.severity, d.code, d.message, d.location?.file, d.location?.line, d.location?.column, d.hint]);
      const place = this.places.get(key);
      if (place) {
        if (!place.nodes.includes(node)) place.nodes.push(node);
      } else {
        this.places.set(key, { diagnostic: d, nodes: [node] });
      }
    }
  }

  diagnostics(): Diagnostic[] {
    return [...this.places.values()].map(({ diagnostic, nodes }) =>
      nodes.length > 1 ? { ...diagnostic, message: `${diagnostic.message} (${this.named(nodes)})` } : diagnostic,
    );
  }

  private named(nodes: readonly string[]): string {
    const shown = nodes.slice(0, NAMES_SHOWN);
    const rest = nodes.length - shown.length;
    const list = rest > 0 ? `${shown.join(', ')} and ${rest} more` : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
    return `${nodes.length} ${this.kind}s: ${list}`;
  }
}
