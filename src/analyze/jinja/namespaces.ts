import { TemplateFunctionError } from './errors.js';
import { bindArgs, param } from './macro-args.js';
import { resolveDispatch, type Candidate, type DispatchScope } from './dispatch.js';
import type { BuiltinContext, BuiltinMacro, BuiltinPackage, BuiltinWarehouse } from '../dbt/builtin-macros/builtin.js';
import { quoteIdent } from '../../sql/sql-text.js';
import { isRefToken } from '../checks.js';
import { Relation } from './relation.js';
import { DbtRelation } from './relation.js';

/**
 * The macros a template reaches by namespace, as dbt lays them out: `dbt.<macro>` (dbt's own,
 * here pipe's implementations), `<package>.<macro>` for each package, and `adapter.dispatch`,
 * which picks among them (see dispatch.ts). Each namespace is one object, a global of the
 * template environment.
 */

export type MacroFn = (...args: unknown[]) => unknown;
export type Namespace = Readonly<Record<string, MacroFn>>;

export interface NamespaceHost {
  /** The project's name, as dispatch's search order names it. */
  readonly project: string;
  /** A macro of the project's own macro files. */
  projectMacro(name: string): MacroFn | undefined;
  /** What a name means to a template: the project's macros, then dbt's. */
  global(name: string): MacroFn | undefined;
  /** What a name is to a template, a function or not (`execute`, `adapter`). */
  value(name: string): unknown;
  /** dbt's own function of the context by that name (`run_query`), whatever macro of the project or a package has its name. */
  contextFunction(name: string): unknown;
  /** dbt_project.yml's `dispatch:` search orders, by namespace. */
  readonly searchOrders: ReadonlyMap<string, readonly string[]>;
  /** var() and config() of the render in progress. */
  var(name: string, fallback: unknown, hasFallback: boolean): unknown;
  config(options: Record<string, unknown>): void;
  /** `config.get(key)` of the node being rendered: undefined where nothing sets it, or no node is rendered. */
  configValue(key: string): unknown;
  /** `flags.NAME` of the render in progress. */
  flag(name: string): unknown;
  /** A relation a template passes, as the render in progress reads it (ref() tokens resolved when it runs). */
  resolve(text: string): string;
  /** What the render in progress gives `namespace.name` instead of running it (a unit test's overrides). */
  overridden(qualified: string): { readonly value: unknown } | undefined;
}

export class MacroNamespaces {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly builtinMacros = new Map<string, ReadonlyMap<string, BuiltinMacro>>();
  private readonly scope: DispatchScope;
  private readonly context: BuiltinContext;

  constructor(private readonly host: NamespaceHost) {
    this.scope = {
      project: host.project,
      isPackage: (name) => this.namespaces.has(name),
      searchOrder: (namespace) => host.searchOrders.get(namespace),
    };
    this.context = {
      call: (namespace, name, ...args) => {
        const fn = this.namespaces.get(namespace)?.[name];
        if (!fn) throw new Error(`internal error: no macro ${namespace}.${name}`);
        return fn(...args);
      },
      dispatch: (name, namespace, ...args) => this.dispatch(name, namespace)(...args),
      var: (name, ...fallback) => host.var(name, fallback[0], fallback.length > 0),
      config: (options) => host.config(options),
      configValue: (key) => host.configValue(key),
      flag: (name) => host.flag(name),
      contextFunction: (name) => host.contextFunction(name),
      target: () => {
        const t = host.value('target');
        return t !== null && typeof t === 'object' ? (t as Record<string, unknown>) : {};
      },
      warehouse: {
        execute: () => host.value('execute') === true,
        columns: (relation) => (host.value('adapter') as { get_columns_in_relation: (r: unknown) => ReturnType<BuiltinWarehouse['columns']> }).get_columns_in_relation(relation),
        query: (sql) => (host.value('run_query') as (sql: string) => ReturnType<BuiltinWarehouse['query']>)(sql),
        name: (relation) => host.resolve(String(relation)),
        isRelation: (value) => value instanceof Relation || value instanceof DbtRelation || (typeof value === 'string' && isRefToken(value)),
      },
    };
  }

  /** An installed package's macros. */
  addPackage(name: string, macros: Namespace): void {
    this.namespaces.set(name, macros);
  }

  /** pipe's implementation of a namespace's macros: each dispatching one under its name, its implementation under its prefix. */
  addBuiltin(pkg: BuiltinPackage): Namespace {
    const members: Record<string, MacroFn> = {};
    for (const m of pkg.macros) {
      const impl: MacroFn = (...args) => m.render(bindArgs(`${pkg.name}.${m.name}`, m.params, args, m.takesKwargs), this.context);
      // A unit test's override stands for the macro as called, before any dispatch.
      const called = (fn: MacroFn): MacroFn => (...args) => {
        const overridden = this.host.overridden(`${pkg.name}.${m.name}`);
        return overridden ? overridden.value : fn(...args);
      };
      if (m.impl === 'direct') {
        members[m.name] = called(impl);
        continue;
      }
      members[`${m.impl}__${m.name}`] = impl;
      members[m.name] = called((...args) => this.dispatch(m.name, pkg.name)(...args));
    }
    this.namespaces.set(pkg.name, members);
    this.builtinMacros.set(pkg.name, new Map(pkg.macros.map((m) => [m.name, m])));
    return members;
  }

  /** The namespace objects, by name. */
  entries(): [string, Namespace][] {
    return [...this.namespaces];
  }

  /** The namespace object of `name`, if there is one. */
  get(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  has(namespace: string, macro: string): boolean {
    return typeof this.namespaces.get(namespace)?.[macro] === 'function';
  }

  /** pipe's own macro of a namespace, with its parameters (for checking a test's arguments). */
  builtin(namespace: string, macro: string): BuiltinMacro | undefined {
    return this.builtinMacros.get(namespace)?.get(macro);
  }

  /** `adapter.dispatch(name, namespace)`: the macro a call stands for, or an error naming every macro searched. */
  dispatch(name: string, namespace: string | undefined): MacroFn {
    const lookup = (c: Candidate): MacroFn | undefined =>
      c.package === undefined ? this.host.global(c.name) : c.package === this.host.project ? this.host.projectMacro(c.name) : this.namespaces.get(c.package)?.[c.name];
    const result = resolveDispatch(name, namespace, this.scope, lookup);
    if ('error' in result) throw new TemplateFunctionError(result.error);
    return result.found;
  }

  /** The `adapter` object of dbt's templates, with what of it needs no warehouse. */
  adapter(): Record<string, MacroFn> {
    const params = [param('macro_name'), param('macro_namespace', undefined), param('packages', undefined)];
    return {
      dispatch: (...args) => {
        const a = bindArgs('adapter.dispatch', params, args);
        if (typeof a.macro_name !== 'string') throw new TemplateFunctionError("adapter.dispatch() takes a macro name, e.g. adapter.dispatch('my_macro', 'my_package')");
        if (a.packages !== undefined) throw new TemplateFunctionError('adapter.dispatch() no longer takes packages=: name the namespace with macro_namespace=, and its search order under dispatch: in dbt_project.yml');
        if (a.macro_namespace !== undefined && a.macro_namespace !== null && typeof a.macro_namespace !== 'string') {
          throw new TemplateFunctionError('adapter.dispatch(): macro_namespace must be a package name');
        }
        return this.dispatch(a.macro_name, (a.macro_namespace as string | null | undefined) ?? undefined);
      },
      quote: (...args) => quoteIdent(String(bindArgs('adapter.quote', [param('identifier')], args).identifier)),
    };
  }
}
