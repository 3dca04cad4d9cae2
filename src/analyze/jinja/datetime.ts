import { bind, pyFunction, signature } from './args.js';
import { JinjaError } from './errors.js';
import { isStr, numberOf, pyCallable, pyFloat, PyObject, strOf, strRepr, typeName } from './values.js';

/**
 * dbt's `modules.datetime` (date, datetime, timedelta) and `run_started_at`, as Python's
 * datetime module has them: printing (`2024-01-02 03:04:05.123456+00:00`), arithmetic with
 * timedeltas, comparisons, strftime/strptime with glibc's directives (pipe runs in UTC, so
 * `now()` and `today()` are UTC), isoformat/fromisoformat. Time zones are UTC, a fixed
 * offset read from an ISO string, or a zone of `modules.pytz` (pytz.ts), whose offset depends
 * on the instant; `datetime.timezone` makes fixed offsets; `modules.datetime.time` and `tzinfo` are not provided.
 */

const US_PER_DAY = 86_400_000_000;
const DAYS_BEFORE_MONTH = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysInMonth = (y: number, m: number) => (m === 2 && isLeap(y) ? 29 : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]);

/** Days since 0001-01-01 (day 1), the proleptic Gregorian calendar of Python's toordinal(). */
function toOrdinal(y: number, m: number, d: number): number {
  const py = y - 1;
  return py * 365 + Math.floor(py / 4) - Math.floor(py / 100) + Math.floor(py / 400) + DAYS_BEFORE_MONTH[m] + (m > 2 && isLeap(y) ? 1 : 0) + d;
}

function fromOrdinal(n: number): [number, number, number] {
  let rest = n - 1;
  const n400 = Math.floor(rest / 146_097);
  rest -= n400 * 146_097;
  const n100 = Math.floor(rest / 36_524);
  rest -= n100 * 36_524;
  const n4 = Math.floor(rest / 1_461);
  rest -= n4 * 1_461;
  const n1 = Math.floor(rest / 365);
  rest -= n1 * 365;
  let year = n400 * 400 + n100 * 100 + n4 * 4 + n1 + 1;
  if (n1 === 4 || n100 === 4) return [year - 1, 12, 31];
  let month = 1;
  while (month < 12 && rest >= DAYS_BEFORE_MONTH[month + 1] + (month + 1 > 2 && isLeap(year) ? 1 : 0)) month++;
  const day = rest - DAYS_BEFORE_MONTH[month] - (month > 2 && isLeap(year) ? 1 : 0) + 1;
  if (year < 1) year = 1;
  return [year, month, day];
}

function checkInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new JinjaError(`${what}: an integer is required (got type ${typeName(v)})`);
  return v;
}

function checkDate(y: unknown, m: unknown, d: unknown): [number, number, number] {
  const year = checkInt(y, 'year');
  const month = checkInt(m, 'month');
  const day = checkInt(d, 'day');
  if (year < 1 || year > 9999) throw new JinjaError(`year ${year} is out of range`);
  if (month < 1 || month > 12) throw new JinjaError('month must be in 1..12');
  if (day < 1 || day > daysInMonth(year, month)) throw new JinjaError('day is out of range for month');
  return [year, month, day];
}

const pad = (n: number, width: number) => String(Math.abs(n)).padStart(width, '0');

/** A fixed offset from UTC (minutes east), with the name `datetime.timezone(offset, name)` gives it; UTC itself is offset 0. */
export class PyTimezone extends PyObject {
  readonly typeName = 'timezone';
  constructor(
    readonly minutes: number,
    private readonly label?: string,
  ) {
    super();
  }
  name(): string {
    if (this.label !== undefined) return this.label;
    return this.minutes === 0 ? 'UTC' : `UTC${offsetText(this.minutes, ':')}`;
  }
  override str(): string {
    return this.name();
  }
  repr(): string {
    if (this.label !== undefined) return `datetime.timezone(datetime.timedelta(seconds=${this.minutes * 60}), ${strRepr(this.label)})`;
    return this.minutes === 0 ? 'datetime.timezone.utc' : `datetime.timezone(datetime.timedelta(seconds=${this.minutes * 60}))`;
  }
  override equals(other: unknown): boolean {
    return other instanceof PyTimezone && other.minutes === this.minutes;
  }
  /** The offset this zone has at an instant (milliseconds since 1970, UTC): a fixed offset is itself. */
  atInstant(_epochMs: number): PyTimezone {
    return this;
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'utcoffset':
        return () => Timedelta.of(0, this.minutes * 60, 0);
      case 'tzname':
        return () => this.name();
      default:
        return undefined;
    }
  }
}

export const UTC = new PyTimezone(0);

