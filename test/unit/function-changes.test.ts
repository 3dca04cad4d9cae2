import { describe, expect, it } from 'vitest';
import { mayChangeFunctions, mayMakeMacros } from '../../src/warehouse/duckdb/function-changes.js';

/** Which statements make the sessions of an instance ask DuckDB for its functions again. */
describe('statements that may change the functions DuckDB finds', () => {
  it.each([
    'CREATE MACRO upper(x) AS 42',
    'create or replace temp macro m(a) as table select a',
    'CREATE TEMPORARY FUNCTION f(x) AS x + 1',
    'CREATE /* made by the hook */ MACRO abs(x) AS 1',
    'create -- a note\n  macro abs(x) as 1',
    "select '--'; create macro upper(x) as 1",
    "IMPORT DATABASE 'exported'",
    "ATTACH 'other.duckdb' AS other",
    'DETACH other',
    'USE other',
    'select 1;\nuse other.main',
    "SET search_path = 'other,main'",
    "SET schema = 'other'",
    'LOAD spatial',
    "-- the extension\nINSTALL 'httpfs'",
    'FORCE INSTALL spatial',
    'DROP MACRO twice',
    'drop macro table recent(n)',
    'DROP FUNCTION IF EXISTS f',
    'DROP SCHEMA analytics CASCADE',
    // A glob in a string (no comment opens there) before a comment between the words.
    "create or replace table main.landing as select * from read_csv('data/*.csv');\ncreate or replace /* v2 */ macro upper(x) as 'X';",
    "select * from read_parquet('s3://b/*.parquet'); drop /* old helper */ macro upper",
  ])('%s', (sql) => {
    expect(mayChangeFunctions(sql)).toBe(true);
  });

  it.each([
    'CREATE OR REPLACE TABLE "main"."orders" AS select sum(x) over w as running -- a window function\nfrom t',
    '-- we use the latest rows, and load them once\nselect * from "main"."stg"',
    'CREATE TEMP VIEW "daily" AS select 1',
    'BEGIN TRANSACTION;\nCREATE SCHEMA IF NOT EXISTS "main";\nINSERT INTO _pipe.runs VALUES (1)',
    "SELECT lower(function_name) AS name FROM duckdb_functions() GROUP BY 1",
    'select reused, loaded_at, attached_to from t',
    'BEGIN TRANSACTION; DROP TABLE IF EXISTS "main"."orders"; ALTER TABLE "main"."stage" RENAME TO "orders"',
    'DROP VIEW IF EXISTS "main"."daily"',
  ])('not: %s', (sql) => {
    expect(mayChangeFunctions(sql)).toBe(false);
  });
});

describe('statements read loosely as making or dropping macros (nothing is kept for the next process)', () => {
  it.each(['create or replace table t as select 1 -- a macro comes later', "CREATE MACRO m(x) AS x", "drop table t; select 'function'"])('%s', (sql) => {
    expect(mayMakeMacros(sql)).toBe(true);
  });
  it.each(['CREATE OR REPLACE TABLE "main"."orders" AS select 1', "select lower(function_name) from duckdb_functions()", 'select 1 -- a macro'])('not: %s', (sql) => {
    expect(mayMakeMacros(sql)).toBe(false);
  });
});
