/**
 * dbt's `adapter.dispatch(name, macro_namespace)`: which macro a call stands for on DuckDB.
 * For each package to search, in order, `duckdb__<name>` then `default__<name>`; the first
 * that exists is called. The packages searched are:
 * - no namespace: the names a template sees (the macros of the package whose node is rendered,
 *   then the project's, then dbt's own);
 * - a namespace with a `dispatch:` entry in dbt_project.yml: its `search_order`;
 * - a namespace that is a package (dbt's own, `dbt`, among them): the project, then the package;
 * - the project's own name: the project;
 * - any other namespace: as with no namespace.
 */

/** The adapter's prefixes, in the order dbt tries them: the adapter's own, then the default. */
export const ADAPTER_PREFIXES = ['duckdb', 'default'] as const;

export interface DispatchScope {
  /** The project's name: its macros are searched first for a package's namespace. */
  readonly project: string;
  /** Whether a name is a package the project has (installed, pipe's own, or `dbt`). */
  isPackage(name: string): boolean;
  /** dbt_project.yml's `dispatch:` search order for a namespace, if it has one. */
  searchOrder(namespace: string): readonly string[] | undefined;
}

/** One macro dispatch may call: `package` undefined is a name as a template sees it. */
export interface Candidate {
  readonly package: string | undefined;
  readonly name: string;
}

export function searchPackages(namespace: string | undefined, scope: DispatchScope): readonly (string | undefined)[] {
  if (namespace === undefined) return [undefined];
  const order = scope.searchOrder(namespace);
  if (order && order.length > 0) return order;
  if (namespace === scope.project) return [namespace];
  if (scope.isPackage(namespace)) return [scope.project, namespace];
  return [undefined];
}

/** Every macro `adapter.dispatch(name, namespace)` tries, in order. */
export function dispatchCandidates(name: string, namespace: string | undefined, scope: DispatchScope): Candidate[] {
  return searchPackages(namespace, scope).flatMap((pkg) => ADAPTER_PREFIXES.map((prefix) => ({ package: pkg, name: `${prefix}__${name}` })));
}

/** A candidate as dbt names it in its error. */
export const candidateName = (c: Candidate): string => (c.package === undefined ? c.name : `${c.package}.${c.name}`);

/**
 * The first candidate `lookup` finds, or the error dbt gives when none exists. A name with a
 * dot is refused as dbt refuses it: the namespace is the second argument.
 */
export function resolveDispatch<T>(
  name: string,
  namespace: string | undefined,
  scope: DispatchScope,
  lookup: (c: Candidate) => T | undefined,
): { readonly found: T } | { readonly error: string } {
  if (name.includes('.')) {
    const [ns, macro] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
    return { error: `adapter.dispatch got the macro name '${name}', but a macro name has no dot: did you mean adapter.dispatch('${macro}', macro_namespace='${ns}')?` };
  }
  const candidates = dispatchCandidates(name, namespace, scope);
  for (const c of candidates) {
    const found = lookup(c);
    if (found !== undefined) return { found };
  }
  return {
    error: `adapter.dispatch found no macro for '${name}'${namespace === undefined ? '' : ` in namespace '${namespace}'`}: searched ${candidates.map(candidateName).join(', ')}`,
  };
}
