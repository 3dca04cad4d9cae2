-- statement (counts rows)
CREATE OR REPLACE TEMP TABLE "__pipe_stage__fct_orders__20240102" AS
select order_id, status, updated_at
from "main"."stg_order_updates"
where updated_at >= '2024-01-02';

-- assert-empty: staged rows with unique_key (order_id, status) NULL: NULL matches no row, so every re-run would insert them again; leave them out of the query or give them a key
SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102" WHERE "order_id" IS NULL OR "status" IS NULL LIMIT 5;
-- count
SELECT count(*) AS n FROM "temp"."main"."__pipe_stage__fct_orders__20240102" WHERE "order_id" IS NULL OR "status" IS NULL;

-- schema change: the columns of "temp"."main"."__pipe_stage__fct_orders__20240102" against "main"."fct_orders"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- publish, one transaction (rows from statement 3)
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "main"."fct_orders" AS SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102" LIMIT 0;
DELETE FROM "main"."fct_orders" AS "__pipe_target" USING (SELECT DISTINCT "order_id", "status" FROM "temp"."main"."__pipe_stage__fct_orders__20240102") AS "__pipe_staged" WHERE "__pipe_staged"."order_id" = "__pipe_target"."order_id" AND "__pipe_staged"."status" = "__pipe_target"."status";
INSERT INTO "main"."fct_orders" BY NAME SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102";
DROP TABLE "temp"."main"."__pipe_stage__fct_orders__20240102";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__fct_orders__20240102";
