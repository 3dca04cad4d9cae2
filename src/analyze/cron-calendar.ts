/**
 * Whether a cron schedule's day-of-month and month fields can ever meet, read from the fields
 * alone. croner looks for a schedule's next fire by searching years ahead, one call inside the
 * other: for a day no listed month has (`0 2 31 4,6,9,11 *`) it searches until the stack is
 * gone, so such a schedule is told apart before croner is asked.
 */

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** The most days each month has (February's 29, in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The values a cron field of numbers lists, within [min, max]; undefined for a form read otherwise (L, W, #, ?, names of days). */
function fieldValues(field: string, min: number, max: number, names: readonly string[] = []): Set<number> | undefined {
  const out = new Set<number>();
  const value = (text: string): number | undefined => {
    const named = names.indexOf(text.toLowerCase());
    if (named >= 0) return named + min;
    return /^\d+$/.test(text) ? Number(text) : undefined;
  };
  for (const part of field.split(',')) {
    const m = /^(\*|([^-/]+)(?:-([^/]+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    const step = m[4] === undefined ? 1 : Number(m[4]);
    const from = m[1] === '*' ? min : value(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? value(m[3]) : m[4] !== undefined ? max : from;
    if (from === undefined || to === undefined || step < 1) return undefined;
    for (let v = from; v <= to; v += step) if (v >= min && v <= max) out.add(v);
  }
  return out;
}

/**
 * True when the five fields can never fire: the days of the month they list fall in none of
 * the months they list, and the day of the week does not widen them (cron fires on either
 * field when both are restricted). False when they can, or when the fields are of a form not
 * read here (croner decides those).
 */
export function neverFiresByCalendar(fields: readonly string[]): boolean {
  if (fields.length !== 5) return false;
  const [, , dayOfMonth, month, dayOfWeek] = fields;
  if (dayOfWeek !== '*' && dayOfWeek !== '?') return false;
  const days = fieldValues(dayOfMonth, 1, 31);
  const months = fieldValues(month, 1, 12, MONTH_NAMES);
  if (days === undefined || months === undefined || days.size === 0 || months.size === 0) return false;
  const earliest = Math.min(...days);
  return [...months].every((m) => MONTH_DAYS[m - 1] < earliest);
}

/**
 * The pattern croner is given for a schedule: `?` (Quartz's "no specific value", in the day
 * fields) read as `*`. croner takes `?` for the value of the moment it is read (the minute, hour
 * or day the scheduler started), so a schedule's fires would change with the day it started.
 */
export function cronPattern(expr: string): string {
  const text = expr.trim();
  if (text.startsWith('@')) return text;
  return text
    .split(/\s+/)
    .map((f) => (f === '?' ? '*' : f))
    .join(' ');
}
