import { describe, expect, it } from 'vitest';
import { neverFiresByCalendar } from '../../src/analyze/cron-calendar.js';

const never = (cron: string) => neverFiresByCalendar(cron.split(' '));

describe('a schedule whose days of the month no listed month has', () => {
  it('never fires, by lists, ranges, steps and month names', () => {
    for (const cron of ['0 2 31 4,6,9,11 *', '0 2 30 2 *', '0 2 31 2,4,6 *', '0 2 30-31 2 *', '0 2 31 apr-jun/2 *', '0 2 31 FEB *', '0 2 31 4 ?']) expect(never(cron), cron).toBe(true);
  });

  it('fires when some month has one of the days, on February 29, or when the weekday field widens it (cron fires on either)', () => {
    for (const cron of ['0 2 31 */2 *', '0 2 29 2 *', '0 2 30,31 2,3 *', '0 2 31 4 1', '0 2 * 2 *', '0 2 1-31 4 *', '0 2 31 * *']) expect(never(cron), cron).toBe(false);
  });

  it('leaves to croner the forms it does not read (last day, nearest weekday, nicknames)', () => {
    for (const cron of ['0 2 L 2 *', '0 2 31W 4 *', '@daily']) expect(never(cron), cron).toBe(false);
  });
});
