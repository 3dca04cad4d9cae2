-- statement (counts rows)
CREATE OR REPLACE TABLE "main"."__pipe_stage__fct_orders__20240102" AS
select order_id, customer_id, order_date, amount
from "main"."stg_orders"
where order_date = '2024-01-02';

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."fct_orders";
ALTER TABLE "main"."__pipe_stage__fct_orders__20240102" RENAME TO "fct_orders";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__fct_orders__20240102";
