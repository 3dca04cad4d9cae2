-- contract: the query's columns must be order_id bigint, amount integer

-- statement
CREATE OR REPLACE TABLE "main"."__pipe_stage__fct_orders__20240102" ("order_id" bigint NOT NULL, "amount" integer, PRIMARY KEY (order_id));

-- statement (counts rows)
INSERT INTO "main"."__pipe_stage__fct_orders__20240102" BY NAME
select order_id, amount
from "main"."stg_orders";

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."fct_orders";
ALTER TABLE "main"."__pipe_stage__fct_orders__20240102" RENAME TO "fct_orders";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__fct_orders__20240102";
