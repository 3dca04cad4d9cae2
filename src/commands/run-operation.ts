import type { RunHook } from '../analyze/dbt/dbt-project.js';
import { macroSignatures } from '../analyze/macro-signatures.js';
import { resolveInterval, type ProjectOptions } from './context.js';
import type { Clock } from '../dates/dates.js';
import { DiagnosticError, error, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { EventSink, TaskError, TaskRef } from '../events/events.js';
import { hookSqlAtRun } from '../execute/render-at-run.js';
import { RenderError, toTaskError } from '../execute/task-errors.js';
import { tellSaid } from '../execute/template-messages.js';
import { hookAtRun } from '../plan/hook-at-run.js';
import type { ProjectFiles } from '../project/load-project.js';
import { WarehouseError } from '../warehouse/warehouse.js';
import { prepare } from './lifecycle.js';
import { openProject } from './open-project.js';

/**
 * `pipe run-operation MACRO --args '{name: value}'`, as dbt's: calls a macro of the project or
 * of an installed package (`package.macro`) with the arguments, rendered as dbt renders it:
 * `execute` is true, and the queries it runs while rendering (`run_query()`, `{% call
 * statement() %}`, `adapter.create_schema()`, ...) run in the warehouse, each once, in order.
 * What it returns is not run, as in dbt; what it says (`log(msg, info=True)`, `print()`) is
 * told. It builds nothing and records no run.
 */

export interface RunOperationOptions extends ProjectOptions {
  readonly macro: string;
  readonly vars?: Readonly<Record<string, unknown>>;
  /** The macro's keyword arguments (dbt's `--args`). */
  readonly args: Readonly<Record<string, unknown>>;
  readonly emit: EventSink;
  readonly clock?: Clock;
}

/** `ranNothing`: the macro failed before any query of it ran (a template error, an argument it lacks): the call was wrong, nothing was done. */
export type OperationOutcome = { readonly ok: true } | { readonly ok: false; readonly error: TaskError; readonly ranNothing?: true };

/** The name the arguments are given to the call under; no template of a project names it. */
const ARGS = '__pipe_operation_args';

export async function runOperation(options: RunOperationOptions): Promise<OperationOutcome> {
  const { interval } = resolveInterval(undefined, options.clock);
  const invocation = { id: `operation-${Date.now()}`, startedAt: Date.now(), command: 'run-operation' as const };
  const project = openProject(options);
  // An unknown macro is said before the warehouse is opened.
  const defined = definitionOf(project.files, options.macro);
  const prepared = await prepare({ ...options, select: [], exclude: [], interval, invocation, buildsNothing: true }, project);
  try {
    // A package's macro found by its bare name is called by its package's name: no other macro answers.
    const called = defined.package !== undefined && !options.macro.includes('.') ? `${defined.package}.${options.macro}` : options.macro;
    const hook: RunHook = { sql: `{% do ${called}(**${ARGS}) %}`, location: defined.location, call: true, ...(defined.package ? { package: defined.package } : {}) };
    const task: TaskRef = { id: 'run-operation', model: options.macro, kind: 'run-hook', file: defined.location.file };
    // A render that asks the warehouse a question has a query of it run (or fail) next.
    let ran = false;
    const once = (answers: Parameters<typeof prepared.analysis.renderer.runHook>[4], report: Parameters<typeof prepared.analysis.renderer.runHook>[5]) => {
      const rendered = prepared.analysis.renderer.runHook(hook, interval, { [ARGS]: options.args, model: macroNode(options.macro, defined, project.files) }, false, answers, report);
      if (typeof rendered === 'object' && 'asks' in rendered) ran = true;
      return rendered;
    };
    const warehouse = prepared.warehouse;
    if (!warehouse) throw new Error('internal error: run-operation prepared without a warehouse');
    try {
      await warehouse.engine.withSession((session) =>
        hookSqlAtRun({ sql: '', label: options.macro, renderAtRun: hookAtRun(once, defined.location) }, session, (said) => tellSaid(options.emit, undefined, task, said)),
      );
      return { ok: true };
    } catch (e) {
      if (e instanceof RenderError) return { ok: false, error: toTaskError(e), ...(ran ? {} : { ranNothing: true as const }) };
      if (e instanceof WarehouseError) return { ok: false, error: { message: `${options.macro}: ${e.message}`, kind: 'Database', errorClass: 'permanent', location: defined.location } };
      throw e;
    }
  } finally {
    prepared.warehouse?.close();
  }
}

/**
 * dbt's `model` in run-operation: the node of the macro called, as dbt's manifest has it
 * (`model.name`, `model.unique_id`, `model.resource_type` 'macro'), which its macros read as
 * they read a model's node.
 */
function macroNode(called: string, defined: { readonly location: Location; readonly package?: string }, files: ProjectFiles): Record<string, unknown> {
  const name = called.slice(called.indexOf('.') + 1);
  const pkg = defined.package === undefined ? undefined : files.packages?.installed.find((p) => p.name === defined.package);
  const packageName = pkg?.name ?? files.dbtProject?.data.name;
  // Paths from the root of the macro's package, as dbt gives them.
  const path = pkg && defined.location.file.startsWith(`${pkg.dir}/`) ? defined.location.file.slice(pkg.dir.length + 1) : defined.location.file;
  return { name, resource_type: 'macro', package_name: packageName, path, original_file_path: path, unique_id: `macro.${String(packageName)}.${name}` };
}

/** Where `macro` is defined among `sources`, with the names of the others. */
function findMacro(sources: readonly { readonly file: string; readonly source: string }[], macro: string): { location?: Location; known: string[] } {
  const known: string[] = [];
  for (const f of sources) {
    for (const s of macroSignatures(f.source)) {
      if (s.name === macro) return { location: { file: f.file, line: s.line }, known };
      known.push(s.name);
    }
  }
  return { known };
}

/**
 * Where the macro an operation calls is defined: in the project, or (`package.macro`) in an
 * installed package, or by its bare name in the one installed package that has it when the
 * project has none, as dbt finds it; an error naming the closest one when it is nowhere, and
 * naming each package's when several have it.
 */
function definitionOf(files: ProjectFiles, name: string): { readonly location: Location; readonly package?: string } {
  const dot = name.indexOf('.');
  const [pkg, macro] = dot < 0 ? [undefined, name] : [name.slice(0, dot), name.slice(dot + 1)];
  const packages = files.packages?.installed ?? [];
  const own = pkg === undefined || pkg === files.dbtProject?.data.name;
  const found = findMacro(own ? files.macros : (packages.find((p) => p.name === pkg)?.macros ?? []), macro);
  if (found.location) return { location: found.location, ...(own ? {} : { package: pkg }) };
  const known = own ? found.known : found.known.map((m) => `${pkg}.${m}`);
  if (pkg === undefined) {
    const inPackages = packages.flatMap((p) => {
      const at = findMacro(p.macros, macro).location;
      return at ? [{ location: at, package: p.name }] : [];
    });
    if (inPackages.length === 1) return inPackages[0];
    if (inPackages.length > 1) {
      throw new DiagnosticError([
        error('unknown-macro', `run-operation ${name}: ${inPackages.length} installed packages have a macro named '${macro}': ${inPackages.map((p) => `${p.package}.${macro}`).join(', ')}`, undefined, {
          hint: `name the one to call, e.g. pipe run-operation ${inPackages[0].package}.${macro}`,
        }),
      ]);
    }
  }
  if (!/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$/.test(name)) throw new DiagnosticError([error('unknown-macro', `run-operation ${name}: a macro is named NAME or PACKAGE.NAME`)]);
  const where = own ? 'the project' : packages.some((p) => p.name === pkg) ? `the package ${pkg}` : undefined;
  throw new DiagnosticError([
    error('unknown-macro', where ? `run-operation ${name}: ${where} has no macro named '${macro}'` : `run-operation ${name}: no installed package is named '${pkg}'`, undefined, {
      hint: didYouMean(name, where ? known : packages.map((p) => p.name)) ?? (where ? 'a macro is {% macro name(...) %} in a file of the macro folders' : 'install it into dbt_packages/ (dbt deps)'),
    }),
  ]);
}
