import { warning, type Diagnostic } from '../../diagnostics/diagnostics.js';
import { didYouMean } from '../../diagnostics/suggest.js';
import type { YamlSource } from '../../project/yaml-file.js';

/**
 * dbt's warning about config paths of dbt_project.yml that apply to no resource ("Configuration
 * paths exist in your dbt_project.yml file which do not apply to any resources"), with dbt's
 * rules: a path is the chain of keys down to a level that sets something (a key with `+`, or
 * one whose value is not a mapping; a key whose value is a mapping and has no `+` is the next
 * level, as config-tree.ts reads it), and it applies when it begins the qualified name of a
 * node of its section, disabled ones included. A typo in a folder's or the project's name
 * (`models: rootproj: ...`) otherwise configures nothing, silently.
 *
 * Checked for `models`, `seeds`, `snapshots`, `sources` and tests (`data_tests`, or the older
 * `tests`), whose qualified names pipe makes as dbt does.
 */

export type ConfigSection = 'models' | 'seeds' | 'snapshots' | 'sources' | 'data_tests' | 'tests';

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The config paths of one section, as dbt's _get_config_paths collects them: each level that sets something. */
export function configPaths(section: unknown): string[][] {
  const out: string[][] = [];
  const seen = new Set<string>();
  const walk = (level: Record<string, unknown>, path: string[]) => {
    for (const [key, value] of Object.entries(level)) {
      if (isMapping(value) && !key.startsWith('+')) walk(value, [...path, key]);
      else if (!seen.has(path.join('\u0000'))) {
        seen.add(path.join('\u0000'));
        out.push(path);
      }
    }
  };
  if (isMapping(section)) walk(section, []);
  return out;
}

/** Whether `path` begins one of the qualified names. */
function applies(path: readonly string[], fqns: readonly (readonly string[])[]): boolean {
  return fqns.some((fqn) => path.length <= fqn.length && path.every((p, i) => fqn[i] === p));
}

const KIND: Readonly<Record<ConfigSection, string>> = { models: 'model', seeds: 'seed', snapshots: 'snapshot', sources: 'source', data_tests: 'test', tests: 'test' };

/** A warning at each config path of the root dbt_project.yml that applies to no node of its section, for the sections given. */
export function unusedConfigPaths(yaml: YamlSource, fqns: Readonly<Partial<Record<ConfigSection, readonly (readonly string[])[]>>>, names: readonly string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [section, sectionFqns] of Object.entries(fqns) as [ConfigSection, readonly (readonly string[])[]][]) {
    for (const path of configPaths(yaml.data[section])) {
      if (applies(path, sectionFqns)) continue;
      const dotted = [section, ...path].join('.');
      const kind = KIND[section];
      const message = path.length === 0 ? `${section}: sets config, and the project has no ${kind}` : `${dotted} applies to no ${kind}: no qualified name begins ${path.join('.')}`;
      // The first key names the project or a package: a misspelt one is the usual cause.
      const hint = path.length > 0 && !names.includes(path[0]) ? didYouMean(path[0], names) : undefined;
      out.push(
        warning('unused-config-path', `${message} (dbt warns of this unused configuration path too)`, { file: yaml.file, line: yaml.pathLine([section, ...path]) }, hint ? { hint } : {}),
      );
    }
  }
  return out;
}
