import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/analyze/project-settings.js';
import { formatDate } from '../../src/dates/dates.js';
import { droppedMessage, dueRuns, fireTimes, intervalFor, nextFireTimes } from '../../src/schedule/due.js';

const nightly = (over: Partial<Schedule> = {}): Schedule => ({
  cron: '0 2 * * *',
  timezone: 'Europe/Amsterdam',
  interval: 'daily',
  catchup: false,
  maxCatchup: 30,
  maxActiveRuns: 1,
  ...over,
});
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('scheduled fire times and intervals', () => {
  it('keeps 02:00 local across the spring daylight-saving change', () => {
    const times = fireTimes(nightly(), at('2024-03-29T12:00:00Z'), at('2024-04-02T12:00:00Z')).map(iso);
    // 02:00 CET is 01:00Z; on 31 March 02:00 does not exist (clocks jump to 03:00), so that
    // day's run is at 03:00 CEST = 01:00Z; from 1 April 02:00 CEST is 00:00Z.
    expect(times).toEqual(['2024-03-30T01:00:00.000Z', '2024-03-31T01:00:00.000Z', '2024-04-01T00:00:00.000Z', '2024-04-02T00:00:00.000Z']);
    // Each run covers the local day before it fired, once.
    expect(times.map((t) => formatDate(intervalFor(nightly(), at(t)).start))).toEqual(['2024-03-29', '2024-03-30', '2024-03-31', '2024-04-01']);
    // 02:30 runs as much later as the clocks jump, at 03:30 CEST (01:30Z), as the README says.
    expect(fireTimes(nightly({ cron: '30 2 * * *' }), at('2024-03-30T12:00:00Z'), at('2024-04-01T12:00:00Z')).map(iso)).toEqual(['2024-03-31T01:30:00.000Z', '2024-04-01T00:30:00.000Z']);
  });

  it('covers a UTC day that has ended when the fire time is before the end of that day in UTC', () => {
    const covers = (s: Schedule, t: string) => formatDate(intervalFor(s, at(t)).start);
    // 00:00 on the 9th in Amsterdam is 23:00Z on the 8th: the 8th has not ended, the 7th has.
    expect(covers(nightly({ cron: '@daily' }), '2024-01-08T23:00:00Z')).toBe('2024-01-07');
    // 02:00 on the 9th at UTC+14 is 12:00Z on the 8th.
    expect(covers(nightly({ timezone: 'Pacific/Kiritimati' }), '2024-01-08T12:00:00Z')).toBe('2024-01-07');
    // West of UTC, and late enough east of it, the local day before has ended: it is covered.
    expect(covers(nightly({ timezone: 'America/New_York' }), '2024-01-09T07:00:00Z')).toBe('2024-01-08');
    expect(covers(nightly({ cron: '0 6 * * *', timezone: 'Asia/Tokyo' }), '2024-01-08T21:00:00Z')).toBe('2024-01-07');
    expect(covers(nightly({ cron: '0 10 * * *', timezone: 'Asia/Tokyo' }), '2024-01-09T01:00:00Z')).toBe('2024-01-08');
  });

  it('covers the next day at every daily fire, through a year of daylight-saving changes, each one ended by then', () => {
    const zones = ['Europe/London', 'Europe/Amsterdam', 'America/New_York', 'Australia/Sydney', 'Pacific/Kiritimati'];
    const problems: string[] = [];
    for (const timezone of zones) {
      for (const cron of ['0 0 * * *', '30 1 * * *', '45 23 * * *']) {
        const s = nightly({ cron, timezone });
        const times = fireTimes(s, at('2024-01-01T00:00:00Z'), at('2025-01-10T00:00:00Z'));
        const days = times.map((t) => intervalFor(s, t));
        days.forEach((d, i) => {
          if (d.end > times[i]) problems.push(`${timezone} ${cron} at ${iso(times[i])}: ${formatDate(d.start)} has not ended`);
          if (i > 0 && d.start - days[i - 1].start !== 86_400_000) problems.push(`${timezone} ${cron} at ${iso(times[i])}: ${formatDate(d.start)} after ${formatDate(days[i - 1].start)}`);
        });
      }
    }
    expect(problems).toEqual([]);
  });

  it('fires in UTC, under any of its names, when croner reads the zone, and at its own times in a zone that is UTC only in winter', () => {
    const patterns = ['0 2 * * *', '30 * * * *', '*/20 1-3 * * *', '0 0 L * *', '15 3 * * 0', '@daily', '@hourly', '0 2 ? * 1-5', '0 0 29 2 *'];
    // From the summer change to past the autumn one: Europe/London is UTC+1 between them.
    const [after, until] = [at('2024-03-29T00:00:00Z'), at('2024-11-02T00:00:00Z')];
    const mismatches: string[] = [];
    for (const timezone of ['UTC', 'Etc/UTC', 'GMT', 'Zulu', 'Europe/London']) {
      for (const cron of patterns) {
        // What croner gives reading the zone itself: the first fires, and those of the autumn change.
        const reader = new Cron(cron.replace('?', '*'), { timezone, paused: true });
        for (const [from, to] of [[after, until], [at('2024-10-26T00:00:00Z'), at('2024-10-28T00:00:00Z')]]) {
          const want: number[] = [];
          for (let t = reader.nextRun(new Date(from)); t && t.getTime() <= to && want.length < 30; t = reader.nextRun(t)) want.push(t.getTime());
          for (const interval of ['daily', 'hourly'] as const) {
            const s = nightly({ cron, timezone, interval });
            const got = fireTimes(s, from, want[want.length - 1] ?? to);
            // Hourly in a zone with a summer time: the repeated hour's twin (see twinsOf) is pipe's own.
            const extra = got.filter((t) => !want.includes(t));
            const missed = want.filter((t) => !got.includes(t));
            if (missed.length > 0 || (extra.length > 0 && (interval !== 'hourly' || timezone !== 'Europe/London'))) mismatches.push(`${timezone} ${interval} '${cron}': missed ${missed.map(iso).join(' ')}; extra ${extra.map(iso).join(' ')}`);
            if (timezone === 'Europe/London') continue;
            // In UTC a fire covers the UTC day, or hour, before its own.
            const covered = got.map((t) => intervalFor(s, t).start);
            const unit = interval === 'hourly' ? 3_600_000 : 86_400_000;
            const before = got.map((t) => (Math.floor(t / unit) - 1) * unit);
            if (covered.join() !== before.join()) mismatches.push(`${timezone} ${interval} '${cron}': covers ${covered.map(iso).join(' ')}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    // The same moment, read in London in summer, is an hour later than in UTC.
    expect(fireTimes(nightly({ timezone: 'Europe/London' }), at('2024-07-01T00:00:00Z'), at('2024-07-02T00:00:00Z')).map(iso)).toEqual(['2024-07-01T01:00:00.000Z']);
    expect(fireTimes(nightly({ timezone: 'Etc/UTC' }), at('2024-07-01T00:00:00Z'), at('2024-07-02T00:00:00Z')).map(iso)).toEqual(['2024-07-01T02:00:00.000Z']);
  });

  it('runs once on the autumn change although 02:30 happens twice', () => {
    const s = nightly({ cron: '30 2 * * *' });
    const times = fireTimes(s, at('2024-10-26T12:00:00Z'), at('2024-10-28T12:00:00Z'));
    expect(times).toHaveLength(2);
    expect(times.map((t) => formatDate(intervalFor(s, t).start))).toEqual(['2024-10-26', '2024-10-27']);
  });

  it('an hourly pipeline fires at both 02:00s of the autumn night, so that every UTC hour is covered once', () => {
    const s = nightly({ cron: '30 * * * *', interval: 'hourly', catchup: true });
    const times = fireTimes(s, at('2024-10-26T21:45:00Z'), at('2024-10-27T03:45:00Z'));
    // 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) both.
    expect(times.map(iso)).toEqual(['2024-10-26T22:30:00.000Z', '2024-10-26T23:30:00.000Z', '2024-10-27T00:30:00.000Z', '2024-10-27T01:30:00.000Z', '2024-10-27T02:30:00.000Z', '2024-10-27T03:30:00.000Z']);
    const hours = times.map((t) => iso(intervalFor(s, t).start));
    expect(hours).toEqual(['2024-10-26T21:00:00.000Z', '2024-10-26T22:00:00.000Z', '2024-10-26T23:00:00.000Z', '2024-10-27T00:00:00.000Z', '2024-10-27T01:00:00.000Z', '2024-10-27T02:00:00.000Z']);
    expect(nextFireTimes(s, at('2024-10-26T23:45:00Z'), 2).map(iso)).toEqual(['2024-10-27T00:30:00.000Z', '2024-10-27T01:30:00.000Z']);
    expect(dueRuns(s, at('2024-10-26T22:30:00Z'), at('2024-10-27T02:40:00Z')).due.map((d) => d.label)).toEqual(['2024-10-26T22', '2024-10-26T23', '2024-10-27T00', '2024-10-27T01']);
  });

  it('an hourly pipeline counted from within the first 02:xx of the autumn night still fires at the second 02:30', () => {
    // The scheduler last handled 02:30 CEST (00:30Z), or was asked at 02:40 CEST: croner alone passes over 02:30 CET (01:30Z).
    const s = nightly({ cron: '30 * * * *', interval: 'hourly', catchup: true });
    expect(fireTimes(s, at('2024-10-27T00:30:00Z'), at('2024-10-27T03:40:00Z')).map(iso)).toEqual(['2024-10-27T01:30:00.000Z', '2024-10-27T02:30:00.000Z', '2024-10-27T03:30:00.000Z']);
    expect(dueRuns(s, at('2024-10-27T00:30:00Z'), at('2024-10-27T03:40:00Z')).due.map((d) => d.label)).toEqual(['2024-10-27T00', '2024-10-27T01', '2024-10-27T02']);
    expect(nextFireTimes(s, at('2024-10-27T00:40:00Z'), 2).map(iso)).toEqual(['2024-10-27T01:30:00.000Z', '2024-10-27T02:30:00.000Z']);
    // A fire every minute: the repeated hour's minutes come twice, in order, each once.
    const minutely = nightly({ cron: '* * * * *', interval: 'hourly' });
    const fires = fireTimes(minutely, at('2024-10-27T00:58:00Z'), at('2024-10-27T01:02:00Z'));
    expect(fires.map(iso)).toEqual(['2024-10-27T00:59:00.000Z', '2024-10-27T01:00:00.000Z', '2024-10-27T01:01:00.000Z', '2024-10-27T01:02:00.000Z']);
  });

  it('builds the UTC day two fires in a row leave between them: a zone leaving summer time between years, or skipping a local date', () => {
    // Asia/Tehran left summer time in 2022: the fire of 2022-12-31 covers the 29th, that of 2023-01-01 the 31st.
    const tehran = nightly({ cron: '0 4 * * *', timezone: 'Asia/Tehran', catchup: true });
    const last = fireTimes(tehran, at('2022-12-30T12:00:00Z'), at('2022-12-31T12:00:00Z'))[0];
    expect(formatDate(intervalFor(tehran, last).start)).toBe('2022-12-29');
    const after = dueRuns(tehran, last, at('2023-01-02T12:00:00Z')).due;
    expect(after.map((d) => d.label)).toEqual(['2022-12-30', '2022-12-31', '2023-01-01']);
    // Each due no later than the fire that covers the day after it, and every one ended by then.
    for (const d of after) expect(d.interval.end).toBeLessThanOrEqual(d.fireAt);
    // No fire missed, catch-up off or at one: the day goes with the fire after it, never dropped.
    const next = fireTimes(tehran, at('2022-12-31T12:00:00Z'), at('2023-01-01T12:00:00Z'))[0];
    for (const over of [{ catchup: false }, { catchup: true, maxCatchup: 1 }]) {
      const onTime = dueRuns({ ...tehran, ...over }, last, next);
      expect(onTime.due.map((d) => d.label)).toEqual(['2022-12-30', '2022-12-31']);
      expect(onTime.dropped).toBeUndefined();
    }
    // Pacific/Apia skipped its 2011-12-30: no fire that day.
    const apia = nightly({ cron: '0 2 * * *', timezone: 'Pacific/Apia', catchup: true });
    const before = fireTimes(apia, at('2011-12-28T00:00:00Z'), at('2011-12-29T23:00:00Z')).at(-1)!;
    const days = [intervalFor(apia, before), ...dueRuns(apia, before, at('2012-01-02T12:00:00Z')).due.map((d) => d.interval)].map((i) => formatDate(i.start));
    const expected = Array.from({ length: days.length }, (_, i) => formatDate(Date.parse(`${days[0]}T00:00:00Z`) + i * 86_400_000));
    expect(days).toEqual(expected);
  });

  it('covers the UTC hour before the fire time for hourly pipelines', () => {
    const s = nightly({ cron: '5 * * * *', timezone: 'UTC', interval: 'hourly' });
    const i = intervalFor(s, at('2024-01-02T13:05:00Z'));
    expect([iso(i.start), iso(i.end)]).toEqual(['2024-01-02T12:00:00.000Z', '2024-01-02T13:00:00.000Z']);
  });

  it('without catch-up runs only the latest missed interval; with it, the most recent max_catchup, oldest first', () => {
    const last = at('2024-01-01T01:00:00Z');
    const now = at('2024-01-10T03:00:00Z');
    expect(dueRuns(nightly(), last, now).due.map((d) => d.label)).toEqual(['2024-01-09']);
    expect(dueRuns(nightly({ catchup: true }), last, now).due.map((d) => d.label)).toEqual([
      '2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06', '2024-01-07', '2024-01-08', '2024-01-09',
    ]);
    expect(dueRuns(nightly({ catchup: true, maxCatchup: 3 }), last, now).due.map((d) => d.label)).toEqual(['2024-01-07', '2024-01-08', '2024-01-09']);
    // Nothing new since the last handled fire time: nothing is due.
    expect(dueRuns(nightly({ catchup: true }), at('2024-01-10T01:00:00Z'), now)).toEqual({ due: [] });
    // First start: only the latest due interval.
    expect(dueRuns(nightly({ catchup: true }), undefined, now).due.map((d) => d.label)).toEqual(['2024-01-09']);
  });

  it('names the missed intervals it leaves out, and why, with the backfill that builds them', () => {
    const last = at('2024-01-01T01:00:00Z');
    const now = at('2024-01-10T03:00:00Z');
    const off = dueRuns(nightly(), last, now).dropped!;
    expect([off.count, off.first.label, off.last.label, off.reason]).toEqual([8, '2024-01-01', '2024-01-08', 'catchup is off']);
    expect(droppedMessage('nightly', off)).toBe(
      'nightly: not running 8 missed intervals (2024-01-01 … 2024-01-08): catchup is off; pipe backfill nightly --start 2024-01-01 --end 2024-01-08 builds them',
    );
    const capped = dueRuns(nightly({ catchup: true, maxCatchup: 3 }), last, now).dropped!;
    expect([capped.count, capped.first.label, capped.last.label, capped.reason]).toEqual([6, '2024-01-01', '2024-01-06', 'beyond max_catchup']);
    expect(dueRuns(nightly({ catchup: true }), last, now).dropped).toBeUndefined();
  });

  it('fires more often than its interval: each interval is due once, the one handled last and those that succeeded never missed', () => {
    const s = nightly({ cron: '0 */6 * * *', timezone: 'UTC' });
    // Handled at 00:00 (2024-01-04); the fires at 06:00 and 12:00 cover that day again.
    expect(dueRuns(s, at('2024-01-05T00:00:00Z'), at('2024-01-05T13:00:00Z'))).toEqual({ due: [] });
    // Three days later: one run of the latest day, and the two before it missed, once each.
    const later = dueRuns(s, at('2024-01-05T00:00:00Z'), at('2024-01-08T01:00:00Z'));
    expect(later.due.map((d) => d.label)).toEqual(['2024-01-07']);
    expect([later.dropped?.count, later.dropped?.first.label, later.dropped?.last.label]).toEqual([2, '2024-01-05', '2024-01-06']);
    // One of them built since by hand is not missed.
    expect(dueRuns(s, at('2024-01-05T00:00:00Z'), at('2024-01-08T01:00:00Z'), new Set(['2024-01-05'])).dropped?.count).toBe(1);
  });

  it('made hourly after a daily fire, is due from the end of the day that fire covered; made daily after hourly fires, from the day they left', () => {
    const hourly = nightly({ cron: '0 * * * *', timezone: 'UTC', interval: 'hourly', catchup: true });
    // The daily fire at 02:00 on the 5th covered the 4th: the 5th's hours from midnight are due, not only those after 02:00.
    const fromDay = dueRuns(hourly, at('2024-01-05T02:00:00Z'), at('2024-01-05T05:30:00Z'), new Set(), { start: at('2024-01-04T00:00:00Z'), end: at('2024-01-05T00:00:00Z') });
    expect(fromDay.due.map((d) => d.label)).toEqual(['2024-01-05T00', '2024-01-05T01', '2024-01-05T02', '2024-01-05T03', '2024-01-05T04']);
    // Unchanged hourly: as before, from the hour after the last.
    expect(dueRuns(hourly, at('2024-01-05T03:00:00Z'), at('2024-01-05T05:30:00Z'), new Set(), { start: at('2024-01-05T02:00:00Z'), end: at('2024-01-05T03:00:00Z') }).due.map((d) => d.label)).toEqual(['2024-01-05T03', '2024-01-05T04']);
    // Daily after the hourly fire of 05:00: the whole 5th is due at the next daily fire, not left out as begun.
    const daily = nightly({ cron: '0 2 * * *', timezone: 'UTC', catchup: true });
    expect(dueRuns(daily, at('2024-01-05T05:00:00Z'), at('2024-01-06T03:00:00Z'), new Set(), { start: at('2024-01-05T04:00:00Z'), end: at('2024-01-05T05:00:00Z') }).due.map((d) => d.label)).toEqual(['2024-01-05']);
    // Daily after hourly fires that built every hour of the 4th (the last at midnight): the 4th is not built again, nor said missed.
    const afterWholeDay = dueRuns(daily, at('2024-01-05T00:00:00Z'), at('2024-01-06T03:00:00Z'), new Set(), { start: at('2024-01-04T23:00:00Z'), end: at('2024-01-05T00:00:00Z') });
    expect(afterWholeDay.due.map((d) => d.label)).toEqual(['2024-01-05']);
    expect(dueRuns({ ...daily, catchup: false }, at('2024-01-05T00:00:00Z'), at('2024-01-06T03:00:00Z'), new Set(), { start: at('2024-01-04T23:00:00Z'), end: at('2024-01-05T00:00:00Z') }).dropped).toBeUndefined();
  });

  it("reads Quartz's ? as any value, whatever the day it is read on (croner took the day and hour of the moment)", () => {
    const mondays = nightly({ cron: '0 0 ? * MON', timezone: 'UTC' });
    expect(nextFireTimes(mondays, at('2024-03-01T00:00:00Z'), 3).map(iso)).toEqual(['2024-03-04T00:00:00.000Z', '2024-03-11T00:00:00.000Z', '2024-03-18T00:00:00.000Z']);
    expect(nextFireTimes(nightly({ cron: '15 2 ? * *', timezone: 'UTC' }), at('2024-03-01T00:00:00Z'), 2).map(iso)).toEqual(['2024-03-01T02:15:00.000Z', '2024-03-02T02:15:00.000Z']);
  });

  it('lists the next fire times', () => {
    expect(nextFireTimes(nightly({ timezone: 'UTC' }), at('2024-01-01T05:00:00Z'), 2).map(iso)).toEqual([
      '2024-01-02T02:00:00.000Z',
      '2024-01-03T02:00:00.000Z',
    ]);
  });
});
