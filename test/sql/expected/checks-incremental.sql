-- statement (counts rows)
CREATE OR REPLACE TEMP TABLE "__pipe_stage__inc__20240102" AS

select '2024-01-02'::DATE as d, 1 as id;

-- assert-empty: rows outside the run's interval [2024-01-02 00:00:00, 2024-01-03 00:00:00) by d (or with d NULL); an incremental model returns the rows of its interval only, e.g. where d >= '{{ interval_start }}' and d < '{{ interval_end }}'
SELECT * FROM "temp"."main"."__pipe_stage__inc__20240102" WHERE "d" IS NULL OR NOT (CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00') LIMIT 5;
-- count
SELECT count(*) AS n FROM "temp"."main"."__pipe_stage__inc__20240102" WHERE "d" IS NULL OR NOT (CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00');

-- schema change: the columns of "temp"."main"."__pipe_stage__inc__20240102" against "main"."inc"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- columns of "temp"."main"."__pipe_stage__inc__20240102": id, id

-- check not_null(id) (error)
SELECT * FROM "temp"."main"."__pipe_stage__inc__20240102" WHERE "id" IS NULL;

-- publish, one transaction (rows from statement 3)
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "main"."inc" AS SELECT * FROM "temp"."main"."__pipe_stage__inc__20240102" LIMIT 0;
DELETE FROM "main"."inc" WHERE CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00';
INSERT INTO "main"."inc" BY NAME SELECT * FROM "temp"."main"."__pipe_stage__inc__20240102";
DROP TABLE "temp"."main"."__pipe_stage__inc__20240102";
-- check unique(id) (error), before the commit
SELECT "id", count(*) AS duplicates FROM "main"."inc" WHERE "id" IS NOT NULL GROUP BY "id" HAVING count(*) > 1;
-- check row_count(max 10) (error), before the commit
SELECT count(*) AS row_count FROM "main"."inc" HAVING NOT (count(*) <= 10);
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__inc__20240102";