function offsetText(minutes: number, sep: string): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${pad(Math.floor(m / 60), 2)}${sep}${pad(m % 60, 2)}`;
}

// ---- timedelta --------------------------------------------------------------------------

export class Timedelta extends PyObject {
  readonly typeName = 'timedelta';
  private constructor(
    readonly days: number,
    readonly seconds: number,
    readonly microseconds: number,
  ) {
    super();
  }

  /** From a count of microseconds (an integer). */
  static fromMicros(total: number): Timedelta {
    if (!Number.isSafeInteger(total)) throw new JinjaError('timedelta out of the range pipe computes exactly (about 285 years)');
    const days = Math.floor(total / US_PER_DAY);
    const rest = total - days * US_PER_DAY;
    const seconds = Math.floor(rest / 1_000_000);
    if (Math.abs(days) > 999_999_999) throw new JinjaError(`days=${days}; must have magnitude <= 999999999`);
    return new Timedelta(days, seconds, rest - seconds * 1_000_000);
  }
  static of(days: number, seconds: number, microseconds: number): Timedelta {
    return Timedelta.fromMicros(days * US_PER_DAY + seconds * 1_000_000 + microseconds);
  }
  micros(): number {
    return this.days * US_PER_DAY + this.seconds * 1_000_000 + this.microseconds;
  }
  override str(): string {
    const hh = Math.floor(this.seconds / 3600);
    const mm = Math.floor((this.seconds % 3600) / 60);
    const ss = this.seconds % 60;
    let s = `${hh}:${pad(mm, 2)}:${pad(ss, 2)}`;
    if (this.days) s = `${this.days} day${Math.abs(this.days) !== 1 ? 's' : ''}, ${s}`;
    if (this.microseconds) s += `.${pad(this.microseconds, 6)}`;
    return s;
  }
  repr(): string {
    const parts = [
      this.days ? `days=${this.days}` : '',
      this.seconds ? `seconds=${this.seconds}` : '',
      this.microseconds ? `microseconds=${this.microseconds}` : '',
    ].filter(Boolean);
    return `datetime.timedelta(${parts.length > 0 ? parts.join(', ') : '0'})`;
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'days':
        return this.days;
      case 'seconds':
        return this.seconds;
      case 'microseconds':
        return this.microseconds;
      case 'total_seconds':
        return pyFunction(signature('total_seconds', ''), () => pyFloat(this.micros() / 1_000_000));
      default:
        return undefined;
    }
  }
  override equals(other: unknown): boolean {
    return other instanceof Timedelta && other.micros() === this.micros();
  }
  override compare(other: unknown): number | undefined {
    return other instanceof Timedelta ? this.micros() - other.micros() : undefined;
  }
  override add(other: unknown): unknown {
    return other instanceof Timedelta ? Timedelta.fromMicros(this.micros() + other.micros()) : undefined;
  }
  override sub(other: unknown, reflected: boolean): unknown {
    if (!(other instanceof Timedelta)) return undefined;
    return Timedelta.fromMicros(reflected ? other.micros() - this.micros() : this.micros() - other.micros());
  }
  override mul(other: unknown): unknown {
    const n = numberOf(other);
    if (n === undefined) return undefined;
    return Timedelta.fromMicros(roundHalfEven(this.micros() * n));
  }
  override neg(): unknown {
    return Timedelta.fromMicros(-this.micros());
  }
  override truthy(): boolean {
    return this.micros() !== 0;
  }
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5 || (diff === 0.5 && f % 2 !== 0)) return f + 1;
  return f;
}

const timedeltaClass = pyCallable(
  pyFunction(
    signature('timedelta', 'days seconds microseconds milliseconds minutes hours weeks', { days: 0, seconds: 0, microseconds: 0, milliseconds: 0, minutes: 0, hours: 0, weeks: 0 }),
    (days: unknown, seconds: unknown, micro: unknown, milli: unknown, minutes: unknown, hours: unknown, weeks: unknown) => {
      const parts = [days, seconds, micro, milli, minutes, hours, weeks].map((p) => {
        const n = numberOf(p);
        if (n === undefined) throw new JinjaError(`unsupported type for timedelta component: ${typeName(p)}`);
        return n;
      });
      const [d, s, us, ms, m, h, w] = parts;
      const total = (d + w * 7) * US_PER_DAY + (s + m * 60 + h * 3600) * 1_000_000 + ms * 1000 + us;
      return Timedelta.fromMicros(roundHalfEven(total));
    },
  ),
  {},
  'timedelta',
);

// ---- date and datetime -----------------------------------------------------------------

/** What date and datetime share: a calendar day, and for a datetime a time of day and an offset. */
abstract class Moment extends PyObject {
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
  ) {
    super();
  }
  ordinal(): number {
    return toOrdinal(this.year, this.month, this.day);
  }
  /** Monday is 0. */
  weekday(): number {
    return (this.ordinal() + 6) % 7;
  }
  abstract strftime(format: string): string;
  override format(spec: string): string {
    return spec === '' ? this.str() : this.strftime(spec);
  }
  isocalendar(): [number, number, number] {
    const ord = this.ordinal();
    let year = this.year;
    const week1 = (y: number) => {
      const first = toOrdinal(y, 1, 1);
      const wd = (first + 6) % 7;
      return first - wd + (wd > 3 ? 7 : 0);
    };
    let start = week1(year);
    if (ord < start) start = week1(--year);
    else if (ord >= week1(year + 1)) start = week1(++year);
    return [year, Math.floor((ord - start) / 7) + 1, (ord + 6) % 7 + 1];
  }
  protected dateAttribute(name: string): unknown {
    switch (name) {
      case 'year':
        return this.year;
      case 'month':
        return this.month;
      case 'day':
        return this.day;
      case 'weekday':
        return pyFunction(signature('weekday', ''), () => this.weekday());
      case 'isoweekday':
        return pyFunction(signature('isoweekday', ''), () => this.weekday() + 1);
      case 'isocalendar':
        return pyFunction(signature('isocalendar', ''), () => new IsoCalendarDate(...this.isocalendar()));
      case 'toordinal':
        return pyFunction(signature('toordinal', ''), () => this.ordinal());
      case 'strftime':
        return pyFunction(signature('strftime', 'format'), (f: unknown) => this.strftime(text(f, 'strftime() argument 1')));
      case 'ctime':
        return pyFunction(signature('ctime', ''), () => this.strftime('%a %b %e %H:%M:%S %Y'));
      default:
        return undefined;
    }
  }
}

/** What isocalendar() gives: a named tuple (year, week, weekday). */
class IsoCalendarDate extends PyObject {
  readonly typeName = 'IsoCalendarDate';
  private readonly items: [number, number, number];
  constructor(year: number, week: number, weekday: number) {
    super();
    this.items = [year, week, weekday];
  }
  repr(): string {
    const [year, week, weekday] = this.items;
    return `datetime.IsoCalendarDate(year=${year}, week=${week}, weekday=${weekday})`;
  }
  override getitem(key: unknown): unknown {
    return typeof key === 'number' ? this.items[key < 0 ? key + 3 : key] : undefined;
  }
  override getattr(name: string): unknown {
    const i = ['year', 'week', 'weekday'].indexOf(name);
    return i < 0 ? undefined : this.items[i];
  }
  override iterate(): unknown[] {
    return [...this.items];
  }
  override equals(other: unknown): boolean {
    const items = other instanceof IsoCalendarDate ? other.items : Array.isArray(other) ? other : undefined;
    return items !== undefined && items.length === 3 && items.every((x, i) => x === this.items[i]);
  }
}

function text(v: unknown, what: string): string {
  if (!isStr(v)) throw new JinjaError(`${what} must be str, not ${typeName(v)}`);
  return strOf(v);
}

export class PyDate extends Moment {
  readonly typeName = 'date';
  static fromOrdinal(n: number): PyDate {
    const [y, m, d] = fromOrdinal(n);
    if (n < 1 || n > toOrdinal(9999, 12, 31)) throw new JinjaError('date value out of range');
    return new PyDate(y, m, d);
  }
  isoformat(): string {
    return `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}`;
  }
  override str(): string {
    return this.isoformat();
  }
  repr(): string {
    return `datetime.date(${this.year}, ${this.month}, ${this.day})`;
  }
  strftime(format: string): string {
    return strftime(format, { year: this.year, month: this.month, day: this.day, hour: 0, minute: 0, second: 0, microsecond: 0, weekday: this.weekday(), ordinal: this.ordinal(), iso: this.isocalendar() });
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'isoformat':
        return pyFunction(signature('isoformat', ''), () => this.isoformat());
      case 'replace':
        return pyFunction(signature('replace', 'year month day', { year: null, month: null, day: null }), (y: unknown, m: unknown, d: unknown) => {
          const [yy, mm, dd] = checkDate(y ?? this.year, m ?? this.month, d ?? this.day);
          return new PyDate(yy, mm, dd);
        });
      default:
        return this.dateAttribute(name);
    }
  }
  override equals(other: unknown): boolean {
    return other instanceof PyDate && other.ordinal() === this.ordinal();
  }
  override compare(other: unknown): number | undefined {
    return other instanceof PyDate ? this.ordinal() - other.ordinal() : undefined;
  }
  override add(other: unknown): unknown {
    return other instanceof Timedelta ? PyDate.fromOrdinal(this.ordinal() + other.days) : undefined;
  }
  override sub(other: unknown, reflected: boolean): unknown {
    if (reflected) return undefined;
    if (other instanceof Timedelta) return PyDate.fromOrdinal(this.ordinal() - other.days);
    if (other instanceof PyDate) return Timedelta.of(this.ordinal() - other.ordinal(), 0, 0);
    return undefined;
  }
}

export class PyDateTime extends Moment {
  readonly typeName = 'datetime';
  constructor(
    year: number,
    month: number,
    day: number,
    readonly hour: number,
    readonly minute: number,
    readonly second: number,
    readonly microsecond: number,
    readonly tz: PyTimezone | null,
  ) {
    super(year, month, day);
  }

  static fromParts(ordinal: number, microsOfDay: number, tz: PyTimezone | null): PyDateTime {
    const carry = Math.floor(microsOfDay / US_PER_DAY);
    const n = ordinal + carry;
    const us = microsOfDay - carry * US_PER_DAY;
    if (n < 1 || n > toOrdinal(9999, 12, 31)) throw new JinjaError('date value out of range');
    const [y, m, d] = fromOrdinal(n);
    const seconds = Math.floor(us / 1_000_000);
    return new PyDateTime(y, m, d, Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60, us % 1_000_000, tz);
  }
  /** From milliseconds since 1970-01-01 UTC, in `tz` (naive UTC without one). */
  static fromEpochMs(ms: number, zone: PyTimezone | null): PyDateTime {
    const tz = zone?.atInstant(ms) ?? null;
    const days = Math.floor(ms / 86_400_000);
    const rest = ms - days * 86_400_000 + (tz?.minutes ?? 0) * 60_000;
    return PyDateTime.fromParts(toOrdinal(1970, 1, 1) + days, Math.round(rest * 1000), tz);
  }
  microsOfDay(): number {
    return ((this.hour * 60 + this.minute) * 60 + this.second) * 1_000_000 + this.microsecond;
  }
  /** Microseconds since 0001-01-01 as [days, micros], in UTC for an aware datetime. */
  private instant(): [number, number] {
    return [this.ordinal(), this.microsOfDay() - (this.tz?.minutes ?? 0) * 60_000_000];
  }
  private timeText(sep: string, timespec: string): string {
    const hms = `${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}`;
    let time: string;
    switch (timespec) {
      case 'auto':
        time = this.microsecond ? `${hms}.${pad(this.microsecond, 6)}` : hms;
        break;
      case 'hours':
        time = pad(this.hour, 2);
        break;
      case 'minutes':
        time = hms.slice(0, 5);
        break;
      case 'seconds':
        time = hms;
        break;
      case 'milliseconds':
        time = `${hms}.${pad(Math.floor(this.microsecond / 1000), 3)}`;
        break;
      case 'microseconds':
        time = `${hms}.${pad(this.microsecond, 6)}`;
        break;
      default:
        throw new JinjaError('Unknown timespec value');
    }
    const date = `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}`;
    return `${date}${sep}${time}${this.tz ? offsetText(this.tz.minutes, ':') : ''}`;
  }
  override str(): string {
    return this.timeText(' ', 'auto');
  }
  repr(): string {
    const parts = [this.year, this.month, this.day, this.hour, this.minute, this.second, this.microsecond];
    while (parts.length > 5 && parts[parts.length - 1] === 0) parts.pop();
    return `datetime.datetime(${parts.join(', ')}${this.tz ? `, tzinfo=${this.tz.repr()}` : ''})`;
  }
  strftime(format: string): string {
    return strftime(format, {
      year: this.year,
      month: this.month,
      day: this.day,
      hour: this.hour,
      minute: this.minute,
      second: this.second,
      microsecond: this.microsecond,
      weekday: this.weekday(),
      ordinal: this.ordinal(),
      iso: this.isocalendar(),
      tz: this.tz ?? undefined,
      epoch: this.epochSeconds(),
    });
  }
  /** Seconds since 1970 (a naive datetime is UTC, the zone pipe runs in). */
  epochSeconds(): number {
    const [days, us] = this.instant();
    return (days - toOrdinal(1970, 1, 1)) * 86_400 + us / 1_000_000;
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'hour':
        return this.hour;
      case 'minute':
        return this.minute;
      case 'second':
        return this.second;
      case 'microsecond':
        return this.microsecond;
      case 'tzinfo':
        return this.tz;
      case 'date':
        return pyFunction(signature('date', ''), () => new PyDate(this.year, this.month, this.day));
      case 'isoformat':
        return pyFunction(signature('isoformat', 'sep timespec', { sep: 'T', timespec: 'auto' }), (sep: unknown, spec: unknown) =>
          this.timeText(text(sep, 'isoformat() argument 1'), text(spec, 'timespec')),
        );
      case 'timestamp':
        return pyFunction(signature('timestamp', ''), () => pyFloat(this.epochSeconds()));
      case 'utcoffset':
        return pyFunction(signature('utcoffset', ''), () => (this.tz ? Timedelta.of(0, this.tz.minutes * 60, 0) : null));
      case 'tzname':
        return pyFunction(signature('tzname', ''), () => this.tz?.name() ?? null);
      case 'dst':
        // A fixed offset has no daylight saving time to tell (None); a pytz zone's offset does.
        return pyFunction(signature('dst', ''), () => (this.tz?.getattr('dst') as (() => unknown) | undefined)?.() ?? null);
      case 'replace':
        return pyFunction(
          signature('replace', 'year month day hour minute second microsecond tzinfo', {
            year: null,
            month: null,
            day: null,
            hour: null,
            minute: null,
            second: null,
            microsecond: null,
            tzinfo: true,
          }),
          (y: unknown, mo: unknown, d: unknown, h: unknown, mi: unknown, s: unknown, us: unknown, tzinfo: unknown) =>
            makeDateTime([y ?? this.year, mo ?? this.month, d ?? this.day, h ?? this.hour, mi ?? this.minute, s ?? this.second, us ?? this.microsecond], tzinfo === true ? this.tz : tzinfo),
        );
      case 'astimezone':
        return pyFunction(signature('astimezone', 'tz', { tz: null }), (tz: unknown) => {
          const target = tz === null ? UTC : tz;
          if (!(target instanceof PyTimezone)) throw new JinjaError(`astimezone() argument 1 must be a timezone pipe knows (UTC, a fixed offset or a pytz zone), not ${typeName(tz)}`);
          const [days, us] = this.instant();
          const zone = target.atInstant(this.epochSeconds() * 1000);
          return PyDateTime.fromParts(days, us + zone.minutes * 60_000_000, zone);
        });
      default:
        return this.dateAttribute(name);
    }
  }
  private sameKind(other: PyDateTime, op: string): void {
    if ((this.tz === null) !== (other.tz === null)) throw new JinjaError(`can't ${op} offset-naive and offset-aware datetimes`);
  }
  override equals(other: unknown): boolean {
    if (!(other instanceof PyDateTime) || (this.tz === null) !== (other.tz === null)) return false;
    const [a, b] = [this.instant(), other.instant()];
    return a[0] === b[0] && a[1] === b[1];
  }
  override compare(other: unknown): number | undefined {
    if (!(other instanceof PyDateTime)) return undefined;
    this.sameKind(other, 'compare');
    const [a, b] = [this.instant(), other.instant()];
    return a[0] !== b[0] ? (a[0] - b[0]) * US_PER_DAY + (a[1] - b[1]) : a[1] - b[1];
  }
  override add(other: unknown): unknown {
    if (!(other instanceof Timedelta)) return undefined;
    return PyDateTime.fromParts(this.ordinal() + other.days, this.microsOfDay() + other.seconds * 1_000_000 + other.microseconds, this.tz);
  }
  override sub(other: unknown, reflected: boolean): unknown {
    if (reflected) return undefined;
    if (other instanceof Timedelta) return PyDateTime.fromParts(this.ordinal() - other.days, this.microsOfDay() - other.seconds * 1_000_000 - other.microseconds, this.tz);
    if (other instanceof PyDateTime) {
      this.sameKind(other, 'subtract');
      const [a, b] = [this.instant(), other.instant()];
      return Timedelta.fromMicros((a[0] - b[0]) * US_PER_DAY + (a[1] - b[1]));
    }
    return undefined;
  }
}

