-- statement (counts rows)
CREATE OR REPLACE TEMP TABLE "__pipe_stage__fct_orders__20240102" AS
select order_id, status, updated_at
from "main"."stg_order_updates"
where updated_at >= '2024-01-02';

-- assert-empty: staged rows with unique_key (order_id) NULL: NULL matches no row, so every re-run would insert them again; leave them out of the query or give them a key
SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102" WHERE "order_id" IS NULL LIMIT 5;
-- count
SELECT count(*) AS n FROM "temp"."main"."__pipe_stage__fct_orders__20240102" WHERE "order_id" IS NULL;

-- assert-empty: values of unique_key (order_id) that more than one staged row has: a merge updates a row with one of them chosen by chance; make the query return one row per key, or use incremental_strategy 'delete+insert', which keeps them all
SELECT "order_id", count(*) AS staged_rows FROM "temp"."main"."__pipe_stage__fct_orders__20240102" GROUP BY "order_id" HAVING count(*) > 1 ORDER BY "order_id" LIMIT 5;
-- count
SELECT count(*) AS n FROM (SELECT "order_id", count(*) AS staged_rows FROM "temp"."main"."__pipe_stage__fct_orders__20240102" GROUP BY "order_id" HAVING count(*) > 1) AS shared;

-- schema change: the columns of "temp"."main"."__pipe_stage__fct_orders__20240102" against "main"."fct_orders"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- publish, one transaction (rows from statement 2)
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "main"."fct_orders" AS SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102" LIMIT 0;
MERGE INTO "main"."fct_orders" AS "__pipe_target" USING "temp"."main"."__pipe_stage__fct_orders__20240102" AS "__pipe_staged" ON ("__pipe_staged"."order_id" = "__pipe_target"."order_id")
WHEN MATCHED THEN UPDATE BY NAME
WHEN NOT MATCHED THEN INSERT BY NAME;
DROP TABLE "temp"."main"."__pipe_stage__fct_orders__20240102";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__fct_orders__20240102";
