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
  /** What gives the latest load: a column or expression of the table, or else dbt's `loaded_at_query`. */
  readonly loadedAtField?: string;
  readonly loadedAtQuery?: string;
  /** Now, by the clock, in epoch ms. */
  readonly snapshottedAt: number;
  /** The latest `loaded_at_field` value, in epoch ms. */
  readonly maxLoadedAt?: number;
  /** Why it could not be measured. */
  readonly error?: string;
}

/** A source table with what measuring its freshness needs. */
export type MeasurableSource = SourceNode & { readonly freshness: Freshness };

export function isMeasurable(s: SourceNode): s is MeasurableSource {
  return s.freshness !== undefined && (s.loadedAtField !== undefined || loadedAtQuery(s) !== undefined);
}

/** dbt's `loaded_at_query` of a source table: a query of its latest load, used when it has no loaded_at_field. */
export function loadedAtQuery(s: SourceNode): string | undefined {
  return s.loadedAtField === undefined ? s.graph?.loadedAtQuery : undefined;
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
  const query = loadedAtQuery(s);
  const base = { source: s.name, location: s.location, criteria: s.freshness, ...(query === undefined ? { loadedAtField: s.loadedAtField } : { loadedAtQuery: query }), snapshottedAt: now };
  // `{{ this }}` in the query is the table, as in dbt; other Jinja is not rendered there.
  const rendered = query?.replace(/\{\{-?\s*this\s*-?\}\}/g, s.relation);
  if (rendered !== undefined && /\{\{|\{%/.test(rendered)) {
    return { ...base, status: 'runtime error', error: `its loaded_at_query holds Jinja other than {{ this }}, which pipe does not render there: write the rest as SQL` };
  }
  const field = rendered === undefined ? s.loadedAtField! : 'the first column of its loaded_at_query';
  let latest: unknown;
  let isTime: unknown;
  let type: unknown;
  let rows: unknown;
  try {
    [{ latest, is_time: isTime, type, rows }] = await session.query(rendered === undefined ? session.dialect.latestLoadedAt(s.relation, field, s.freshness.filter) : session.dialect.latestOfQuery(rendered));
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    return { ...base, status: 'runtime error', error: `${rendered === undefined ? `max(${field}) of ${s.relation}` : 'its loaded_at_query'} cannot be read: ${session.dialect.headline(e.message)}` };
  }
  // One value, as dbt takes it (it refuses more than one row).
  if (rendered !== undefined && Number(rows) > 1) return { ...base, status: 'runtime error', error: `its loaded_at_query gives ${Number(rows)} rows, where it must give one: the time of the latest load (select max(...) from {{ this }})` };
  // Of another type, as dbt refuses it: a text's max is the greatest text, not the latest time.
  if (isTime === false) return { ...base, status: 'runtime error', error: notATime(field, s.relation, String(type).replaceAll('"', ''), rendered !== undefined) };
  if (latest === null || latest === undefined) {
    const rows = rendered !== undefined ? 'its loaded_at_query gives no value' : s.freshness.filter === undefined ? `no row has a ${field} value` : `no row that the filter (${s.freshness.filter}) keeps has a ${field} value`;
    return { ...base, status: 'runtime error', error: rows };
  }
  const maxLoadedAt = Number(latest);
  return { ...base, status: freshnessStatus(now - maxLoadedAt, s.freshness), maxLoadedAt };
}

/** Why a latest value of `type` is no time of a load, and how to make it one. */
function notATime(field: string, relation: string, type: string, query: boolean): string {
  const where = query ? 'in its loaded_at_query' : 'in loaded_at_field';
  const expr = query ? 'x' : field;
  const how = /^VARCHAR$/i.test(type)
    ? `, and the greatest text need not be the latest time ('2023-9-05' sorts after '2023-10-01'): cast it ${where} (cast(${expr} as timestamp))`
    : /^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/i.test(type)
      ? `: if it counts from 1970, read it as a time ${where} (to_timestamp(${expr}) for seconds, epoch_ms(${expr}) for milliseconds)`
      : '';
  return `${field} of ${relation} is ${type}, not a timestamp or date${how}`;
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
