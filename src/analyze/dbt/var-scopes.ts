import { templateValue } from '../yaml-floats.js';
import type { InstalledPackage } from '../../project/load-packages.js';

/**
 * The vars each node reads, by the package it belongs to, in dbt's order: `--var`, a
 * pipeline's and pipe.yaml's; then the root dbt_project.yml's vars scoped to the node's
 * package (`vars: my_package: {...}`) and its global ones; then, for a node of an installed
 * package, that package's own dbt_project.yml vars, scoped to it, then global. A mapping
 * under the name of the project or of an installed package is a scope, and a var of its name
 * too, as dbt's vars_for merges the scope over every var of the file.
 * The project's own nodes never see a package's vars: a package's macro they call reads
 * theirs, as in dbt.
 */
export class VarScopes {
  constructor(
    /** The vars of the project's own nodes, and of everything that is not a package's node. */
    readonly root: Readonly<Record<string, unknown>>,
    private readonly packages: ReadonlyMap<string, Readonly<Record<string, unknown>>> = new Map(),
  ) {}

  /** Each installed package's nodes' vars, by package: what a run records, with `root`, for its retries. */
  packageScopes(): Record<string, Readonly<Record<string, unknown>>> {
    return Object.fromEntries(this.packages);
  }

  /** The vars of a node of `pkg` (undefined: the project's own). */
  of(pkg: string | undefined): Readonly<Record<string, unknown>> {
    return (pkg === undefined ? undefined : this.packages.get(pkg)) ?? this.root;
  }

  /** The same with `overrides` over every scope (a unit test's vars). */
  with(overrides: Readonly<Record<string, unknown>>): VarScopes {
    return new VarScopes({ ...this.root, ...overrides }, new Map([...this.packages].map(([name, vars]) => [name, { ...vars, ...overrides }])));
  }
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A dbt_project.yml's `vars:` as its global vars (every key, a scope's too:
 * `var('my_package')` is its mapping) and its scopes (mappings under a project's name).
 */
function split(raw: unknown): { global: Record<string, unknown>; scoped: (name: string) => Record<string, unknown> } {
  const vars = isMapping(raw) ? raw : {};
  return { global: { ...vars }, scoped: (name) => (isMapping(vars[name]) ? vars[name] : {}) };
}

export interface VarSources {
  /** The root project's name and its dbt_project.yml's `vars:` (none: a pipe project). */
  readonly project: string;
  readonly vars?: Readonly<Record<string, unknown>>;
  readonly packages: readonly InstalledPackage[];
  /** pipe.yaml's, the pipeline's and `--var` vars, over everything else. */
  readonly over: Readonly<Record<string, unknown>>;
  /**
   * `over` is the root's vars whole, as a run resolved them (a retry's): the files' vars do not
   * add to them, so a var the run had none of stays unset; so are a package's nodes' vars when
   * `exactPackages` holds them (a run of an earlier version recorded none: read from the files).
   */
  readonly exact?: boolean;
  /** With `exact`: each package's nodes' vars whole, as the run resolved them (a package absent then reads its files). */
  readonly exactPackages?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export function varScopes(s: VarSources): VarScopes {
  const root = split(s.vars);
  const packages = new Map<string, Record<string, unknown>>();
  for (const p of s.packages) {
    // A package's bad vars: are reported by checkPackageVars (dbt-project.ts).
    const own = split(templateValue(p.project, ['vars']));
    const asRun = s.exact ? s.exactPackages?.[p.name] : undefined;
    packages.set(p.name, asRun ? { ...asRun } : { ...own.global, ...own.scoped(p.name), ...root.global, ...root.scoped(p.name), ...s.over });
  }
  return new VarScopes(s.exact ? { ...s.over } : { ...root.global, ...root.scoped(s.project), ...s.over }, packages);
}
