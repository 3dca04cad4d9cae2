-- statement (counts rows)
CREATE OR REPLACE TABLE "main"."__pipe_stage__raw_orders" AS
SELECT * FROM read_csv('/srv/shop/seeds/raw_orders.csv', header = true, skip = 0, delim = ',', quote = '"', escape = '"', comment = '', strict_mode = true, null_padding = false, ignore_errors = false, auto_detect = true, types = {'price_cents': 'INTEGER', 'it''s': 'VARCHAR'});

-- assert-empty: rows loaded from seeds/raw_orders.csv, though lines follow its header
SELECT 'seeds/raw_orders.csv' AS seed, count(*) AS rows_loaded FROM "main"."__pipe_stage__raw_orders" HAVING count(*) = 0;
-- count
SELECT count(*) AS n FROM "main"."__pipe_stage__raw_orders";

-- type changes: the columns of "main"."__pipe_stage__raw_orders" against "main"."raw_orders"; a column of another type, or one that came or went, is told

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."raw_orders";
ALTER TABLE "main"."__pipe_stage__raw_orders" RENAME TO "raw_orders";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__raw_orders";
