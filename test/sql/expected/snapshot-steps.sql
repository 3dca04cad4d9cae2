-- statement
CREATE OR REPLACE TEMP TABLE "__pipe_stage__orders_snap__20240102" AS
select * from "main"."orders";

-- assert-empty: rows of the snapshot's query with a NULL unique_key (id); such a row matches none in the snapshot, so every run would record it again
SELECT * FROM "temp"."main"."__pipe_stage__orders_snap__20240102" WHERE ("id") IS NULL LIMIT 5;
-- count
SELECT count(*) AS n FROM "temp"."main"."__pipe_stage__orders_snap__20240102" WHERE ("id") IS NULL;

-- assert-empty: unique_key values (id) held by more than one row of the snapshot's query; each of those rows that is new or changed would become a current row of the snapshot: make the key unique, or the query return one row per key
SELECT "id", count(*) AS "rows" FROM "temp"."main"."__pipe_stage__orders_snap__20240102" GROUP BY "id" HAVING count(*) > 1 ORDER BY 1 LIMIT 5;
-- count
SELECT count(*) AS n FROM (SELECT 1 FROM "temp"."main"."__pipe_stage__orders_snap__20240102" GROUP BY "id" HAVING count(*) > 1);

-- snapshot: from the columns of "temp"."main"."__pipe_stage__orders_snap__20240102" and "main"."orders_snap", the table is created, or the changes staged in "temp"."main"."__pipe_stage__orders_snap__20240102__changes" and applied (the statements open the publishing transaction)

-- publish, one transaction
BEGIN TRANSACTION;

COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__orders_snap__20240102";

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__orders_snap__20240102__changes";
