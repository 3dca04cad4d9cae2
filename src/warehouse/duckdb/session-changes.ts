import { withoutComments } from '../../sql/sql-text.js';

/**
 * Statements that change a DuckDB connection's own state rather than the data: the settings
 * of its session (SET, RESET, PRAGMA), its default database or schema (USE), what it has
 * attached. pipe sets each connection up in UTC, on the warehouse's own database, with the
 * project's settings; a hook or a statement a template runs may change that, and the next
 * task to borrow the connection would run under it: it is closed once given back instead.
 *
 * It reads words, not a parse, and errs on the side of yes: a statement that only mentions one
 * in a string costs a new connection.
 */
const AT_START = /^\s*(?:use|set|reset|pragma|attach|detach)\b/i;
const ANYWHERE = /(?:^|;)\s*(?:use|set|reset|pragma|attach|detach)\b/i;

export function mayChangeSession(sql: string): boolean {
  // Nearly every statement a run sends is one query: its start decides, without a scan; a
  // comment before a statement (or between two) is read past.
  if (AT_START.test(sql)) return true;
  const commented = sql.includes('--') || sql.includes('/*');
  if (!commented && !sql.includes(';')) return false;
  return ANYWHERE.test(commented ? withoutComments(sql) : sql);
}

/** Why the calendar is kept as DuckDB sets it (Gregorian), said by each place that refuses a change of it. */
export const CALENDAR_KEPT = "pipe keeps it as DuckDB sets it (gregorian) so that a date or timestamp literal reads as the same instant in every task: another calendar reads '2024-01-02' in its own years, and a model filtered on its interval would silently build no rows";

/** A setting pipe keeps, which a hook or a template's statement may not change. */
export type PinnedSetting = 'TimeZone' | 'Calendar' | 'USE' | 'disabled_optimizers';

/**
 * What of the session pipe keeps that a statement changes, as its words say: its time zone
 * (SET TimeZone, in which DuckDB reads a TIMESTAMPTZ as a TIMESTAMP and so places rows in
 * dates) or its default database (USE, under which pipe's two-part names would name another
 * database's tables); undefined for neither.
 */
export function pinnedSessionChange(sql: string): PinnedSetting | undefined {
  if (!mayChangeSession(sql)) return undefined;
  const bare = withoutComments(sql);
  // The optimizers pipe turns off for results DuckDB gets wrong (see optimizer-guard.ts): a global setting, set for every later task too.
  if (/(?:^|;)\s*(?:set|reset)\s+(?:(?:session|global|local)\s+)?"?disabled_optimizers\b/i.test(bare) || /(?:^|;)\s*pragma\s+"?disabled_optimizers\b/i.test(bare)) return 'disabled_optimizers';
  // SET TimeZone, SET SESSION "timezone", and the SQL standard's SET TIME ZONE.
  if (/(?:^|;)\s*(?:set|reset)\s+(?:(?:session|global|local)\s+)?(?:"?timezone\b|time\s+zone\b)/i.test(bare) || /(?:^|;)\s*pragma\s+"?timezone\b/i.test(bare)) return 'TimeZone';
  // ICU's calendar, in which a timestamp literal reads as another year ('2024-01-02' as 4042 in the Japanese one).
  if (/(?:^|;)\s*(?:set|reset)\s+(?:(?:session|global|local)\s+)?"?calendar\b/i.test(bare) || /(?:^|;)\s*pragma\s+"?calendar\b/i.test(bare)) return 'Calendar';
  if (/(?:^|;)\s*use\s/i.test(bare)) return 'USE';
  return undefined;
}
