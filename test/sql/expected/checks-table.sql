-- columns of (
select * from (values
  (1, 10, 'placed', 5.0),
  (2, 10, 'shipped', 7.0),
  (2, 11, 'returned', 1.0),
  (3, NULL, 'lost', -1.0),
  (4, 99, 'placed', 3.0)
) v(order_id, customer_id, status, amount)
): order_id, customer_id, order_id, order_id, customer_id, status, customer_id

-- columns of customers, as a check reads it: customer_id

-- publish, one transaction (rows from statement 1)
BEGIN TRANSACTION;
CREATE OR REPLACE TABLE "main"."orders" AS
select * from (values
  (1, 10, 'placed', 5.0),
  (2, 10, 'shipped', 7.0),
  (2, 11, 'returned', 1.0),
  (3, NULL, 'lost', -1.0),
  (4, 99, 'placed', 3.0)
) v(order_id, customer_id, status, amount);
-- check not_null(order_id) (error), before the commit
SELECT * FROM "main"."orders" WHERE "order_id" IS NULL;
-- check not_null(customer_id) (error), before the commit
SELECT * FROM "main"."orders" WHERE "customer_id" IS NULL;
-- check unique(order_id) (error), before the commit
SELECT "order_id", count(*) AS duplicates FROM "main"."orders" WHERE "order_id" IS NOT NULL GROUP BY "order_id" HAVING count(*) > 1;
-- check unique(order_id, customer_id) (error), before the commit
SELECT "order_id", "customer_id", count(*) AS duplicates FROM "main"."orders" WHERE "order_id" IS NOT NULL AND "customer_id" IS NOT NULL GROUP BY "order_id", "customer_id" HAVING count(*) > 1;
-- check accepted_values(status) (error), before the commit
SELECT "status", count(*) AS rows FROM "main"."orders" WHERE "status" IS NOT NULL AND CAST("status" AS VARCHAR) NOT IN ('placed', 'shipped', 'returned') GROUP BY ALL;
-- check relationships(customer_id → customers.customer_id) (error), before the commit
SELECT c.* FROM "main"."orders" AS c WHERE c."customer_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "main"."customers" AS p WHERE p."customer_id" = c."customer_id");
-- check row_count(min 1, max 3) (error), before the commit
SELECT count(*) AS row_count FROM "main"."orders" HAVING NOT (count(*) >= 1 AND count(*) <= 3);
-- check expression(amount >= 0) (error), before the commit
SELECT * FROM "main"."orders" WHERE (amount >= 0
) IS NOT TRUE;
-- check query(select * from {{ this }} where status = 'placed' and '{{ ds }}' = '2024-01-02') (error), before the commit
select * from "main"."orders" where status = 'placed' and '2024-01-02' = '2024-01-02';
-- check row_count(min 100) (warn), before the commit
SELECT count(*) AS row_count FROM "main"."orders" HAVING NOT (count(*) >= 100);
COMMIT;
