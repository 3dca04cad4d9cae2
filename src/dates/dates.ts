import { DiagnosticError, error } from '../diagnostics/diagnostics.js';

/**
 * Dates live here and nowhere else.
 *
 * Inside pipe an interval is half-open, `[start, end)`, in UTC milliseconds. Users speak in
 * inclusive calendar dates (`--date 2024-01-02`, `--start`/`--end`), which become one-day
 * intervals. Templates receive the same facts as strings (`ds`, `interval_start`, ...).
 */

export interface Interval {
  /** Inclusive start, UTC epoch milliseconds. */
  readonly start: number;
  /** Exclusive end, UTC epoch milliseconds. */
  readonly end: number;
}

export const DAY_MS = 86_400_000;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The day after the last date pipe takes: a date's interval ends on the next day, which must be a date too. */
const END_OF_DATES = Date.UTC(9999, 11, 31);

/** Parses `YYYY-MM-DD` strictly (no rollover: 2024-02-30 is rejected), from 0100-01-01 up to 9999-12-30. */
export function parseDate(text: string): number | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Years before 100 are refused: JavaScript's dates (Date.UTC here, and in the templates' datetime) read them as 1900-1999.
  if (y < 100) return undefined;
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    return undefined;
  }
  return ms < END_OF_DATES ? ms : undefined;
}

/** Dates formatted lately: planning a status or a backfill formats each task's dates several times. */
const dates = new Map<number, string>();

export function formatDate(ms: number): string {
  let text = dates.get(ms);
  if (text === undefined) {
    // Years of dates: a status of decades of daily tasks keeps them all.
    if (dates.size >= 65_536) dates.clear();
    text = new Date(ms).toISOString().slice(0, 10);
    dates.set(ms, text);
  }
  return text;
}

/** Timestamps formatted lately: planning formats the bounds of the run's dates for every task (a backfill's tens of thousands). */
const timestamps = new Map<number, string>();

export function formatTimestamp(ms: number): string {
  let text = timestamps.get(ms);
  if (text === undefined) {
    if (timestamps.size >= 65_536) timestamps.clear();
    text = new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
    timestamps.set(ms, text);
  }
  return text;
}

export function dayInterval(dayStartMs: number): Interval {
  return { start: dayStartMs, end: dayStartMs + DAY_MS };
}

/** Every day of an inclusive date range, oldest first. */
export function daysBetween(firstMs: number, lastMs: number): Interval[] {
  const out: Interval[] = [];
  for (let t = firstMs; t <= lastMs; t += DAY_MS) out.push(dayInterval(t));
  return out;
}

/**
 * The variables a template sees for an interval. Daily intervals give plain dates for
 * `interval_start`/`interval_end` so they compare cleanly with DATE columns.
 */
export interface DateVariables {
  readonly ds: string;
  /**
   * Hour of the interval's start, '00' to '23', in an interval of an hour; not set in one of
   * whole days, which has no hour of its own: a template that uses it is an error there,
   * where a '00' would build the first hour of a day its run replaces whole.
   */
  readonly hour?: string;
  readonly ds_nodash: string;
  readonly prev_ds: string;
  readonly next_ds: string;
  readonly interval_start: string;
  readonly interval_end: string;
}

/** The names of the date variables, whatever the interval: `hour` among them, which only an interval of an hour sets. */
export const DATE_VARIABLE_NAMES: readonly (keyof DateVariables)[] = ['ds', 'hour', 'ds_nodash', 'prev_ds', 'next_ds', 'interval_start', 'interval_end'];

/** The variables of the interval asked for last: analysis asks for the same interval once per template it renders. */
let lastVariables: { readonly start: number; readonly end: number; readonly variables: DateVariables } | undefined;

export function dateVariables(interval: Interval): DateVariables {
  if (lastVariables?.start !== interval.start || lastVariables.end !== interval.end) {
    lastVariables = { start: interval.start, end: interval.end, variables: Object.freeze(variablesOf(interval)) };
  }
  return lastVariables.variables;
}

/** Whether an interval is of whole days (from midnight to midnight, UTC). */
export function isWholeDays(interval: Interval): boolean {
  return interval.start % DAY_MS === 0 && interval.end % DAY_MS === 0;
}

function variablesOf(interval: Interval): DateVariables {
  const ds = formatDate(interval.start);
  const whole = isWholeDays(interval);
  const fmt = whole ? formatDate : formatTimestamp;
  return {
    ds,
    ...(whole ? {} : { hour: new Date(interval.start).toISOString().slice(11, 13) }),
    ds_nodash: ds.replaceAll('-', ''),
    prev_ds: formatDate(interval.start - DAY_MS),
    next_ds: formatDate(interval.start + DAY_MS),
    interval_start: fmt(interval.start),
    interval_end: fmt(interval.end),
  };
}

/**
 * The clock. `PIPE_NOW` (an ISO timestamp) fixes "now" so that tests and reproductions
 * see the same default date as the run they repeat.
 */
export interface Clock {
  now(): number;
}

const INSTANT_RE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An instant written as ISO 8601 (`2024-01-08`, `2024-01-08T03:00`, `2024-01-08T03:00:00Z`,
 * `2024-01-08T05:00:00+02:00`): one without an offset is UTC, as every time of pipe's is,
 * whatever the machine's time zone. Undefined for text that is not one (a date that does not
 * exist, an hour past 23).
 */
