import { pyFunction, signature } from './args.js';
import { PyDateTime, PyTimezone, Timedelta } from './datetime.js';
import { JinjaError } from './errors.js';
import { isStr, strOf, typeName } from './values.js';

/**
 * dbt's `modules.pytz`: `pytz.utc` and `pytz.timezone(name)` for every zone of the time zone
 * database Node carries (ICU's), as pytz has them:
 *
 * - `zone.localize(naive, is_dst=False)` gives the offset the zone has at that wall time; a
 *   time that happens twice takes the standard offset (the daylight one with is_dst=True), a
 *   time skipped by a change takes the offset before the change (after it with is_dst=True);
 * - `dt.astimezone(zone)`, `zone.normalize(dt)`, `datetime.now(zone)` and
 *   `datetime.fromtimestamp(t, zone)` give the zone's offset at that instant;
 * - `datetime(..., tzinfo=zone)` and `dt.replace(tzinfo=zone)` take the zone's first offset,
 *   its local mean time (-07:53 for America/Los_Angeles), as pytz does;
 * - offsets are rounded to the minute, as pytz rounds them.
 *
 * An unknown zone is an error where it is named, as pytz's UnknownTimeZoneError is.
 */

/** pytz's UTC: datetime's UTC as it prints and compares, with pytz's localize() and normalize(). */
class PytzUtc extends PyTimezone {
  constructor() {
    super(0);
  }
  override repr(): string {
    return '<UTC>';
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'zone':
        return 'UTC';
      default:
        return zoneMethod(this, name) ?? super.getattr(name);
    }
  }
  localize(dt: PyDateTime, _isDst?: boolean): PyDateTime {
    return withZone(dt, this);
  }
}

/** A datetime's wall time with another tzinfo, as `dt.replace(tzinfo=tz)` gives it. */
function withZone(dt: PyDateTime, tz: PyTimezone): PyDateTime {
  return new PyDateTime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond, tz);
}

function aware(dt: unknown, what: string): PyDateTime {
  if (!(dt instanceof PyDateTime)) throw new JinjaError(`${what}() takes a datetime, not ${typeName(dt)}`);
  return dt;
}

/** localize() and normalize(), which pytz's UTC and its named zones share. */
function zoneMethod(zone: PytzUtc | PytzZone, name: string): unknown {
  switch (name) {
    case 'localize':
      return pyFunction(signature('localize', 'dt is_dst', { is_dst: false }), (dt: unknown, isDst: unknown) => {
        const naive = aware(dt, 'localize');
        if (naive.tz !== null) throw new JinjaError('Not naive datetime (tzinfo is already set)');
        return zone.localize(naive, isDst === true);
      });
    case 'normalize':
      return pyFunction(signature('normalize', 'dt is_dst', { is_dst: false }), (dt: unknown) => {
        const d = aware(dt, 'normalize');
        if (d.tz === null) throw new JinjaError('Naive time - no tzinfo set');
        return (d.getattr('astimezone') as (tz: unknown) => unknown)(zone);
      });
    case 'fromutc':
      return pyFunction(signature('fromutc', 'dt'), (dt: unknown) => {
        const d = aware(dt, 'fromutc');
        return (withZone(d, PYTZ_UTC).getattr('astimezone') as (tz: unknown) => unknown)(zone);
      });
    default:
      return undefined;
  }
}

const PYTZ_UTC = new PytzUtc();
const UTC_NAMES = new Set(['utc', 'etc/utc', 'universal', 'etc/universal', 'zulu', 'etc/zulu']);
const MS_PER_HOUR = 3_600_000;
/** Before this, ICU's calendar is Julian and the zones are at their local mean time anyway. */
const EARLIEST_MS = Date.UTC(1800, 0, 1);

/** One of a named zone's offsets, as a datetime carries it (pytz's per-offset tzinfo). */
class PytzOffset extends PyTimezone {
  constructor(
    readonly zone: PytzZone,
    minutes: number,
    private readonly abbreviation: string | undefined,
    /** The zone's standard offset then: this one is daylight saving time when it is larger. */
    private readonly standard: number,
  ) {
    super(minutes);
  }
  override name(): string {
    if (this.abbreviation === undefined) throw new JinjaError(`the time zone database Node carries has no abbreviation for ${this.zone.zone} at UTC${this.minutes < 0 ? '-' : '+'}${Math.abs(this.minutes)} minutes: use utcoffset() or strftime('%z')`);
    return this.abbreviation;
  }
  override str(): string {
    return this.zone.zone;
  }
  override repr(): string {
    const off = Timedelta.of(0, this.minutes * 60, 0).str();
    return `<DstTzInfo '${this.zone.zone}' ${this.abbreviation ?? ''}${off} ${this.minutes > this.standard ? 'DST' : 'STD'}>`;
  }
  override atInstant(epochMs: number): PyTimezone {
    return this.zone.atInstant(epochMs);
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'zone':
        return this.zone.zone;
      case 'localize':
      case 'normalize':
      case 'fromutc':
        return zoneMethod(this.zone, name);
      case 'dst':
        return () => Timedelta.of(0, Math.max(0, this.minutes - this.standard) * 60, 0);
      default:
        return super.getattr(name);
    }
  }
}

