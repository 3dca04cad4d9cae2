import { describeThreshold, loadedAgo, type FreshnessResult } from '../commands/freshness.js';
import { textTable } from '../logging/width.js';
import { EXIT, type ExitStatus } from './exit-status.js';

/** `pipe source freshness` as text (a table and a count by status) or as JSON lines, one per source table. */

const where = (r: FreshnessResult) => (r.location.line === undefined ? r.location.file : `${r.location.file}:${r.location.line}`);
const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const threshold = (t: FreshnessResult['criteria']['warnAfter']) => (t ? { count: t.count, period: t.period } : null);

export function formatFreshness(results: readonly FreshnessResult[], json: boolean): string {
  if (json) {
    return results
      .map((r) =>
        JSON.stringify({
          type: 'source-freshness',
          source: r.source,
          status: r.status,
          max_loaded_at: iso(r.maxLoadedAt),
          snapshotted_at: iso(r.snapshottedAt),
          age_seconds: r.maxLoadedAt === undefined ? null : (r.snapshottedAt - r.maxLoadedAt) / 1000,
          loaded_at_field: r.loadedAtField ?? null,
          loaded_at_query: r.loadedAtQuery ?? null,
          warn_after: threshold(r.criteria.warnAfter),
          error_after: threshold(r.criteria.errorAfter),
          filter: r.criteria.filter ?? null,
          error: r.error ?? null,
          file: r.location.file,
          line: r.location.line ?? null,
        }),
      )
      .join('\n');
  }
  if (results.length === 0) return '';
  const criteria = (r: FreshnessResult) =>
    [r.criteria.warnAfter && `warn after ${describeThreshold(r.criteria.warnAfter)}`, r.criteria.errorAfter && `error after ${describeThreshold(r.criteria.errorAfter)}`]
      .filter(Boolean)
      .join(', ');
  const rows = results.map((r) => [
    r.status.toUpperCase(),
    r.source,
    r.error ?? `loaded ${loadedAgo(r)}`,
    criteria(r),
    r.status === 'pass' ? '' : where(r),
  ]);
  const counts = (['pass', 'warn', 'error', 'runtime error'] as const)
    .map((s) => [s, results.filter((r) => r.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return `${textTable(['STATUS', 'SOURCE', 'LOADED', 'CRITERIA', 'DECLARED'], rows)}\nFreshness: ${counts.join(', ')}`;
}

/** As dbt's command: failed when a table is past its error_after or could not be measured; a warning does not fail it. */
export function freshnessExitStatus(results: readonly FreshnessResult[]): ExitStatus {
  return results.some((r) => r.status === 'error' || r.status === 'runtime error') ? EXIT.taskFailed : EXIT.ok;
}
