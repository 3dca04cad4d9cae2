import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { LAYOUT_KEYS } from '../../project/layout.js';
import type { YamlSource } from '../../project/yaml-file.js';

/**
 * `dbt_project.yml` as pipe reads it: the project's name and profile, its vars, and the file
 * itself for the folder configs (config-tree.ts). Keys that only concern dbt's own tooling are
 * named in the notice; keys that would change what is built and that pipe cannot honour are errors.
 */
export interface DbtProject {
  readonly name: string;
  readonly profile?: string;
  /** Vars for this project: the global ones with those scoped to its name over them. */
  readonly vars: Readonly<Record<string, unknown>>;
  readonly file: YamlSource;
  readonly unused: readonly { readonly what: string; readonly location: Location }[];
}

/** Keys pipe reads. The `*-paths` keys are read when the project is loaded (layout.ts). */
const READ = new Set(['name', 'profile', 'vars', 'dispatch', 'models', 'seeds', 'sources', 'data_tests', 'tests', 'snapshots', ...Object.values(LAYOUT_KEYS), 'source-paths', 'data-paths']);

/** Keys about dbt itself (its version, where it writes its artifacts): nothing to build from. */
const DBT_ITSELF = new Set([
  'config-version',
  'version',
  'require-dbt-version',
  'target-path',
  'log-path',
  'packages-install-path',
  'clean-targets',
  'docs-paths',
  'asset-paths',
]);

/** Keys of dbt's other tooling, named in the notice. */
const TOOLING = new Set([
  'query-comment',
  'quoting',
  'flags',
  'restrict-access',
  'dbt-cloud',
  'saved-queries',
  'semantic-models',
  'metrics',
  'exposures',
  'analyses',
  'unit_tests',
]);

const UNSUPPORTED: Readonly<Record<string, string>> = {
  'on-run-start': 'run the statements in a model of their own, or remove the hook',
  'on-run-end': 'run the statements in a model of their own, or remove the hook',
};

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readDbtProject(file: YamlSource, diagnostics: Diagnostic[]): DbtProject {
  const d = file.data;
  const at = (key: string): Location => ({ file: file.file, line: file.keyLine(key) });
  let name = 'project';
  if (typeof d.name === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name)) name = d.name;
  else diagnostics.push(error('bad-config', `name must be the project's name (letters, digits, underscores), got ${JSON.stringify(d.name)}`, at('name')));
  const unused: { what: string; location: Location }[] = [];
  for (const key of Object.keys(d)) {
    if (READ.has(key) || DBT_ITSELF.has(key)) continue;
    if (Object.hasOwn(UNSUPPORTED, key)) {
      const hooks = d[key];
      if (hooks === null || (Array.isArray(hooks) && hooks.length === 0)) continue;
      diagnostics.push(error('unsupported', `${key} hooks are not supported by pipe`, at(key), { hint: UNSUPPORTED[key] }));
    } else {
      unused.push({ what: TOOLING.has(key) ? key : `${key} (not a key pipe knows)`, location: at(key) });
    }
  }
  let vars: Record<string, unknown> = {};
  if (d.vars !== undefined && d.vars !== null) {
    if (isMapping(d.vars)) {
      // dbt scopes a mapping under a project's name to that project.
      const { [name]: scoped, ...global } = d.vars;
      vars = isMapping(scoped) ? { ...global, ...scoped } : { ...d.vars };
    } else {
      diagnostics.push(error('bad-config', 'vars must be a mapping of names to values', at('vars')));
    }
  }
  const profile = typeof d.profile === 'string' ? d.profile : undefined;
  return { name, profile, vars, file, unused };
}
