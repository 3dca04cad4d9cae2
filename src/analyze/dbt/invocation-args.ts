import type { Invocation } from '../jinja/surface.js';

/**
 * dbt's `invocation_args_dict` and `dbt_metadata_envs`, which packages that record their runs
 * read (dbt_artifacts' invocations, elementary's): the command's arguments under dbt's names,
 * those pipe has, and the environment's custom metadata. A render that reads either is made
 * again at every command, never kept (render-cache.ts keeps only renders of known names).
 */

/** What the command was given that dbt's invocation arguments name: its selection. */
export interface InvocationSelection {
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  readonly selector?: string;
}

/**
 * The arguments as dbt 1.11 gives them: `which` (build for pipe run, backfill and retry; test,
 * compile, run-operation), `select` and `exclude` (lists, empty when not given), `selector`
 * when given, `vars` (the --var values, a dict), `full_refresh`, `store_failures` of pipe test,
 * `project_dir`, and dbt's defaults for what pipe has no option of (`warn_error_options`,
 * `indirect_selection`, `log_format`).
 */
export function invocationArgsDict(invocation: Invocation | undefined, o: { readonly vars?: Readonly<Record<string, unknown>>; readonly fullRefresh?: boolean; readonly root: string }): Record<string, unknown> {
  const selection = invocation?.selection;
  return {
    which: invocation?.command ?? 'build',
    select: [...(selection?.select ?? [])],
    exclude: [...(selection?.exclude ?? [])],
    ...(selection?.selector !== undefined ? { selector: selection.selector } : {}),
    vars: structuredClone({ ...(o.vars ?? {}) }),
    full_refresh: o.fullRefresh === true,
    ...(invocation?.command === 'test' ? { store_failures: invocation.storeFailures === true } : {}),
    project_dir: o.root,
    warn_error_options: { include: [], exclude: [] },
    indirect_selection: 'eager',
    log_format: 'default',
  };
}

const CUSTOM_ENV_PREFIX = 'DBT_ENV_CUSTOM_ENV_';

/** The environment variables named DBT_ENV_CUSTOM_ENV_*, by their names without the prefix, as dbt's `dbt_metadata_envs`. */
export function metadataEnvs(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(CUSTOM_ENV_PREFIX) && name.length > CUSTOM_ENV_PREFIX.length && value !== undefined) out[name.slice(CUSTOM_ENV_PREFIX.length)] = value;
  }
  return out;
}
