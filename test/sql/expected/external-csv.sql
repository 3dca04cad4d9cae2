-- statement (counts rows)
CREATE OR REPLACE TABLE "main"."__pipe_stage__fct_orders__20240102" AS
select order_id, amount
from "main"."stg_orders";

-- write "main"."__pipe_stage__fct_orders__20240102" to /project/out/.orders.csv.20240103T020000-ab12.pipe-tmp (csv), rename it to /project/out/orders.csv; the view "main"."fct_orders" over it joins the publishing transaction

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."__pipe_stage__fct_orders__20240102";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__fct_orders__20240102";

-- cleanup after a failure: remove /project/out/.orders.csv.20240103T020000-ab12.pipe-tmp
