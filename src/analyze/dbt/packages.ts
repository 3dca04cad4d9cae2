import { error, warning, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import type { ProjectPackages } from '../../project/load-packages.js';
import type { YamlSource } from '../../project/yaml-file.js';
import type { MacroSource } from '../../project/load-project.js';
import type { MacroPackages } from '../template-engine.js';
import type { BuiltinPackage } from './builtin-macros/builtin.js';
import { BUILTIN_PACKAGES } from './builtin-macros/packages.js';
import { DBT_MACROS } from './builtin-macros/cross-database.js';

/**
 * What a dbt project's templates reach by namespace, decided once per analysis: dbt's own
 * macros (pipe's implementations), each installed package's macros, and, for a package that
 * is declared but not installed, pipe's own implementations of its most used macros and tests
 * (pipe cannot download packages). A package pipe neither has nor implements is named in the
 * refusal of each call of it.
 */

/** Packages dbt projects commonly install, recognised even without a packages.yml. */
export const WELL_KNOWN_PACKAGES = [
  'dbt_utils',
  'dbt_date',
  'dbt_expectations',
  'codegen',
  'audit_helper',
  'dbt_external_tables',
  'elementary',
  'fivetran_utils',
  'dbt_artifacts',
  'dbt_project_evaluator',
  'metrics',
  'spark_utils',
  're_data',
];

/** What the pre-render scan asks of the namespaces (see unsupported-jinja.ts). */
export interface PackageScope {
  /** The project's own name: `ref('project', 'orders')` is one of its models. */
  readonly project?: string;
  /** The installed packages: `ref('package', 'stg_orders')` is one of their models. */
  readonly installed?: ReadonlySet<string>;
  /** Names of dbt packages, `dbt` among them: `name.macro()` is a call of one. */
  readonly names: ReadonlySet<string>;
  /** Why `namespace.macro()` cannot be rendered, or undefined when it can. */
  refusal(namespace: string, macro: string): string | undefined;
  /** Whether the project or an installed package defines a macro of this name. */
  definesMacro?(name: string): boolean;
}

export interface ProjectNamespaces extends PackageScope {
  /** What the template engine loads. */
  readonly engine: MacroPackages;
  /** The packages pipe stands in for, each with the macros and tests of its own it has. */
  readonly standIns: readonly { readonly name: string; readonly location: Location; readonly macros: readonly string[] }[];
}

const namesOf = (pkg: BuiltinPackage) => pkg.macros.map((m) => m.name);

export function projectNamespaces(
  project: string,
  packages: ProjectPackages,
  dbtProject: YamlSource | undefined,
  /** The names of each installed package's models and seeds, by package, and of those not built (see shadowed-nodes.ts). */
  nodes: ReadonlyMap<string, { readonly built: ReadonlySet<string>; readonly shadowed: ReadonlySet<string> }>,
  diagnostics: Diagnostic[],
  projectMacros: readonly MacroSource[] = [],
): ProjectNamespaces {
  const installed = new Map(packages.installed.map((p) => [p.name, p]));
  const builtin: MacroPackages['builtin'][number][] = [];
  const standIns: ProjectNamespaces['standIns'][number][] = [];
  const declared = new Set<string>();
  for (const d of packages.declared) {
    if (declared.has(d.name)) continue;
    declared.add(d.name);
    const own = BUILTIN_PACKAGES.get(d.name);
    if (installed.has(d.name) || !own) continue;
    builtin.push({ pkg: own, declaredAt: d.location });
    standIns.push({ name: d.name, location: d.location, macros: namesOf(own) });
  }
  const names = new Set(['dbt', ...WELL_KNOWN_PACKAGES, ...declared, ...installed.keys()]);
  const dbtMacros = new Set(namesOf(DBT_MACROS));
  const refusal = (namespace: string, macro: string): string | undefined => {
    if (namespace === 'dbt') {
      return dbtMacros.has(macro) || macro.startsWith('default__') || macro.startsWith('duckdb__')
        ? undefined
        : `pipe has dbt's cross-database macros (dbt.dateadd, dbt.type_string, ...), not dbt.${macro}: write the SQL it stands for`;
    }
    if (installed.has(namespace)) return undefined;
    const stand = builtin.find((b) => b.pkg.name === namespace);
    if (stand && namesOf(stand.pkg).some((m) => m === macro || m === `test_${macro}`)) return undefined;
    if (stand) {
      return `${namespace} is not installed, and pipe's own ${namespace} has ${namesOf(stand.pkg).join(', ')}, not ${macro}: install the package (dbt deps) into dbt_packages/, or write the SQL it generates`;
    }
    // No dbt_project.yml: a pipe project, whose packages.yml (if any) is not read.
    if (dbtProject === undefined && declared.size === 0) {
      return `${namespace} is a dbt package, and this folder has no dbt_project.yml: pipe reads it as a pipe project, which has no dbt packages (a dbt project is read with its dbt_project.yml, and its packages.yml with it)`;
    }
    return declared.has(namespace)
      ? `${namespace} is declared in packages.yml but not installed, and pipe cannot download it: run dbt deps so that dbt_packages/${namespace} exists, or write the SQL it generates`
      : `${namespace} is a dbt package this project does not declare: add it to packages.yml and run dbt deps, or write the SQL it generates`;
  };
  let defined: Set<string> | undefined;
  const definesMacro = (name: string): boolean => {
    defined ??= macroNamesOf([...projectMacros, ...packages.installed.flatMap((p) => p.macros)]);
    return defined.has(name);
  };
  return {
    project,
    installed: new Set(installed.keys()),
    names,
    refusal,
    definesMacro,
    standIns,
    engine: {
      project,
      installed: packages.installed.map((p) => ({ name: p.name, macros: p.macros, nodes: nodes.get(p.name)?.built ?? new Set(), shadowed: nodes.get(p.name)?.shadowed })),
      builtin,
      searchOrders: dbtProject ? searchOrders(dbtProject, diagnostics) : new Map(),
    },
  };
}

/** The names the `{% macro name(...) %}` tags of these files define. */
function macroNamesOf(sources: readonly MacroSource[]): Set<string> {
  const out = new Set<string>();
  for (const m of sources) for (const d of m.source.matchAll(/\{%-?\s*macro\s+([A-Za-z_]\w*)/g)) out.add(d[1]);
  return out;
}

/** dbt_project.yml's `dispatch:`: for a namespace, the packages adapter.dispatch searches, in order. */
function searchOrders(file: YamlSource, diagnostics: Diagnostic[]): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  const list = file.data.dispatch;
  if (list === undefined || list === null) return out;
  const example = 'e.g. dispatch: [{macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}]';
  if (!Array.isArray(list)) {
    diagnostics.push(error('bad-config', `dispatch must be a list of namespaces with their search order, ${example}`, { file: file.file, line: file.keyLine('dispatch') }));
    return out;
  }
  list.forEach((entry, i) => {
    const at = { file: file.file, line: file.pathLine(['dispatch', String(i)]) ?? file.keyLine('dispatch') };
    const e = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
    const order = e.search_order;
    if (typeof e.macro_namespace !== 'string' || !Array.isArray(order) || !order.every((p) => typeof p === 'string')) {
      diagnostics.push(error('bad-config', `each dispatch entry names a macro_namespace and its search_order, ${example}`, at));
      return;
    }
    if (out.has(e.macro_namespace)) diagnostics.push(error('bad-config', `dispatch names the namespace ${e.macro_namespace} twice`, at));
    else out.set(e.macro_namespace, order as string[]);
  });
  return out;
}

/**
 * The notice that pipe stands in for packages that are not installed: named once, with the
 * macros of each that the project calls.
 */
export function standInNotice(namespaces: ProjectNamespaces, texts: readonly string[]): Diagnostic | undefined {
  const used = namespaces.standIns.flatMap((s) => {
    const calls = new Set<string>();
    const re = new RegExp(`\\b${s.name}\\s*\\.\\s*([A-Za-z_]\\w*)`, 'g');
    for (const t of texts) for (const m of t.matchAll(re)) if (s.macros.includes(m[1]) || s.macros.includes(`test_${m[1]}`)) calls.add(m[1]);
    return calls.size > 0 ? [{ ...s, calls: [...calls].sort() }] : [];
  });
  if (used.length === 0) return undefined;
  const what = used.map((u) => `${u.name} (${u.calls.join(', ')})`).join('; ');
  return warning('package-stand-in', `packages not installed, rendered with pipe's own implementations: ${what}`, used[0].location, {
    hint: 'pipe writes the SQL these macros write on DuckDB; install the packages (dbt deps) to use their own',
  });
}
