import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { nodeFqn } from '../../project/layout.js';
import type { ShadowedNode } from '../../project/load-project.js';
import { levelsFor, mergeSettings, type ConfigSetting } from './config-tree.js';
import type { DbtProject } from './dbt-project.js';

/**
 * The package nodes whose names the project already has (see ShadowedNode). One that the
 * folder configs disable (the package's dbt_project.yml, then the project's over it: how a
 * project replaces a package's model with its own) is left out with its properties entries;
 * any other is an error naming both files, never a choice between them. Decided from
 * dbt_project.yml alone (an `enabled` set by config() does not count); one written with Jinja
 * (`+enabled: "{{ var('use_x', false) }}"`) is rendered once the templates can be (`pending`,
 * see decideShadowed), its entries going with it meanwhile.
 * Returns whether an entry named `name` in the properties file `file` is a shadowed node's.
 */
export function shadowedNodes(
  shadowed: readonly ShadowedNode[],
  dbt: DbtProject | undefined,
  diagnostics: Diagnostic[],
  pending: PendingShadowed[] = [],
): (kind: 'model' | 'seed', name: string, file: string) => boolean {
  const left = new Set<string>();
  for (const node of shadowed) {
    const section = node.kind === 'seed' ? 'seeds' : 'models';
    const fqn = nodeFqn(node.package.name, node, node.kind, []);
    const merge = (file: DbtProject['file']) => levelsFor(file, section, fqn).reduce((out: Map<string, ConfigSetting>, level) => mergeSettings(out, level), new Map());
    const settings = dbt ? mergeSettings(merge(node.package.project), merge(dbt.file)) : merge(node.package.project);
    // Its entries in the package's properties files go with it, reported or not.
    left.add(`${node.kind}\u0000${node.name}\u0000${node.package.dir}/`);
    const enabled = settings.get('enabled');
    if (enabled?.value === false) continue;
    if (typeof enabled?.value === 'string' && /\{[{%]/.test(enabled.value)) {
      pending.push({ node, setting: enabled, duplicate: twice(node, section, fqn) });
      continue;
    }
    diagnostics.push(twice(node, section, fqn));
  }
  if (left.size === 0) return () => false;
  return (kind, name, file) => [...left].some((k) => k.startsWith(`${kind}\u0000${name}\u0000`) && file.startsWith(k.slice(k.lastIndexOf('\u0000') + 1)));
}

/** A shadowed node whose `enabled` is written with Jinja, and the error it is when that renders to anything but false. */
export interface PendingShadowed {
  readonly node: ShadowedNode;
  readonly setting: ConfigSetting;
  readonly duplicate: Diagnostic;
}

/** The pending nodes' `enabled` rendered, each with the renderer of the file that sets it: one not false is the error it was held back as. */
export function decideShadowed(pending: readonly PendingShadowed[], rendererOf: (file: string) => (text: string, at: Location) => unknown, diagnostics: Diagnostic[]): void {
  for (const p of pending) {
    const value = rendererOf(p.setting.location.file)(p.setting.value as string, p.setting.location);
    if (value !== false) diagnostics.push(p.duplicate);
  }
}

function twice(node: ShadowedNode, section: string, fqn: readonly string[]): Diagnostic {
  return error('duplicate-model', `'${node.name}' is defined twice: ${node.other} and ${node.file}`, { file: node.file }, {
    related: [{ message: 'first defined here', location: { file: node.other } }],
    hint: `pipe names each model and seed once across the project and its packages (dbt tells them apart by package): disable the one not to build in dbt_project.yml, e.g. ${section}: ${fqn.join(': ')}: +enabled: false`,
  });
}
