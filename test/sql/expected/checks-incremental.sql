-- schema change: the columns of the model's query against "main"."inc"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- columns of (

select '2024-01-02'::DATE as d, 1 as id
): id, id

-- publish, one transaction (rows from statement 2); a row outside the partition fails the insert (pipe: a row outside the partition)
BEGIN TRANSACTION;
DELETE FROM "main"."inc" WHERE CAST("d" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("d" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("d" AS TIMESTAMPTZ) <> CAST(TRY_CAST("d" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("d" AS VARCHAR)) ELSE true END AND CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00';
INSERT INTO "main"."inc" BY NAME SELECT * FROM (

select '2024-01-02'::DATE as d, 1 as id
) AS "__pipe_rows"
WHERE CASE WHEN CAST("d" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("d" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("d" AS TIMESTAMPTZ) <> CAST(TRY_CAST("d" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("d" AS VARCHAR)) ELSE true END AND CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00' THEN true ELSE error('pipe: a row outside the partition') END;
-- check unique(id) (error), before the commit
SELECT "id", count(*) AS duplicates FROM "main"."inc" WHERE "id" IS NOT NULL GROUP BY "id" HAVING count(*) > 1;
-- check not_null(id) (error), before the commit
SELECT * FROM (SELECT * FROM "main"."inc" WHERE CAST("d" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE) AND CAST("d" AS DATE) < CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("d" AS TIMESTAMPTZ) <> CAST(TRY_CAST("d" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("d" AS VARCHAR)) ELSE true END AND CAST("d" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 00:00:00' AND CAST("d" AS TIMESTAMP) < TIMESTAMP '2024-01-03 00:00:00') WHERE "id" IS NULL;
-- check row_count(max 10) (error), before the commit
SELECT count(*) AS row_count FROM "main"."inc" HAVING NOT (count(*) <= 10);
COMMIT;
