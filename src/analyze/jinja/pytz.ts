import { pyFunction, signature } from './args.js';
import { PyDateTime, PyTimezone } from './datetime.js';
import { JinjaError } from './errors.js';
import { isStr, strOf, typeName } from './values.js';

/**
 * dbt's `modules.pytz`, for the one zone pipe renders in: UTC (`pytz.utc`,
 * `pytz.timezone('UTC')`), as projects write `run_started_at.astimezone(modules.pytz.timezone('UTC'))`.
 * Any other zone is an error where it is asked for: pipe has no time zone database, and a
 * different value would be worse than none.
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
      case 'localize':
        return pyFunction(signature('localize', 'dt is_dst', { is_dst: false }), (dt: unknown) => {
          if (!(dt instanceof PyDateTime)) throw new JinjaError(`localize() takes a datetime, not ${typeName(dt)}`);
          if (dt.getattr('tzinfo') !== null) throw new JinjaError('Not naive datetime (tzinfo is already set)');
          // A naive time is a UTC time in pipe: in UTC, it is the same wall time.
          return (dt.getattr('astimezone') as (tz: unknown) => unknown)(this);
        });
      case 'normalize':
        return pyFunction(signature('normalize', 'dt'), (dt: unknown) => {
          if (!(dt instanceof PyDateTime)) throw new JinjaError(`normalize() takes a datetime, not ${typeName(dt)}`);
          return (dt.getattr('astimezone') as (tz: unknown) => unknown)(this);
        });
      default:
        return super.getattr(name);
    }
  }
}

const PYTZ_UTC = new PytzUtc();
const UTC_NAMES = new Set(['utc', 'etc/utc', 'universal', 'etc/universal', 'zulu', 'etc/zulu']);

export function pytzModule(): Record<string, unknown> {
  return {
    utc: PYTZ_UTC,
    UTC: PYTZ_UTC,
    timezone: pyFunction(signature('timezone', 'zone'), (zone: unknown) => {
      if (!isStr(zone)) throw new JinjaError(`pytz.timezone() takes a zone's name, not ${typeName(zone)}`);
      if (UTC_NAMES.has(strOf(zone).toLowerCase())) return PYTZ_UTC;
      throw new JinjaError(`modules.pytz.timezone('${strOf(zone)}'): pipe has no time zone database and renders in UTC; only 'UTC' is known`);
    }),
  };
}
