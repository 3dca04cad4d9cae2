import { describe, expect, it } from 'vitest';
import { mayChangeSession, pinnedSessionChange } from '../../src/warehouse/duckdb/session-changes.js';

/** Which statements make a connection unfit to lend to another task, and which a hook may not run. */
describe('statements that may change a DuckDB session', () => {
  it.each([
    ["SET TimeZone = 'Asia/Tokyo'", 'TimeZone'],
    ["set global timezone='UTC'", 'TimeZone'],
    ["SET SESSION \"TimeZone\" = 'UTC'", 'TimeZone'],
    ['reset timezone', 'TimeZone'],
    // After a comment, and in the SQL standard's words.
    ["/* local */ SET TimeZone='America/New_York'", 'TimeZone'],
    ["-- note\nSET TimeZone='America/New_York'", 'TimeZone'],
    ["set time zone 'America/New_York'", 'TimeZone'],
    ["SET SESSION TIME  ZONE 'Asia/Kolkata'", 'TimeZone'],
    ["/* first */ select 1; /* then */ use other", 'USE'],
    ["insert into audit values (1);\n  set timezone = 'Europe/Paris'", 'TimeZone'],
    // A glob in a string before it opens no comment that would hide the statement.
    ["create table t as select * from read_csv('data/*.csv'); set /* v2 */ timezone = 'Asia/Tokyo'", 'TimeZone'],
    ['USE other', 'USE'],
    ["attach ':memory:' as other; use other", 'USE'],
    ["SET search_path = 'other'", undefined],
    ['set threads = 2', undefined],
    ['PRAGMA enable_profiling', undefined],
  ] as const)('%s', (sql, pinned) => {
    expect(mayChangeSession(sql)).toBe(true);
    expect(pinnedSessionChange(sql)).toBe(pinned);
  });

  it.each([
    'CREATE OR REPLACE TABLE "main"."orders" AS select 1 as id',
    'UPDATE "main"."snap" AS s\nSET "valid_to" = c."valid_to" FROM c',
    "select 'set timezone' as words",
    "select 1 as x; -- then we use the result",
    'BEGIN TRANSACTION;\nDELETE FROM "main"."t" WHERE true;\nINSERT INTO "main"."t" SELECT 1',
  ])('%s', (sql) => {
    expect(mayChangeSession(sql)).toBe(false);
    expect(pinnedSessionChange(sql)).toBeUndefined();
  });
});
