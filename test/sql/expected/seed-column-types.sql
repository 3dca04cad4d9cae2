-- statement (counts rows)
CREATE OR REPLACE TABLE "main"."__pipe_stage__raw_orders" AS
SELECT * FROM read_csv('/srv/shop/seeds/raw_orders.csv', header = true, auto_detect = true, types = {'price_cents': 'INTEGER', 'it''s': 'VARCHAR'});

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."raw_orders";
ALTER TABLE "main"."__pipe_stage__raw_orders" RENAME TO "raw_orders";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__raw_orders";