export function parseInstant(text: string): number | undefined {
  const m = INSTANT_RE.exec(text.trim());
  if (!m) return undefined;
  const day = parseDate(m[1]);
  if (day === undefined) return undefined;
  const [h, min, sec] = [Number(m[2] ?? 0), Number(m[3] ?? 0), Number(m[4] ?? 0)];
  if (h > 23 || min > 59 || sec > 59) return undefined;
  const ms = Number((m[5] ?? '').padEnd(3, '0'));
  const zone = m[6] === undefined || m[6] === 'Z' ? undefined : /^([+-])(\d{2}):?(\d{2})?$/.exec(m[6]);
  const offset = zone ? (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * HOUR_MS + Number(zone[3] ?? 0) * 60_000) : 0;
  if (Math.abs(offset) > 18 * HOUR_MS) return undefined;
  return day + h * HOUR_MS + min * 60_000 + sec * 1000 + ms - offset;
}

/** What is wrong with `PIPE_NOW`, when it is set to something that is not an instant (see parseInstant), or one whose day before is no date pipe takes. */
export function pipeNowProblem(value: string | undefined = process.env.PIPE_NOW): string | undefined {
  if (!value) return undefined;
  const t = parseInstant(value);
  if (t === undefined) return `PIPE_NOW='${value}' is not a time pipe reads: write an ISO timestamp such as 2024-01-08T03:00:00Z (without an offset, it is UTC), or unset it`;
  // Its default date is the day before, which a --date must be able to name too.
  if (t < parseDate('0100-01-02')!) return `PIPE_NOW='${value}' is out of range: the day before it, the default date, must be from 0100-01-01 to 9999-12-30`;
  return undefined;
}

export const systemClock: Clock = {
  now() {
    const fixed = process.env.PIPE_NOW;
    if (!fixed) return Date.now();
    const t = parseInstant(fixed);
    // The CLI refuses such a PIPE_NOW before any command (see pipeNowProblem): here, a library's caller set it.
    if (t === undefined) throw new DiagnosticError([error('bad-pipe-now', pipeNowProblem(fixed)!)]);
    return t;
  },
};

/** The usual daily batch: yesterday, in UTC. */
export function defaultRunDate(clock: Clock = systemClock): number {
  const now = clock.now();
  return batchStart(now, 'day') - DAY_MS;
}

export const HOUR_MS = 3_600_000;

export function hourInterval(hourStartMs: number): Interval {
  return { start: hourStartMs, end: hourStartMs + HOUR_MS };
}

/**
 * How an interval is named in task ids and staging tables: `2024-01-02` for a day,
 * `2024-01-02T13` for an hour.
 */
/** The interval of the same length just before `interval`: the previous day, or hour. */
export function previousInterval(interval: Interval): Interval {
  const length = interval.end - interval.start;
  return { start: interval.start - length, end: interval.start };
}

/** Whether an interval label (see intervalLabel) names an hour rather than a day. */
export function isHourLabel(label: string): boolean {
  return label.includes('T');
}

export function intervalLabel(interval: Interval): string {
  const ds = formatDate(interval.start);
  return interval.end - interval.start === DAY_MS && interval.start % DAY_MS === 0
    ? ds
    : `${ds}T${new Date(interval.start).toISOString().slice(11, 13)}`;
}

/**
 * Parses a date or a date and time as dbt reads `begin` and `--event-time-start` (ISO 8601,
 * `2024-01-02`, `2024-01-02 13:00`, `2024-01-02T13:00:00Z`), in UTC, to the second; an offset
 * other than zero is refused (undefined), since pipe's intervals are UTC.
 */
export function parseTimestamp(text: string): number | undefined {
  const zone = INSTANT_RE.exec(text.trim())?.[6];
  if (zone !== undefined && !/^(Z|[+-]00:?00)$/.test(zone)) return undefined;
  const t = parseInstant(text);
  return t === undefined ? undefined : Math.floor(t / 1000) * 1000;
}

/** The most intervals one command plans (a backfill's dates, a microbatch model's batches, the dates pipe status judges): a century of dates. */
export const MAX_INTERVALS = 36_600;

/** The length of a batch of `size`. */
export function batchMs(size: 'day' | 'hour'): number {
  return size === 'day' ? DAY_MS : HOUR_MS;
}

/**
 * The batches of `size` that cover `[start, end)`: from the batch holding `start` to the one
 * holding the last instant before `end`, oldest first (dbt's truncated start and ceiled end).
 */
export function batchesCovering(start: number, end: number, size: 'day' | 'hour'): Interval[] {
  const length = batchMs(size);
  const out: Interval[] = [];
  for (let t = batchStart(start, size); t < end; t += length) out.push({ start: t, end: t + length });
  return out;
}

/** The start of the batch of `size` that holds the instant `at`. */
export function batchStart(at: number, size: 'day' | 'hour'): number {
  const length = batchMs(size);
  return at - (((at % length) + length) % length);
}

/** The interval an interval label names (see intervalLabel); undefined for text that is not one. */
export function parseIntervalLabel(label: string): Interval | undefined {
  const hour = /^(\d{4}-\d{2}-\d{2})T(\d{2})$/.exec(label);
  if (hour) {
    const day = parseDate(hour[1]);
    const h = Number(hour[2]);
    return day === undefined || h > 23 ? undefined : hourInterval(day + h * HOUR_MS);
  }
  const day = parseDate(label);
  return day === undefined ? undefined : dayInterval(day);
}

/** The intervals from the day starting at `first` to the one starting at `last` (inclusive): the days, or the 24 hours of each. */
export function rangeIntervals(first: number, last: number, granularity: 'daily' | 'hourly'): Interval[] {
  const days = daysBetween(first, last);
  if (granularity === 'daily') return days;
  return days.flatMap((d) => Array.from({ length: 24 }, (_, h) => hourInterval(d.start + h * HOUR_MS)));
}
