-- statement (counts rows)
CREATE OR REPLACE TEMP TABLE "__pipe_stage__fct_orders__20240102" AS
select order_id, customer_id, order_date, amount
from "main"."stg_orders"
where order_date = '2024-01-02';

-- assert-empty: rows outside the run's interval [2024-01-02 00:00:00, 2024-01-03 00:00:00) by order_date (or with order_date NULL); an incremental model returns the rows of its interval only, e.g. where order_date >= '{{ interval_start }}' and order_date < '{{ interval_end }}'
SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102" WHERE "order_date" IS NULL OR NOT (CAST("order_date" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("order_date" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("order_date" AS TIMESTAMPTZ) <> CAST(TRY_CAST("order_date" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("order_date" AS VARCHAR)) ELSE true END AND CAST("order_date" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("order_date" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00') LIMIT 5;
-- count
SELECT count(*) AS n FROM "temp"."main"."__pipe_stage__fct_orders__20240102" WHERE "order_date" IS NULL OR NOT (CAST("order_date" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("order_date" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("order_date" AS TIMESTAMPTZ) <> CAST(TRY_CAST("order_date" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("order_date" AS VARCHAR)) ELSE true END AND CAST("order_date" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("order_date" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00');

-- schema change: the columns of "temp"."main"."__pipe_stage__fct_orders__20240102" against "main"."fct_orders"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- publish, one transaction (rows from statement 3)
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "main"."fct_orders" AS SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102" LIMIT 0;
DELETE FROM "main"."fct_orders" WHERE CAST("order_date" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("order_date" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("order_date" AS TIMESTAMPTZ) <> CAST(TRY_CAST("order_date" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("order_date" AS VARCHAR)) ELSE true END AND CAST("order_date" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("order_date" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00';
INSERT INTO "main"."fct_orders" BY NAME SELECT * FROM "temp"."main"."__pipe_stage__fct_orders__20240102";
DROP TABLE "temp"."main"."__pipe_stage__fct_orders__20240102";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__fct_orders__20240102";
