import { Cron } from 'croner';
import type { Schedule } from '../analyze/project-settings.js';
import { cronPattern } from '../analyze/cron-calendar.js';
import { DAY_MS, HOUR_MS, batchStart, formatDate, hourInterval, dayInterval, intervalLabel, type Interval } from '../dates/dates.js';

/**
 * When a scheduled pipeline is due, and which interval each run covers. Pure: the clock and
 * the last fire time considered are passed in.
 *
 * A run fired at time T covers the interval before it: for `daily`, a UTC day that has ended
 * by T (see intervalFor; the usual nightly batch: at 02:00 on the 5th, the 4th); for
 * `hourly`, the UTC hour before T. Cron times are read in the time zone, so a daily 02:00
 * stays 02:00 local across daylight-saving changes (a time that does not exist that day runs
 * at the next one that does).
 */

export interface Due {
  readonly fireAt: number;
  readonly interval: Interval;
  readonly label: string;
}

const utcZones = new Map<string, boolean>();

/** Whether a time zone is UTC, under that name or another (Etc/UTC, GMT, Zulu): no offset, no daylight saving. */
function isUtc(timezone: string): boolean {
  if (timezone === 'UTC') return true;
  let utc = utcZones.get(timezone);
  if (utc === undefined) {
    utc = new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone === 'UTC';
    utcZones.set(timezone, utc);
  }
  return utc;
}

/**
 * The schedule's cron, read in its time zone. croner reads a zone's wall clock through the
 * platform's date formatting at every step (0.3-0.4 ms a fire, most of a catch-up's time); in
 * UTC, the default, the same fires come from an offset of zero, which needs none.
 */
function cron(schedule: Schedule): Cron {
  const zone = isUtc(schedule.timezone) ? { utcOffset: 0 } : { timezone: schedule.timezone };
  return new Cron(cronPattern(schedule.cron), { ...zone, paused: true });
}

const wallTimes = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time of an instant in a time zone, to the minute. */
function wallTime(ms: number, timezone: string): string {
  let f = wallTimes.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    wallTimes.set(timezone, f);
  }
  return f.format(ms);
}

/**
 * For an hourly pipeline, the other instant of a wall-clock time the night clocks go back
 * repeats (02:30 twice in Europe/Amsterdam): croner gives one of the two, which one depending
 * on where it starts counting (from within the first 02:xx it passes over the second). Each
 * fire of an hourly pipeline covers the UTC hour before it: without both, an hour would never
 * be built. (A daily pipeline fires once: both would cover the same day.)
 */
function twinsOf(schedule: Schedule, t: number): number[] {
  if (schedule.interval !== 'hourly' || isUtc(schedule.timezone)) return [];
  const wall = wallTime(t, schedule.timezone);
  return [t - HOUR_MS, t + HOUR_MS].filter((x) => wallTime(x, schedule.timezone) === wall);
}

/**
 * Fire times in (after, until], oldest first, croner's and their twins (see twinsOf); counted
 * from an hour before `after`, whose fire's twin may fall after it. Stops early once `enough`
 * says so of the fires found up to an hour before croner's latest (no twin comes before those).
 */
function firesBetween(schedule: Schedule, after: number, until: number, enough?: (settled: number) => boolean): number[] {
  const c = cron(schedule);
  const reach = schedule.interval === 'hourly' ? HOUR_MS : 0;
  const found = new Set<number>();
  let t = c.nextRun(new Date(after - reach));
  while (t && t.getTime() <= until + reach) {
    const ms = t.getTime();
    for (const fire of [ms, ...twinsOf(schedule, ms)]) if (fire > after && fire <= until) found.add(fire);
    if (enough && enough([...found].filter((f) => f <= ms - reach).length)) break;
    t = c.nextRun(t);
  }
  return [...found].sort((a, b) => a - b);
}

/** Fire times in (after, until], oldest first, at most `limit` (the latest ones are kept). */
export function fireTimes(schedule: Schedule, after: number, until: number, limit = 100_000): number[] {
  return firesBetween(schedule, after, until).slice(-limit);
}

