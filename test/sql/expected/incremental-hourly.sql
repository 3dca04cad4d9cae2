-- statement (counts rows)
CREATE OR REPLACE TEMP TABLE "__pipe_stage__fct_orders__20240102T13" AS
select order_id, customer_id, order_date, amount
from "main"."stg_orders"
where order_date = '2024-01-02';

-- assert-empty: rows outside the run's interval [2024-01-02 13:00:00, 2024-01-02 14:00:00) by event_time (or with event_time NULL); an incremental model returns the rows of its interval only, e.g. where event_time >= '{{ interval_start }}' and event_time < '{{ interval_end }}'
SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102T13" WHERE "event_time" IS NULL OR NOT (CAST("event_time" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_time" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00') LIMIT 5;
-- count
SELECT count(*) AS n FROM "temp"."main"."__pipe_stage__fct_orders__20240102T13" WHERE "event_time" IS NULL OR NOT (CAST("event_time" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_time" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00');

-- schema change: the columns of "temp"."main"."__pipe_stage__fct_orders__20240102T13" against "main"."fct_orders"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- publish, one transaction (rows from statement 3)
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "main"."fct_orders" AS SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102T13" LIMIT 0;
DELETE FROM "main"."fct_orders" WHERE CAST("event_time" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_time" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00';
INSERT INTO "main"."fct_orders" BY NAME SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102T13";
DROP TABLE "temp"."main"."__pipe_stage__fct_orders__20240102T13";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__fct_orders__20240102T13";
