import { param } from '../../jinja/macro-args.js';
import type { BuiltinContext, BuiltinMacro } from './builtin.js';

/**
 * dbt's macros that are also functions of a template's context, reached under dbt's namespace
 * too (`dbt.run_query(sql)`, `dbt.is_incremental()`), as packages call them: each is the
 * context's own function of that name, so what it answers, and what its call makes pipe do
 * (render the model again when it runs, keep its render by the table's state), is the same. A
 * project or package macro of the same name does not stand in for it: such a macro calling
 * `dbt.is_incremental()` calls dbt's, as in dbt.
 */

/** The context's function `name`, called with `args`. */
function contextCall(ctx: BuiltinContext, name: string, ...args: unknown[]): unknown {
  const fn = ctx.contextFunction(name);
  if (typeof fn !== 'function') throw new Error(`internal error: the template context has no function ${name}`);
  return (fn as (...a: unknown[]) => unknown)(...args);
}

export const CONTEXT_MACROS: readonly BuiltinMacro[] = [
  { name: 'run_query', params: [param('sql', null)], impl: 'direct', render: (a, ctx) => contextCall(ctx, 'run_query', a.sql) },
  { name: 'is_incremental', params: [], impl: 'direct', render: (_a, ctx) => contextCall(ctx, 'is_incremental') },
];

/** Their names, which stay the context's own functions rather than becoming names of the dbt namespace's macros. */
export const CONTEXT_MACRO_NAMES: ReadonlySet<string> = new Set(CONTEXT_MACROS.map((m) => m.name));
