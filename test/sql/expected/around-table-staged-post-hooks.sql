-- sql_header
set variable region = 'eu';

-- statement (counts rows)
CREATE OR REPLACE TABLE "main"."__pipe_stage__fct_orders__20240102" AS
select order_id, amount
from "main"."stg_orders";

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."fct_orders";
ALTER TABLE "main"."__pipe_stage__fct_orders__20240102" RENAME TO "fct_orders";
-- post-hook 1
insert into audit select count(*) from "main"."fct_orders";
-- persist_docs: COMMENT ON "main"."fct_orders", column amount (the columns "main"."fct_orders" has)
COMMIT;

-- post-hook 2, after the commit
checkpoint;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__fct_orders__20240102";
