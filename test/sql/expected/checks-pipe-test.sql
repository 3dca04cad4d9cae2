-- check rows of 2024-01-02 (warn)
SELECT 'inc has no rows of 2024-01-02: never built for that date, or built empty; its checks read nothing' AS why WHERE NOT EXISTS (SELECT 1 FROM (SELECT * FROM "main"."inc" WHERE CAST("d" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("d" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("d" AS TIMESTAMPTZ) <> CAST(TRY_CAST("d" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("d" AS VARCHAR)) ELSE true END AND CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00'));

-- columns of (SELECT * FROM "main"."inc" WHERE CAST("d" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("d" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("d" AS TIMESTAMPTZ) <> CAST(TRY_CAST("d" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("d" AS VARCHAR)) ELSE true END AND CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00'): id, id

-- check unique(id) (error)
SELECT "id", count(*) AS duplicates FROM "main"."inc" WHERE "id" IS NOT NULL GROUP BY "id" HAVING count(*) > 1;

-- check not_null(id) (error)
SELECT * FROM (SELECT * FROM "main"."inc" WHERE CAST("d" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("d" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("d" AS TIMESTAMPTZ) <> CAST(TRY_CAST("d" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("d" AS VARCHAR)) ELSE true END AND CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00') WHERE "id" IS NULL;

-- nothing to publish: the outcome is recorded
