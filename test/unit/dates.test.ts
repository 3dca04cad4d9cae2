import { afterEach, describe, expect, it } from 'vitest';
import {
  DAY_MS,
  HOUR_MS,
  DATE_VARIABLE_NAMES,
  dateVariables,
  dayInterval,
  daysBetween,
  defaultRunDate,
  formatDate,
  formatTimestamp,
  hourInterval,
  intervalLabel,
  parseDate,
  parseInstant,
  pipeNowProblem,
  systemClock,
} from '../../src/dates/dates.js';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { resolveInterval } from '../../src/commands/context.js';
import { runInterval } from '../../src/commands/run.js';

const utc = (iso: string) => Date.parse(iso);

describe('parseDate', () => {
  it('parses a calendar date to UTC midnight', () => {
    expect(parseDate('2024-01-02')).toBe(utc('2024-01-02T00:00:00Z'));
    expect(parseDate(' 2024-01-02 ')).toBe(utc('2024-01-02T00:00:00Z'));
    expect(parseDate('2024-02-29')).toBe(utc('2024-02-29T00:00:00Z'));
  });

  it.each(['2024-02-30', '2023-02-29', '2024-13-01', '2024-00-10', '2024-01-00', '2024-04-31', '2024-1-2', '24-01-02', '2024/01/02', '2024-01-02T00:00', 'yesterday', '', '9999-12-31', '0024-01-02', '0099-12-31'])(
    'rejects %j',
    (text) => {
      expect(parseDate(text)).toBeUndefined();
    },
  );

  it('round-trips through formatDate', () => {
    for (const d of ['0100-01-01', '1999-12-31', '2000-02-29', '2024-12-31', '2100-03-01', '9999-12-30']) expect(formatDate(parseDate(d)!)).toBe(d);
  });
});

describe('intervals', () => {
  it('makes half-open day and hour intervals', () => {
    const day = dayInterval(parseDate('2024-01-02')!);
    expect(day).toEqual({ start: utc('2024-01-02T00:00:00Z'), end: utc('2024-01-03T00:00:00Z') });
    expect(day.end - day.start).toBe(DAY_MS);
    const hour = hourInterval(utc('2024-01-02T13:00:00Z'));
    expect(hour).toEqual({ start: utc('2024-01-02T13:00:00Z'), end: utc('2024-01-02T14:00:00Z') });
    expect(hour.end - hour.start).toBe(HOUR_MS);
  });

  it('lists every day of an inclusive range, oldest first, across month and leap-day boundaries', () => {
    const days = daysBetween(parseDate('2024-02-27')!, parseDate('2024-03-02')!);
    expect(days.map((i) => formatDate(i.start))).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02']);
    // Consecutive intervals meet exactly: no gap, no overlap.
    for (let i = 1; i < days.length; i++) expect(days[i].start).toBe(days[i - 1].end);
  });

  it('gives one day for a one-day range and none for a reversed range', () => {
    const d = parseDate('2024-01-02')!;
    expect(daysBetween(d, d)).toEqual([dayInterval(d)]);
    expect(daysBetween(d, d - DAY_MS)).toEqual([]);
  });

  it('labels a day by its date and an hour by date and hour', () => {
    expect(intervalLabel(dayInterval(parseDate('2024-01-02')!))).toBe('2024-01-02');
    expect(intervalLabel(hourInterval(utc('2024-01-02T13:00:00Z')))).toBe('2024-01-02T13');
    expect(intervalLabel(hourInterval(utc('2024-01-02T00:00:00Z')))).toBe('2024-01-02T00');
  });
});