/** A zone of the database, e.g. `pytz.timezone('America/Los_Angeles')`: as a tzinfo, its local mean time. */
class PytzZone extends PyTimezone {
  readonly zone: string;
  private readonly offsets = new Map<string, PytzOffset>();
  private readonly lmt: PytzOffset;
  private readonly clock: Intl.DateTimeFormat;

  constructor(zone: string) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      timeZoneName: 'short',
    });
    const first = PytzZone.read(format, EARLIEST_MS);
    super(first.minutes);
    this.zone = zone;
    this.clock = format;
    this.lmt = new PytzOffset(this, first.minutes, 'LMT', first.minutes);
  }

  /** The offset (rounded to the minute, as pytz rounds) and the abbreviation at an instant. */
  private static read(format: Intl.DateTimeFormat, epochMs: number): { minutes: number; abbreviation: string | undefined } {
    const ms = Math.floor(Math.max(epochMs, EARLIEST_MS) / 1000) * 1000;
    const part: Record<string, string> = {};
    for (const p of format.formatToParts(new Date(ms))) part[p.type] = p.value;
    const wall = Date.UTC(Number(part.year), Number(part.month) - 1, Number(part.day), Number(part.hour), Number(part.minute), Number(part.second));
    const seconds = (wall - ms) / 1000;
    const name = part.timeZoneName ?? '';
    return { minutes: Math.floor((seconds + 30) / 60), abbreviation: /^GMT([+-]|$)/.test(name) && seconds !== 0 ? undefined : name };
  }

  private offset(minutes: number, abbreviation: string | undefined, epochMs: number): PytzOffset {
    if (abbreviation === undefined && minutes === this.lmt.minutes) return this.lmt;
    const key = `${minutes} ${abbreviation}`;
    let o = this.offsets.get(key);
    if (o === undefined) {
      o = new PytzOffset(this, minutes, abbreviation, this.standardAround(epochMs));
      this.offsets.set(key, o);
    }
    return o;
  }

  /** The standard offset of the year around an instant: the smaller of January's and July's. */
  private standardAround(epochMs: number): number {
    const year = new Date(Math.max(epochMs, EARLIEST_MS)).getUTCFullYear();
    return Math.min(PytzZone.read(this.clock, Date.UTC(year, 0, 1)).minutes, PytzZone.read(this.clock, Date.UTC(year, 6, 1)).minutes);
  }

  override atInstant(epochMs: number): PytzOffset {
    const { minutes, abbreviation } = PytzZone.read(this.clock, epochMs);
    return this.offset(minutes, abbreviation, epochMs);
  }

  /** pytz's localize(): the offsets a day either side are the candidates; see the module's comment. */
  localize(dt: PyDateTime, isDst: boolean): PyDateTime {
    const wallMs = dt.epochSeconds() * 1000;
    const fits = new Map<number, PytzOffset>();
    for (const side of [-24, 24]) {
      const candidate = this.atInstant(wallMs + side * MS_PER_HOUR);
      const at = this.atInstant(wallMs - candidate.minutes * 60_000);
      if (at.minutes === candidate.minutes) fits.set(at.minutes, at);
    }
    if (fits.size === 0) {
      // A wall time the zone skips: pytz takes the offset of six hours before it (after, with is_dst).
      const shifted = this.atInstant(wallMs + (isDst ? 6 : -6) * MS_PER_HOUR - this.atInstant(wallMs).minutes * 60_000);
      return withZone(dt, shifted);
    }
    const [first, ...rest] = [...fits.values()].sort((a, b) => a.minutes - b.minutes);
    return withZone(dt, rest.length === 0 ? first : isDst ? rest[rest.length - 1] : first);
  }

  override name(): string {
    return this.lmt.name();
  }
  override str(): string {
    return this.zone;
  }
  override repr(): string {
    return this.lmt.repr();
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'zone':
        return this.zone;
      case 'utcoffset':
        return pyFunction(signature('utcoffset', 'dt is_dst', { is_dst: false }), (dt: unknown, isDst: unknown) => {
          if (dt === null) return null;
          const d = aware(dt, 'utcoffset');
          const local = d.tz === null ? this.localize(d, isDst === true) : d;
          return Timedelta.of(0, (local.tz?.minutes ?? 0) * 60, 0);
        });
      default:
        return zoneMethod(this, name) ?? super.getattr(name);
    }
  }
}

const zones = new Map<string, PytzZone>();

function zoneNamed(name: string): PytzZone {
  const key = name.toLowerCase();
  let zone = zones.get(key);
  if (zone === undefined) {
    try {
      zone = new PytzZone(name);
    } catch {
      throw new JinjaError(`modules.pytz.timezone('${name}'): unknown time zone (UnknownTimeZoneError); zones are named as in the time zone database, e.g. 'America/Los_Angeles'`);
    }
    zones.set(key, zone);
  }
  return zone;
}

export function pytzModule(): Record<string, unknown> {
  return {
    utc: PYTZ_UTC,
    UTC: PYTZ_UTC,
    timezone: pyFunction(signature('timezone', 'zone'), (zone: unknown) => {
      if (!isStr(zone)) throw new JinjaError(`pytz.timezone() takes a zone's name, not ${typeName(zone)}`);
      const name = strOf(zone);
      return UTC_NAMES.has(name.toLowerCase()) ? PYTZ_UTC : zoneNamed(name);
    }),
  };
}
