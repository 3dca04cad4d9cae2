-- statement (counts rows)
CREATE OR REPLACE TABLE "mart"."__pipe_stage__odd""name__20240102" AS
select order_id, customer_id, order_date, amount
from "main"."stg_orders"
where order_date = '2024-01-02';

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "mart"."odd""name";
ALTER TABLE "mart"."__pipe_stage__odd""name__20240102" RENAME TO "odd""name";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "mart"."__pipe_stage__odd""name__20240102";