/** The latest fire time at or before `now`, looking back up to a year. */
export function latestFireTime(schedule: Schedule, now: number): number | undefined {
  for (const back of [HOUR_MS, DAY_MS, 8 * DAY_MS, 32 * DAY_MS, 366 * DAY_MS]) {
    const times = fireTimes(schedule, now - back, now, 1);
    if (times.length > 0) return times[times.length - 1];
  }
  return undefined;
}

export function nextFireTimes(schedule: Schedule, now: number, count: number): number[] {
  return firesBetween(schedule, now, Infinity, (settled) => settled >= count).slice(0, count);
}

const wallClocks = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time of an instant in a time zone, to the second, as the UTC instant that reads the same. */
function wallClock(ms: number, timezone: string): number {
  if (isUtc(timezone)) return Math.floor(ms / 1000) * 1000;
  let f = wallClocks.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    wallClocks.set(timezone, f);
  }
  const n = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, Number(p.value)]));
  return Date.UTC(n.year, n.month - 1, n.day, n.hour, n.minute, n.second);
}

const summerOffsets = new Map<string, number>();

/**
 * The largest UTC offset a time zone has in the UTC year of `ms` (its summer time's, for a zone
 * that keeps one), and zero for a zone west of UTC all year. Read at noon each day: no zone
 * keeps an offset for less than a day.
 */
function largestOffset(timezone: string, ms: number): number {
  const year = new Date(ms).getUTCFullYear();
  const key = `${timezone} ${year}`;
  let largest = summerOffsets.get(key);
  if (largest === undefined) {
    largest = 0;
    for (let t = Date.UTC(year, 0, 1, 12); t < Date.UTC(year + 1, 0, 1); t += DAY_MS) largest = Math.max(largest, wallClock(t, timezone) - t);
    summerOffsets.set(key, largest);
  }
  return largest;
}

/**
 * The interval a run fired at `fireAt` covers. Hourly: the UTC hour before it. Daily: the day
 * before its date in the time zone, as the zone's largest offset of the year reads it, that is
 * the day before the local date, or the one before that when the fire's time of day is earlier
 * than that offset (00:00 in Europe/Amsterdam, 02:00 in Pacific/Kiritimati). The day covered
 * is a UTC day, and it has always ended by the fire time: a run never builds a day whose last
 * hours are still to come. It is worked out with the same offset in winter and in summer, so
 * that a daily fire at the same local time covers the next day every time, across
 * daylight-saving changes: no day is covered twice, and none is left out. (In a zone's winter
 * this can be a day earlier than the latest UTC day that has ended: London's 00:00 covers
 * two days back all year, as it must in summer.) A zone west of UTC covers the day before
 * the local date, which has ended.
 */
export function intervalFor(schedule: Schedule, fireAt: number): Interval {
  if (schedule.interval === 'hourly') return hourInterval(Math.floor(fireAt / HOUR_MS) * HOUR_MS - HOUR_MS);
  const wall = wallClock(fireAt, schedule.timezone) - largestOffset(schedule.timezone, fireAt);
  return dayInterval(batchStart(wall, 'day') - DAY_MS);
}

/** A fire time as `pipe schedule` shows it: local time, UTC, and the interval its run covers. */
export function describeFire(schedule: Schedule, fireAt: number): string {
  const local = new Intl.DateTimeFormat('sv-SE', { timeZone: schedule.timezone, dateStyle: 'short', timeStyle: 'short' }).format(fireAt);
  const interval = intervalFor(schedule, fireAt);
  const covers = schedule.interval === 'hourly' ? `${new Date(interval.start).toISOString().slice(0, 13).replace('T', ' ')}:00 UTC` : formatDate(interval.start);
  return `${local} ${schedule.timezone}  (${new Date(fireAt).toISOString()})  covers ${covers}`;
}

function due(schedule: Schedule, fireAt: number): Due {
  const interval = intervalFor(schedule, fireAt);
  return { fireAt, interval, label: intervalLabel(interval) };
}

/** Intervals the scheduler decided not to run: how many, the first and last, and why. */
export interface Dropped {
  readonly count: number;
  readonly first: Due;
  readonly last: Due;
  readonly reason: 'catchup is off' | 'beyond max_catchup';
}