function makeDateTime(parts: readonly unknown[], tzinfo: unknown): PyDateTime {
  const [year, month, day] = checkDate(parts[0], parts[1], parts[2]);
  const limits: [string, number][] = [
    ['hour', 23],
    ['minute', 59],
    ['second', 59],
    ['microsecond', 999_999],
  ];
  const time = limits.map(([what, max], i) => {
    const v = checkInt(parts[3 + i], what);
    if (v < 0 || v > max) throw new JinjaError(`${what} must be in 0..${max}`);
    return v;
  });
  if (tzinfo !== null && !(tzinfo instanceof PyTimezone)) throw new JinjaError(`tzinfo must be None or a timezone pipe knows (UTC, a fixed offset or a pytz zone), not ${typeName(tzinfo)}`);
  return new PyDateTime(year, month, day, time[0], time[1], time[2], time[3], tzinfo);
}

// ---- strftime and strptime -------------------------------------------------------------

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
  weekday: number;
  ordinal: number;
  iso: [number, number, number];
  tz?: PyTimezone;
  epoch?: number;
}

/** glibc's strftime (what Python's calls on Linux) in the C locale, with Python's %f. */
function strftime(format: string, f: Fields): string {
  const dayOfYear = f.ordinal - toOrdinal(f.year, 1, 1) + 1;
  const sundayWeekday = (f.weekday + 1) % 7;
  const hour12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
  return format.replace(/%([-_0^#]?)([a-zA-Z%+])/g, (whole, flag: string, d: string) => {
    const num = (n: number, width: number, padChar = '0') => {
      const s = String(Math.abs(n));
      const sign = n < 0 ? '-' : '';
      if (flag === '-') return sign + s;
      const p = flag === '_' ? ' ' : flag === '0' ? '0' : padChar;
      return sign + s.padStart(width, p);
    };
    const word = (s: string) => (flag === '^' ? s.toUpperCase() : flag === '#' ? s.toUpperCase() : s);
    switch (d) {
      case 'a':
        return word(WEEKDAYS[f.weekday].slice(0, 3));
      case 'A':
        return word(WEEKDAYS[f.weekday]);
      case 'w':
        return String(sundayWeekday);
      case 'u':
        return String(f.weekday + 1);
      case 'd':
        return num(f.day, 2);
      case 'e':
        return num(f.day, 2, ' ');
      case 'b':
      case 'h':
        return word(MONTHS[f.month - 1].slice(0, 3));
      case 'B':
        return word(MONTHS[f.month - 1]);
      case 'm':
        return num(f.month, 2);
      case 'y':
        return num(f.year % 100, 2);
      case 'Y':
        return flag === '' ? String(f.year) : num(f.year, 4);
      case 'C':
        return num(Math.floor(f.year / 100), 2);
      case 'G':
        return String(f.iso[0]);
      case 'g':
        return num(f.iso[0] % 100, 2);
      case 'V':
        return num(f.iso[1], 2);
      case 'H':
        return num(f.hour, 2);
      case 'k':
        return num(f.hour, 2, ' ');
      case 'I':
        return num(hour12, 2);
      case 'l':
        return num(hour12, 2, ' ');
      case 'p':
        return f.hour < 12 ? 'AM' : 'PM';
      case 'P':
        return f.hour < 12 ? 'am' : 'pm';
      case 'M':
        return num(f.minute, 2);
      case 'S':
        return num(f.second, 2);
      case 'f':
        return pad(f.microsecond, 6);
      case 'j':
        return num(dayOfYear, 3);
      case 'U':
        return num(Math.floor((dayOfYear + 6 - sundayWeekday) / 7), 2);
      case 'W':
        return num(Math.floor((dayOfYear + 6 - f.weekday) / 7), 2);
      case 'z':
        return f.tz ? offsetText(f.tz.minutes, '') : '';
      case 'Z':
        return f.tz ? f.tz.name() : '';
      case 'c':
        return strftime('%a %b %e %H:%M:%S %Y', f);
      case 'x':
      case 'D':
        return strftime('%m/%d/%y', f);
      case 'X':
      case 'T':
        return strftime('%H:%M:%S', f);
      case 'F':
        return strftime('%Y-%m-%d', f);
      case 'R':
        return strftime('%H:%M', f);
      case 'r':
        return strftime('%I:%M:%S %p', f);
      case 's':
        return String(Math.floor(f.epoch ?? (f.ordinal - toOrdinal(1970, 1, 1)) * 86_400));
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case '%':
        return '%';
      default:
        // glibc writes a conversion it does not know as it is.
        return whole;
    }
  });
}

const NAMES = (names: string[], length?: number) => names.map((n) => (length ? n.slice(0, length) : n)).join('|');

/** Python's _strptime patterns (locale C), for the directives pipe reads. */
const STRPTIME: Readonly<Record<string, string>> = {
  d: '(?<d>3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
  f: '(?<f>[0-9]{1,6})',
  H: '(?<H>2[0-3]|[0-1]\\d|\\d)',
  I: '(?<I>1[0-2]|0[1-9]|[1-9])',
  j: '(?<j>36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])',
  m: '(?<m>1[0-2]|0[1-9]|[1-9])',
  M: '(?<M>[0-5]\\d|\\d)',
  S: '(?<S>6[0-1]|[0-5]\\d|\\d)',
  y: '(?<y>\\d\\d)',
  Y: '(?<Y>\\d\\d\\d\\d)',
  z: '(?<z>[+-]\\d\\d:?[0-5]\\d(?::?[0-5]\\d(?:\\.\\d{1,6})?)?|Z)',
  Z: '(?<Z>utc|gmt)',
  a: `(?<a>${NAMES(WEEKDAYS, 3)})`,
  A: `(?<A>${NAMES(WEEKDAYS)})`,
  b: `(?<b>${NAMES(MONTHS, 3)})`,
  B: `(?<B>${NAMES(MONTHS)})`,
  p: '(?<p>am|pm)',
};

function strptime(s: string, format: string): PyDateTime {
  let pattern = '';
  const seen = new Set<string>();
  for (let i = 0; i < format.length; i++) {
    const ch = format[i];
    if (ch === '%' && i + 1 < format.length) {
      const d = format[++i];
      if (d === '%') pattern += '%';
      else if (Object.hasOwn(STRPTIME, d)) {
        // A directive twice is a second group of that name, which Python refuses too.
        if (seen.has(d)) throw new JinjaError(`redefinition of group name '${d}' in strptime format '${format}'`);
        seen.add(d);
        pattern += STRPTIME[d];
      } else throw new JinjaError(`the strptime directive '%${d}' is not supported by pipe (in format '${format}')`);
    } else if (/\s/.test(ch)) {
      pattern += '\\s+';
      while (i + 1 < format.length && /\s/.test(format[i + 1])) i++;
    } else pattern += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const m = new RegExp(`^${pattern}`, 'i').exec(s);
  if (!m) throw new JinjaError(`time data '${s}' does not match format '${format}'`);
  if (m[0].length < s.length) throw new JinjaError(`unconverted data remains: ${s.slice(m[0].length)}`);
  const g = m.groups ?? {};
  const month = (names: string[], v: string | undefined, len?: number) => (v === undefined ? undefined : names.findIndex((n) => (len ? n.slice(0, len) : n).toLowerCase() === v.toLowerCase()) + 1);
  let year = g.Y !== undefined ? Number(g.Y) : g.y !== undefined ? (Number(g.y) < 69 ? 2000 : 1900) + Number(g.y) : 1900;
  const mon = g.m !== undefined ? Number(g.m) : (month(MONTHS, g.B) ?? month(MONTHS, g.b, 3) ?? 1);
  let day = g.d !== undefined ? Number(g.d) : 1;
  let hour = g.H !== undefined ? Number(g.H) : 0;
  if (g.I !== undefined) {
    hour = Number(g.I) % 12;
    if (g.p?.toLowerCase() === 'pm') hour += 12;
  }
  let monthOut = mon;
  if (g.j !== undefined && g.m === undefined && g.d === undefined) {
    const [y, mm, dd] = fromOrdinal(toOrdinal(year, 1, 1) + Number(g.j) - 1);
    [year, monthOut, day] = [y, mm, dd];
  }
  let tz: PyTimezone | null = null;
  if (g.z !== undefined) tz = g.z.toUpperCase() === 'Z' ? UTC : new PyTimezone(offsetMinutes(g.z));
  else if (g.Z !== undefined) tz = UTC;
  const micro = g.f !== undefined ? Number(g.f.padEnd(6, '0')) : 0;
  const second = g.S !== undefined ? Math.min(59, Number(g.S)) : 0;
  return makeDateTime([year, monthOut, day, hour, g.M !== undefined ? Number(g.M) : 0, second, micro], tz);
}

function offsetMinutes(text: string): number {
  const m = /^([+-])(\d\d):?(\d\d)(?::?(\d\d)(?:\.\d+)?)?$/.exec(text)!;
  if (m[4] !== undefined && m[4] !== '00') throw new JinjaError(`the UTC offset ${text} has seconds, which pipe does not support`);
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

const ISO = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?)?)?$/;

function fromIso(s: string, dateOnly: boolean): PyDate | PyDateTime {
  const m = ISO.exec(s);
  if (!m || (dateOnly && m[4] !== undefined)) throw new JinjaError(`Invalid isoformat string: '${s}'`);
  const [year, month, day] = checkDate(Number(m[1]), Number(m[2]), Number(m[3]));
  if (dateOnly) return new PyDate(year, month, day);
  const tz = m[8] === undefined ? null : m[8] === 'Z' ? UTC : new PyTimezone(offsetMinutes(m[8].length === 3 ? `${m[8]}:00` : m[8]));
  const micro = m[7] !== undefined ? Number(m[7].padEnd(6, '0')) : 0;
  return makeDateTime([year, month, day, Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), micro], tz);
}

