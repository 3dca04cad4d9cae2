/**
 * DuckDB's optimizers that give wrong results in the version pipe runs: pipe turns them off in
 * every instance it opens, and keeps them off when a profile's `settings:` sets
 * `disabled_optimizers` (a global setting, which a SET replaces whole).
 *
 * - `top_n_window_elimination` (DuckDB 1.5.5): `QUALIFY row_number() OVER (ORDER BY x) = 1`
 *   over a query that selects no rows returns one row of NULLs (duckdb/duckdb#23675, fixed
 *   after 1.5.5; the extensions' wheels pipe installs exist for 1.5.5 only).
 */
const WRONG_RESULTS: readonly string[] = ['top_n_window_elimination'];

/** The instance options that turn them off. */
export const GUARDED_OPTIMIZERS: Readonly<Record<string, string>> = { disabled_optimizers: WRONG_RESULTS.join(',') };

/** A `disabled_optimizers` value a user sets, with pipe's own kept in it. */
export function withGuardedOptimizers(value: string): string {
  const named = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const lower = new Set(named.map((s) => s.toLowerCase()));
  return [...named, ...WRONG_RESULTS.filter((s) => !lower.has(s))].join(',');
}

/** Why a statement may not set disabled_optimizers (a hook, a sql_header, a run hook, a template's query), after "sets". */
export const GUARDED_SETTING =
  "disabled_optimizers, a setting of the whole warehouse in which pipe keeps DuckDB 1.5.5's top_n_window_elimination off (it gives wrong results) for every later task too; set it under settings: in pipe.yaml or the profile, where pipe keeps that one off";
