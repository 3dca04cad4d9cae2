/**
 * What a check's result means. pipe's own checks fail (or, under `warn:`, warn) on any row.
 * A dbt test is judged by dbt's rule: with severity error, `error_if` decides whether it
 * fails; if it does not fail, `warn_if` decides whether it warns; with severity warn only
 * `warn_if` counts.
 */
export type CheckOutcome = 'passed' | 'warned' | 'failed';

export function rowsOutcome(severity: 'error' | 'warn', failingRows: number): CheckOutcome {
  if (failingRows === 0) return 'passed';
  return severity === 'error' ? 'failed' : 'warned';
}

export function thresholdOutcome(severity: 'error' | 'warn', shouldWarn: boolean, shouldError: boolean): CheckOutcome {
  if (severity === 'error' && shouldError) return 'failed';
  return shouldWarn ? 'warned' : 'passed';
}

/** A value of the judging row as dbt reads it: a boolean, 0/1, or text such as 'true'. */
export function truthy(v: unknown): boolean {
  if (typeof v === 'string') return /^(y|yes|t|true|on|1)$/i.test(v.trim());
  return Boolean(v);
}