// ---- the module --------------------------------------------------------------------------

function tzArgument(tz: unknown): PyTimezone | null {
  if (tz === null || tz === undefined) return null;
  if (tz instanceof PyTimezone) return tz;
  throw new JinjaError(`tz must be None or a timezone pipe knows (UTC, a fixed offset or a pytz zone), not ${typeName(tz)}`);
}

/** `modules.datetime`, reading the time from `now` (milliseconds since 1970). */
export function datetimeModule(now: () => number): Record<string, unknown> {
  const dateClass = pyCallable(
    pyFunction(signature('date', 'year month day'), (y: unknown, m: unknown, d: unknown) => new PyDate(...checkDate(y, m, d))),
    {
      today: pyFunction(signature('today', ''), () => {
        const t = PyDateTime.fromEpochMs(now(), null);
        return new PyDate(t.year, t.month, t.day);
      }),
      fromisoformat: pyFunction(signature('fromisoformat', 'date_string'), (s: unknown) => fromIso(text(s, 'fromisoformat: argument'), true)),
      fromordinal: pyFunction(signature('fromordinal', 'n'), (n: unknown) => PyDate.fromOrdinal(checkInt(n, 'ordinal'))),
      fromtimestamp: pyFunction(signature('fromtimestamp', 't'), (t: unknown) => {
        const dt = PyDateTime.fromEpochMs(Number(t) * 1000, null);
        return new PyDate(dt.year, dt.month, dt.day);
      }),
    },
    'date',
  );
  const datetimeClass = pyCallable(
    (...args: unknown[]) => {
      const [y, mo, d, h, mi, s, us, tzinfo] = bind(
        signature('datetime', 'year month day hour minute second microsecond tzinfo', { hour: 0, minute: 0, second: 0, microsecond: 0, tzinfo: null }),
        args,
      );
      return makeDateTime([y, mo, d, h, mi, s, us], tzinfo);
    },
    {
      now: pyFunction(signature('now', 'tz', { tz: null }), (tz: unknown) => PyDateTime.fromEpochMs(now(), tzArgument(tz))),
      utcnow: pyFunction(signature('utcnow', ''), () => PyDateTime.fromEpochMs(now(), null)),
      today: pyFunction(signature('today', ''), () => PyDateTime.fromEpochMs(now(), null)),
      fromisoformat: pyFunction(signature('fromisoformat', 'date_string'), (s: unknown) => {
        const v = fromIso(text(s, 'fromisoformat: argument'), false);
        return v instanceof PyDateTime ? v : new PyDateTime(v.year, v.month, v.day, 0, 0, 0, 0, null);
      }),
      strptime: pyFunction(signature('strptime', 'date_string format'), (s: unknown, f: unknown) => strptime(text(s, 'strptime() argument 1'), text(f, 'strptime() argument 2'))),
      fromtimestamp: pyFunction(signature('fromtimestamp', 't tz', { tz: null }), (t: unknown, tz: unknown) => PyDateTime.fromEpochMs(Number(t) * 1000, tzArgument(tz))),
      utcfromtimestamp: pyFunction(signature('utcfromtimestamp', 't'), (t: unknown) => PyDateTime.fromEpochMs(Number(t) * 1000, null)),
      fromordinal: pyFunction(signature('fromordinal', 'n'), (n: unknown) => {
        const d = PyDate.fromOrdinal(checkInt(n, 'ordinal'));
        return new PyDateTime(d.year, d.month, d.day, 0, 0, 0, 0, null);
      }),
      combine: pyFunction(signature('combine', 'date time'), () => {
        throw new JinjaError('datetime.combine() is not supported by pipe (modules.datetime.time is not provided): use datetime(y, m, d, h, mi, s)');
      }),
    },
    'datetime',
  );
  return { date: dateClass, datetime: datetimeClass, timedelta: timedeltaClass, timezone: timezoneClass };
}

