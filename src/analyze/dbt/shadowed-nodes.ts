import { error, type Diagnostic } from '../../diagnostics/diagnostics.js';
import { nodeFqn } from '../../project/layout.js';
import type { ShadowedNode } from '../../project/load-project.js';
import { levelsFor, mergeSettings, type ConfigSetting } from './config-tree.js';
import type { DbtProject } from './dbt-project.js';

/**
 * The package nodes whose names the project already has (see ShadowedNode). One that the
 * folder configs disable (the package's dbt_project.yml, then the project's over it: how a
 * project replaces a package's model with its own) is left out with its properties entries;
 * any other is an error naming both files, never a choice between them. Decided from
 * dbt_project.yml alone: an `enabled` written with Jinja, or set by config(), does not count.
 * Returns whether an entry named `name` in the properties file `file` is a shadowed node's.
 */
export function shadowedNodes(
  shadowed: readonly ShadowedNode[],
  dbt: DbtProject | undefined,
  diagnostics: Diagnostic[],
): (kind: 'model' | 'seed', name: string, file: string) => boolean {
  const left = new Set<string>();
  for (const node of shadowed) {
    const section = node.kind === 'seed' ? 'seeds' : 'models';
    const fqn = nodeFqn(node.package.name, node, node.kind, []);
    const merge = (file: DbtProject['file']) => levelsFor(file, section, fqn).reduce((out: Map<string, ConfigSetting>, level) => mergeSettings(out, level), new Map());
    const settings = dbt ? mergeSettings(merge(node.package.project), merge(dbt.file)) : merge(node.package.project);
    // Its entries in the package's properties files go with it, reported or not.
    left.add(`${node.kind}\u0000${node.name}\u0000${node.package.dir}/`);
    if (settings.get('enabled')?.value === false) continue;
    diagnostics.push(
      error('duplicate-model', `'${node.name}' is defined twice: ${node.other} and ${node.file}`, { file: node.file }, {
        related: [{ message: 'first defined here', location: { file: node.other } }],
        hint: `pipe names each model and seed once across the project and its packages (dbt tells them apart by package): disable the one not to build in dbt_project.yml, e.g. ${section}: ${fqn.join(': ')}: +enabled: false`,
      }),
    );
  }
  if (left.size === 0) return () => false;
  return (kind, name, file) => [...left].some((k) => k.startsWith(`${kind}\u0000${name}\u0000`) && file.startsWith(k.slice(k.lastIndexOf('\u0000') + 1)));
}
