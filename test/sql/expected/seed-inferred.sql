-- statement (counts rows)
CREATE OR REPLACE TABLE "main"."__pipe_stage__obrien" AS
SELECT * FROM read_csv('/srv/shop/seeds/o''brien.csv', header = true, skip = 0, delim = ',', quote = '"', escape = '"', comment = '', strict_mode = true, null_padding = false, ignore_errors = false, auto_detect = true);

-- publish, one transaction
BEGIN TRANSACTION;
DROP TABLE IF EXISTS "main"."obrien";
ALTER TABLE "main"."__pipe_stage__obrien" RENAME TO "obrien";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "main"."__pipe_stage__obrien";
