-- columns of (SELECT * FROM "main"."inc" WHERE CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00'): id, id

-- check unique(id) (error)
SELECT "id", count(*) AS duplicates FROM "main"."inc" WHERE "id" IS NOT NULL GROUP BY "id" HAVING count(*) > 1;

-- check not_null(id) (error)
SELECT * FROM (SELECT * FROM "main"."inc" WHERE CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00') WHERE "id" IS NULL;

-- publish, one transaction
BEGIN TRANSACTION;

COMMIT;