describe('dateVariables', () => {
  it('makes the variables of an interval once while it is the one asked for, and never lets them change', () => {
    const day = dayInterval(parseDate('2024-01-02')!);
    const first = dateVariables(day);
    expect(dateVariables({ ...day })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(dateVariables(dayInterval(parseDate('2024-01-03')!)).ds).toBe('2024-01-03');
    expect(dateVariables(day)).toEqual(first);
  });

  it('gives the template variables of a day', () => {
    // No hour: a day's run covers all of them.
    expect(dateVariables(dayInterval(parseDate('2024-01-02')!))).toEqual({
      ds: '2024-01-02',
      ds_nodash: '20240102',
      prev_ds: '2024-01-01',
      next_ds: '2024-01-03',
      interval_start: '2024-01-02',
      interval_end: '2024-01-03',
    });
  });

  it('crosses year, month and leap-day boundaries', () => {
    const v = (d: string) => dateVariables(dayInterval(parseDate(d)!));
    expect([v('2024-01-01').prev_ds, v('2024-01-01').next_ds]).toEqual(['2023-12-31', '2024-01-02']);
    expect([v('2023-12-31').next_ds, v('2023-12-31').interval_end]).toEqual(['2024-01-01', '2024-01-01']);
    expect(v('2024-02-28').next_ds).toBe('2024-02-29');
    expect(v('2023-02-28').next_ds).toBe('2023-03-01');
    expect(v('2024-03-01').prev_ds).toBe('2024-02-29');
  });

  it('gives timestamps for the bounds of an hourly interval', () => {
    expect(dateVariables(hourInterval(utc('2024-01-02T13:00:00Z')))).toEqual({
      ds: '2024-01-02',
      hour: '13',
      ds_nodash: '20240102',
      prev_ds: '2024-01-01',
      next_ds: '2024-01-03',
      interval_start: '2024-01-02 13:00:00',
      interval_end: '2024-01-02 14:00:00',
    });
    // The last hour of a day ends at the next midnight, still as a timestamp.
    const last = dateVariables(hourInterval(utc('2024-01-02T23:00:00Z')));
    expect([last.ds, last.hour, last.interval_start, last.interval_end]).toEqual(['2024-01-02', '23', '2024-01-02 23:00:00', '2024-01-03 00:00:00']);
    // The first hour of a day has its hour, '00'.
    expect(dateVariables(hourInterval(utc('2024-01-02T00:00:00Z'))).hour).toBe('00');
    expect([...DATE_VARIABLE_NAMES].sort()).toEqual(Object.keys(dateVariables(hourInterval(utc('2024-01-02T00:00:00Z')))).sort());
  });

  it('formats timestamps without milliseconds or zone', () => {
    expect(formatTimestamp(utc('2024-01-02T03:04:05.678Z'))).toBe('2024-01-02 03:04:05');
  });
});

describe('the clock', () => {
  const saved = process.env.PIPE_NOW;
  afterEach(() => {
    if (saved === undefined) delete process.env.PIPE_NOW;
    else process.env.PIPE_NOW = saved;
  });

  it('takes "now" from PIPE_NOW when set', () => {
    process.env.PIPE_NOW = '2024-01-05T03:00:00Z';
    expect(systemClock.now()).toBe(utc('2024-01-05T03:00:00Z'));
    process.env.PIPE_NOW = '2024-01-05T03:00:00+02:00';
    expect(systemClock.now()).toBe(utc('2024-01-05T01:00:00Z'));
  });

  it('reads a PIPE_NOW without an offset as UTC, whatever the machine\'s time zone', () => {
    const tz = process.env.TZ;
    process.env.PIPE_NOW = '2024-01-05T22:00:00';
    try {
      // Node reads TZ as it changes: the machine's zone, as a user's shell would set it.
      process.env.TZ = 'America/New_York';
      expect(new Date(2024, 0, 5).getTimezoneOffset()).toBe(300);
      expect(systemClock.now()).toBe(utc('2024-01-05T22:00:00Z'));
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    const instants: [string, string][] = [
      ['2024-01-05', '2024-01-05T00:00:00.000Z'],
      ['2024-01-05 22:30', '2024-01-05T22:30:00.000Z'],
      ['2024-01-05T22:00:00.25', '2024-01-05T22:00:00.250Z'],
      ['2024-01-06T03:30:00+05:30', '2024-01-05T22:00:00.000Z'],
      ['2024-01-05T17:00:00-0500', '2024-01-05T22:00:00.000Z'],
    ];
    for (const [text, iso] of instants) expect(new Date(parseInstant(text)!).toISOString(), text).toBe(iso);
  });

  it('refuses a PIPE_NOW that is not a time, rather than using the real time', () => {
    for (const text of ['bogus', '2024-02-30T00:00:00Z', '2024-01-05T24:00:00Z', '2024-01-05T22:00:00+25:00', '05/01/2024', '1704492000']) {
      expect(parseInstant(text), text).toBeUndefined();
    }
    process.env.PIPE_NOW = 'bogus';
    expect(pipeNowProblem()).toBe("PIPE_NOW='bogus' is not a time pipe reads: write an ISO timestamp such as 2024-01-08T03:00:00Z (without an offset, it is UTC), or unset it");
    // Its day before is the default date, which must be one a --date can name.
    expect(pipeNowProblem('0100-01-01T00:30:00Z')).toBe("PIPE_NOW='0100-01-01T00:30:00Z' is out of range: the day before it, the default date, must be from 0100-01-01 to 9999-12-30");
    expect(pipeNowProblem('0100-01-02T00:00:00Z')).toBeUndefined();
    expect(pipeNowProblem('9999-12-30T12:00:00Z')).toBeUndefined();
    expect(() => systemClock.now()).toThrow(DiagnosticError);
    delete process.env.PIPE_NOW;
    expect(pipeNowProblem()).toBeUndefined();
  });

  it('defaults the run date to yesterday in UTC, at any time of day', () => {
    const at = (iso: string) => formatDate(defaultRunDate({ now: () => utc(iso) }));
    expect(at('2024-01-05T00:00:00Z')).toBe('2024-01-04');
    expect(at('2024-01-05T23:59:59.999Z')).toBe('2024-01-04');
    expect(at('2024-03-01T12:00:00Z')).toBe('2024-02-29');
    expect(at('2024-01-01T06:00:00Z')).toBe('2023-12-31');
    // Before 1970 too: the day holding an instant of a negative epoch is the one before zero's side.
    expect(at('1969-06-15T12:30:00Z')).toBe('1969-06-14');
    expect(at('1969-12-31T23:59:59.999Z')).toBe('1969-12-30');
    expect(at('1900-03-01T00:00:00Z')).toBe('1900-02-28');
  });

  it("defaults an hourly pipeline's run to the previous full hour, before 1970 too", () => {
    const hourly = { schedule: { interval: 'hourly' } } as unknown as Parameters<typeof runInterval>[1];
    const at = (iso: string) => intervalLabel(runInterval({ clock: { now: () => utc(iso) } }, hourly).interval);
    expect(at('2024-06-15T12:30:00Z')).toBe('2024-06-15T11');
    expect(at('1969-06-15T12:30:00Z')).toBe('1969-06-15T11');
    expect(at('1969-12-31T23:59:59.999Z')).toBe('1969-12-31T22');
    expect(at('1970-01-01T00:00:00Z')).toBe('1969-12-31T23');
  });

  it('uses PIPE_NOW for the default date of a command', () => {
    process.env.PIPE_NOW = '2024-01-08T03:00:00Z';
    const { interval, isDefault } = resolveInterval(undefined);
    expect(isDefault).toBe(true);
    expect(interval).toEqual(dayInterval(parseDate('2024-01-07')!));
  });

  it('resolves an explicit --date, and rejects a bad one with a diagnostic', () => {
    expect(resolveInterval('2024-02-29')).toEqual({ interval: dayInterval(parseDate('2024-02-29')!), isDefault: false });
    let thrown: unknown;
    try {
      resolveInterval('2024-02-30');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DiagnosticError);
    expect((thrown as DiagnosticError).diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['bad-date', "invalid --date '2024-02-30': expected a calendar date as YYYY-MM-DD, from 0100-01-01 to 9999-12-30"],
    ]);
  });
});
