-- statement (counts rows)
CREATE OR REPLACE TABLE "main"."__pipe_stage__orders__20240102" AS
select * from (values
  (1, 10, 'placed', 5.0),
  (2, 10, 'shipped', 7.0),
  (2, 11, 'returned', 1.0),
  (3, NULL, 'lost', -1.0),
  (4, 99, 'placed', 3.0)
) v(order_id, customer_id, status, amount);

-- columns of "main"."__pipe_stage__orders__20240102": order_id, customer_id, order_id, order_id, customer_id, status, customer_id

-- check not_null(order_id) (error)
SELECT * FROM "main"."__pipe_stage__orders__20240102" WHERE "order_id" IS NULL;

-- check not_null(customer_id) (error)
SELECT * FROM "main"."__pipe_stage__orders__20240102" WHERE "customer_id" IS NULL;

-- check unique(order_id) (error)
SELECT "order_id", count(*) AS duplicates FROM "main"."__pipe_stage__orders__20240102" WHERE "order_id" IS NOT NULL GROUP BY "order_id" HAVING count(*) > 1;

-- check unique(order_id, customer_id) (error)
SELECT "order_id", "customer_id", count(*) AS duplicates FROM "main"."__pipe_stage__orders__20240102" WHERE "order_id" IS NOT NULL AND "customer_id" IS NOT NULL GROUP BY "order_id", "customer_id" HAVING count(*) > 1;

-- check accepted_values(status) (error)
SELECT "status", count(*) AS rows FROM "main"."__pipe_stage__orders__20240102" WHERE "status" IS NOT NULL AND CAST("status" AS VARCHAR) NOT IN ('placed', 'shipped', 'returned') GROUP BY ALL;

-- check relationships(customer_id → customers.customer_id) (error)
SELECT c.* FROM "main"."__pipe_stage__orders__20240102" AS c WHERE c."customer_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "main"."customers" AS p WHERE p."customer_id" = c."customer_id");

-- check row_count(min 1, max 3) (error)
SELECT count(*) AS row_count FROM "main"."__pipe_stage__orders__20240102" HAVING NOT (count(*) >= 1 AND count(*) <= 3);

-- check expression(amount >= 0) (error)
SELECT * FROM "main"."__pipe_stage__orders__20240102" WHERE (amount >= 0
) IS NOT TRUE;

-- check query(select * from {{ this }} where status = 'placed' and '{{ ds }}' = '2024-01-02') (error)
select * from "main"."__pipe_stage__orders__20240102" where status = 'placed' and '2024-01-02' = '2024-01-02';

-- check row_count(min 100) (warn)
SELECT count(*) AS row_count FROM "main"."__pipe_stage__orders__20240102" HAVING NOT (count(*) >= 100);

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."orders";
ALTER TABLE "main"."__pipe_stage__orders__20240102" RENAME TO "orders";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__orders__20240102";
