import { templateValue } from '../yaml-floats.js';
import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { LAYOUT_KEYS } from '../../project/layout.js';
import type { InstalledPackage } from '../../project/load-packages.js';
import type { YamlSource } from '../../project/yaml-file.js';
import { checkRequiredDbtVersion } from './required-dbt-version.js';

/**
 * `dbt_project.yml` as pipe reads it: the project's name and profile, its vars, and the file
 * itself for the folder configs (config-tree.ts). Keys that only concern dbt's own tooling are
 * named in the notice; keys that would change what is built and that pipe cannot honour are errors.
 */
export interface DbtProject {
  readonly name: string;
  readonly profile?: string;
  /** Its `vars:` as written, scopes included (var-scopes.ts gives each node its own). */
  readonly vars: Readonly<Record<string, unknown>>;
  readonly file: YamlSource;
  readonly unused: readonly { readonly what: string; readonly location: Location }[];
  /** `on-run-start` and `on-run-end`: statements (templates) run once per run, each where it is written. */
  readonly runHooks: RunHooks;
}

/** One statement of on-run-start or on-run-end, not yet rendered. */
export interface RunHook {
  readonly sql: string;
  readonly location: Location;
  /** The installed package whose dbt_project.yml has it: rendered with that package's macros and vars. */
  readonly package?: string;
  /**
   * pipe's own call of a macro (`pipe run-operation`), not text of the file at `location` (the
   * macro's): its errors and messages keep their own places in the macro's file.
   */
  readonly call?: true;
}

export interface RunHooks {
  readonly start: readonly RunHook[];
  readonly end: readonly RunHook[];
}

export const NO_RUN_HOOKS: RunHooks = { start: [], end: [] };

/** Keys pipe reads. The `*-paths` keys are read when the project is loaded (layout.ts). */
const READ = new Set(['name', 'profile', 'vars', 'dispatch', 'models', 'seeds', 'sources', 'data_tests', 'tests', 'snapshots', 'unit_tests', ...Object.values(LAYOUT_KEYS), 'source-paths', 'data-paths', 'docs-paths']);

/** Keys about dbt itself (its version, where it writes its artifacts): nothing to build from. */
const DBT_ITSELF = new Set([
  'config-version',
  'version',
  'require-dbt-version',
  'target-path',
  'log-path',
  'packages-install-path',
  'clean-targets',
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
]);

const RUN_HOOK_KEYS = new Set(['on-run-start', 'on-run-end']);

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readDbtProject(file: YamlSource, diagnostics: Diagnostic[]): DbtProject {
  const d = file.data;
  const at = (key: string): Location => ({ file: file.file, line: file.keyLine(key) });
  let name = 'project';
  if (typeof d.name === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name)) name = d.name;
  else if (d.name === undefined || d.name === null) diagnostics.push(error('bad-config', "dbt_project.yml has no name: it must name the project (letters, digits, underscores), e.g. name: shop", { file: file.file, line: file.keyLine('name') ?? 1 }));
  else diagnostics.push(error('bad-config', `name must be the project's name (letters, digits, underscores), got ${JSON.stringify(d.name)}`, at('name')));
  const unused: { what: string; location: Location }[] = [];
  for (const key of Object.keys(d)) {
    if (READ.has(key) || DBT_ITSELF.has(key) || RUN_HOOK_KEYS.has(key)) continue;
    {
      unused.push({ what: TOOLING.has(key) ? key : `${key} (not a key pipe knows)`, location: at(key) });
    }
  }
  const vars = varsMapping(file, diagnostics);
  checkRequiredDbtVersion(file, diagnostics);
  const profile = typeof d.profile === 'string' ? d.profile : undefined;
  const runHooks = { start: readRunHooks(file, 'on-run-start', diagnostics), end: readRunHooks(file, 'on-run-end', diagnostics) };
  return { name, profile, vars, file, unused, runHooks };
}

/** A dbt_project.yml's `vars:`, a mapping; anything else is reported and read as none. */
function varsMapping(file: YamlSource, diagnostics: Diagnostic[]): Record<string, unknown> {
  // As templates read them: a whole float (`rate: 1.0`) a float.
  const v = templateValue(file, ['vars']);
  if (v === undefined || v === null) return {};
  if (!isMapping(v)) {
    diagnostics.push(error('bad-config', 'vars must be a mapping of names to values', { file: file.file, line: file.keyLine('vars') }));
    return {};
  }
  return v;
}

/**
 * Reports an installed package whose dbt_project.yml `vars:` is not a mapping (its vars are
 * its own nodes' (see var-scopes.ts): the project's nodes never see them, as in dbt, where a
 * package's macro called by a model reads the model's vars), or whose require-dbt-version
 * leaves out the dbt pipe follows.
 */
export function checkPackageProjects(packages: readonly InstalledPackage[], diagnostics: Diagnostic[]): void {
  for (const p of packages) {
    varsMapping(p.project, diagnostics);
    checkRequiredDbtVersion(p.project, diagnostics, p.name);
  }
}

/**
 * The run hooks of a run, in dbt's order: the project's, then each installed package's (by
 * the package's name), each package's rendered as its own (its macros unqualified, its vars).
 */
export function runHooksWithPackages(own: RunHooks, packages: readonly InstalledPackage[], diagnostics: Diagnostic[]): RunHooks {
  const byName = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const of = (key: 'on-run-start' | 'on-run-end') => byName.flatMap((p) => readRunHooks(p.project, key, diagnostics).map((h) => ({ ...h, package: p.name })));
  return { start: [...own.start, ...of('on-run-start')], end: [...own.end, ...of('on-run-end')] };
}

/** A run hook key's statements: one, or a list (each at its own line). */
function readRunHooks(file: YamlSource, key: string, diagnostics: Diagnostic[]): RunHook[] {
  const value = file.data[key];
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const out: RunHook[] = [];
  list.forEach((sql, i) => {
    const location = { file: file.file, line: (Array.isArray(value) ? file.pathLine([key, String(i)]) : undefined) ?? file.keyLine(key) };
    if (typeof sql === 'string') {
      if (sql.trim() !== '') out.push({ sql, location });
    } else diagnostics.push(error('bad-config', `${key} must be SQL, or a list of SQL statements`, location));
  });
  return out;
}