/**
 * What is due at `now`, given the last fire time already handled (undefined on the first
 * start: only the latest due interval runs). Without catch-up only the latest missed
 * interval runs; with it, up to `maxCatchup` of the most recent, oldest first. The missed
 * intervals left out are `dropped`, so that the scheduler can say which. A schedule that fires
 * more often than its interval (every 6 hours, daily) covers one interval several times: each
 * is due once (at its latest fire), and not again after the fire handled last covered it; nor
 * is one that succeeded (`done`, by label) said to be missed.
 */
export function dueRuns(
  schedule: Schedule,
  lastHandled: number | undefined,
  now: number,
  done: ReadonlySet<string> = new Set(),
  /** The interval the fire handled last covered, as recorded (the schedule may have changed since: daily then, hourly now). */
  lastCovered?: Interval,
): { due: Due[]; dropped?: Dropped } {
  if (lastHandled === undefined) {
    const latest = latestFireTime(schedule, now);
    return { due: latest === undefined ? [] : [due(schedule, latest)] };
  }
  const keep = schedule.catchup ? schedule.maxCatchup : 1;
  const covered = lastCovered ?? due(schedule, lastHandled).interval;
  const byInterval = new Map<string, number>();
  // From the end of what was covered: a pipeline made hourly after a daily fire at 02:00 (which
  // covered the day before) is due the hours since midnight too, not only those after 02:00.
  for (const t of fireTimes(schedule, Math.min(lastHandled, covered.end), now)) {
    const d = due(schedule, t);
    // Ending where what was covered ends, or before: built already (a schedule firing more often
    // than its interval covers it several times; a day whose hours an hourly schedule built, before it was made daily).
    if (d.interval.end <= covered.end) continue;
    byInterval.delete(d.label);
    byInterval.set(d.label, t);
  }
  const fired = [...byInterval.values()].sort((a, b) => a - b).map((t) => due(schedule, t));
  // max_catchup counts fires; a day no fire covers (see withSkippedDays) goes with the fire after it.
  const kept = fired.slice(Math.max(0, fired.length - keep));
  const dropped = fired.slice(0, Math.max(0, fired.length - keep)).filter((d) => !done.has(d.label));
  const before = fired.length > kept.length ? fired[fired.length - kept.length - 1].interval.end : covered.end;
  return {
    due: withSkippedDays(schedule, kept, before),
    dropped:
      dropped.length === 0
        ? undefined
        : { count: dropped.length, first: dropped[0], last: dropped[dropped.length - 1], reason: schedule.catchup ? 'beyond max_catchup' : 'catchup is off' },
  };
}

/**
 * The daily dues with the UTC days no fire covers put in, each due just before the fire after
 * it: where a zone's largest offset changes from one year to the next (Asia/Tehran left summer
 * time in 2022), or a zone skips a local date (Pacific/Apia's 2011-12-30), two fires in a row
 * cover days two apart, and the day between would be built by none.
 */
function withSkippedDays(schedule: Schedule, dues: readonly Due[], coveredEnd: number): Due[] {
  if (schedule.interval === 'hourly') return [...dues];
  const out: Due[] = [];
  let end = coveredEnd;
  for (const d of dues) {
    // From a day's start only (what an hourly schedule covered before it was made daily ends within a day).
    for (let start = end; start % DAY_MS === 0 && start < d.interval.start; start += DAY_MS) {
      const interval = dayInterval(start);
      out.push({ fireAt: d.fireAt - 1, interval, label: intervalLabel(interval) });
    }
    out.push(d);
    end = Math.max(end, d.interval.end);
  }
  return out;
}

/** What a scheduler says about dropped intervals, with the command that builds them. */
export function droppedMessage(pipeline: string, d: Dropped): string {
  const range = d.count === 1 ? d.first.label : `${d.first.label} … ${d.last.label}`;
  const days = (label: string) => label.slice(0, 10);
  return `${pipeline}: not running ${d.count} missed interval${d.count === 1 ? '' : 's'} (${range}): ${d.reason}; pipe backfill ${pipeline} --start ${days(d.first.label)} --end ${days(d.last.label)} builds them`;
}
