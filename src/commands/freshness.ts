import { error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import type { Freshness } from '../analyze/dbt/properties.js';
import type { SourceNode } from '../analyze/sources.js';
import { formatTimestamp } from '../dates/dates.js';
import { WarehouseError, type WarehouseSession } from '../warehouse/warehouse.js';

/**
 * A source's freshness, as dbt measures it: the latest `loaded_at_field` value (among the rows
 * the freshness `filter` keeps) against now, by the `warn_after` and `error_after` thresholds.
 * `pipe source freshness` reports it; a run with `--check-freshness` is stopped by an error.
 */

const PERIOD_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

type Threshold = NonNullable<Freshness['warnAfter']>;

/** `pass`, `warn` and `error` by the thresholds; `runtime error` when it cannot be measured (dbt's four). */
export type FreshnessStatus = 'pass' | 'warn' | 'error' | 'runtime error';

export interface FreshnessResult {
  /** `src.table`. */
  readonly source: string;
  /** The table's entry in its properties file. */
  readonly location: Location;
  readonly status: FreshnessStatus;
  readonly criteria: Freshness;
  readonly loadedAtField: string;
  /** Now, by the clock, in epoch ms. */
  readonly snapshottedAt: number;
  /** The latest `loaded_at_field` value, in epoch ms. */
  readonly maxLoadedAt?: number;
  /** Why it could not be measured. */
  readonly error?: string;
}

/** A source table with what measuring its freshness needs. */
export type MeasurableSource = SourceNode & { readonly loadedAtField: string; readonly freshness: Freshness };

export function isMeasurable(s: SourceNode): s is MeasurableSource {
  return s.loadedAtField !== undefined && s.freshness !== undefined;
}

/** As dbt decides: a threshold is passed when the age is more than it, and error_after is asked first. */
export function freshnessStatus(ageMs: number, criteria: Freshness): 'pass' | 'warn' | 'error' {
  const passed = (t: Threshold | undefined) => t !== undefined && ageMs > t.count * PERIOD_MS[t.period];
  if (passed(criteria.errorAfter)) return 'error';
  if (passed(criteria.warnAfter)) return 'warn';
  return 'pass';
}

export function describeThreshold(t: Threshold): string {
  return `${t.count} ${t.period}${t.count === 1 ? '' : 's'}`;
}

/** One query: the latest value of the source's loaded_at_field, read as an instant in UTC. */
export async function measureFreshness(session: WarehouseSession, s: MeasurableSource, now: number): Promise<FreshnessResult> {
  const base = { source: s.name, location: s.location, criteria: s.freshness, loadedAtField: s.loadedAtField, snapshottedAt: now };
  let latest: unknown;
  let isTime: unknown;
  let type: unknown;
  try {
    [{ latest, is_time: isTime, type }] = await session.query(session.dialect.latestLoadedAt(s.relation, s.loadedAtField, s.freshness.filter));
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    return { ...base, status: 'runtime error', error: `max(${s.loadedAtField}) of ${s.relation} cannot be read: ${session.dialect.headline(e.message)}` };
  }
  // Of another type, as dbt refuses it: a text's max is the greatest text, not the latest time.
  if (isTime === false) {
    return {
      ...base,
      status: 'runtime error',
      error: `${s.loadedAtField} of ${s.relation} is ${String(type).replaceAll('"', '')}, not a timestamp or date, whose greatest value need not be the latest: cast it in loaded_at_field (loaded_at_field: "cast(${s.loadedAtField} as timestamp)")`,
    };
  }
  if (latest === null || latest === undefined) {
    const rows = s.freshness.filter === undefined ? 'no row' : `no row that the filter (${s.freshness.filter}) keeps`;
    return { ...base, status: 'runtime error', error: `${rows} has a ${s.loadedAtField} value` };
  }
  const maxLoadedAt = Number(latest);
  return { ...base, status: freshnessStatus(now - maxLoadedAt, s.freshness), maxLoadedAt };
}

/** An age in its two largest units, rounded down, so that it compares plainly with a threshold: `1 day 1 hour`, `13 hours`, `45 seconds`. */
export function ageText(ms: number): string {
  const units = [['day', PERIOD_MS.day], ['hour', PERIOD_MS.hour], ['minute', PERIOD_MS.minute], ['second', 1000]] as const;
  const parts: string[] = [];
  let left = ms;
  for (const [unit, size] of units) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0 ')).join(' ') || 'less than a second';
}

/** How long ago it was loaded, and when: `3 hours ago (2024-01-02 09:00:00 UTC)`. */
export function loadedAgo(r: FreshnessResult): string | undefined {
  if (r.maxLoadedAt === undefined) return undefined;
  const age = r.snapshottedAt - r.maxLoadedAt;
  const when = `${formatTimestamp(r.maxLoadedAt)} UTC`;
  return age < 0 ? `in the future (${when})` : `${ageText(age)} ago (${when})`;
}

/** What a run checking freshness says of a source: nothing when it is fresh, a warning, or an error that stops the run. */
export function freshnessDiagnostic(r: FreshnessResult): Diagnostic | undefined {
  switch (r.status) {
    case 'pass':
      return undefined;
    case 'warn':
    case 'error': {
      const threshold = r.status === 'warn' ? r.criteria.warnAfter! : r.criteria.errorAfter!;
      const message = `source ${r.source} is stale: last loaded ${loadedAgo(r)}, more than its ${r.status}_after of ${describeThreshold(threshold)}`;
      return r.status === 'warn'
        ? warning('stale-source', message, r.location)
        : error('stale-source', message, r.location, { hint: `load it again, then run; pipe source freshness --select source:${r.source} checks it` });
    }
    case 'runtime error':
      return error('stale-source', `source ${r.source}: its freshness cannot be checked: ${r.error}`, r.location);
    default: {
      const never: never = r.status;
      throw new Error(`internal error: freshness status ${String(never)}`);
    }
  }
}
