-- publish, one transaction (rows from statement 1)
BEGIN TRANSACTION;
CREATE OR REPLACE TABLE "mart"."odd""name" AS
select order_id, customer_id, order_date, amount
from "main"."stg_orders"
where order_date = '2024-01-02';
COMMIT;
