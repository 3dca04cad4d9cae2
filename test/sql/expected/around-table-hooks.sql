-- pre-hook 2
set threads = 2;

-- publish, one transaction (rows from statement 1)
BEGIN TRANSACTION;
-- pre-hook 1
insert into audit values ('pre');
-- sql_header
set variable region = 'eu';
CREATE OR REPLACE TABLE "main"."fct_orders" AS
select order_id, amount
from "main"."stg_orders";
-- post-hook 1
insert into audit select count(*) from "main"."fct_orders";
-- persist_docs: COMMENT ON "main"."fct_orders", column amount (the columns "main"."fct_orders" has)
COMMIT;

-- post-hook 2, after the commit
checkpoint;