/** `datetime.timezone(offset, name=None)` and `datetime.timezone.utc`: a fixed offset, of whole minutes in pipe. */
const timezoneClass = pyCallable(
  pyFunction(signature('timezone', 'offset name', { name: null }), (offset: unknown, name: unknown) => {
    if (!(offset instanceof Timedelta)) throw new JinjaError(`timezone() argument 1 must be datetime.timedelta, not ${typeName(offset)}`);
    if (name !== null && !isStr(name)) throw new JinjaError(`timezone() argument 2 must be str, not ${typeName(name)}`);
    const micros = offset.micros();
    if (Math.abs(micros) >= US_PER_DAY) throw new JinjaError('offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)');
    if (micros % 60_000_000 !== 0) throw new JinjaError(`a time zone offset of seconds is not supported by pipe (${offset.str()}): write it in whole minutes`);
    return new PyTimezone(micros / 60_000_000, name === null ? undefined : strOf(name));
  }),
  { utc: UTC },
  'timezone',
);

/** The date and datetime of a YAML timestamp's text (how fromyaml reads `2024-01-02`). */
export function yamlTimestamp(source: string): PyDate | PyDateTime | undefined {
  const s = source.trim();
  const date = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (date) return new PyDate(...checkDate(Number(date[1]), Number(date[2]), Number(date[3])));
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d*))?(?:[ \t]*(Z|[-+]\d{1,2}(?::\d{2})?))?$/.exec(s);
  if (!m) return undefined;
  const micro = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  let tz: PyTimezone | null = null;
  if (m[8] === 'Z') tz = UTC;
  else if (m[8]) {
    const [h, mi = '0'] = m[8].slice(1).split(':');
    const minutes = Number(h) * 60 + Number(mi);
    tz = new PyTimezone(m[8][0] === '-' ? -minutes : minutes);
  }
  return makeDateTime([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), micro], tz);
}
