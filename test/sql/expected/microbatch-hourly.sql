-- schema change: the columns of the model's query against "main"."fct_orders"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- publish, one transaction (rows from statement 2); a row outside the partition fails the insert (pipe: a row outside the partition)
BEGIN TRANSACTION;
DELETE FROM "main"."fct_orders" WHERE CAST("event_at" AS DATE) >= CAST(TIMESTAMP '2024-01-02 13:00:00' AS DATE) AND CAST("event_at" AS DATE) < CAST(TIMESTAMP '2024-01-02 14:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("event_at" AS TIMESTAMPTZ) <> CAST(TRY_CAST("event_at" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("event_at" AS VARCHAR)) ELSE true END AND CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00';
INSERT INTO "main"."fct_orders" BY NAME SELECT * FROM (
select event_id, event_at
from (SELECT * FROM "main"."events" WHERE CAST("event_at" AS DATE) >= CAST(TIMESTAMP '2024-01-02 13:00:00' AS DATE) AND CAST("event_at" AS DATE) < CAST(TIMESTAMP '2024-01-02 14:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("event_at" AS TIMESTAMPTZ) <> CAST(TRY_CAST("event_at" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("event_at" AS VARCHAR)) ELSE true END AND CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00')
) AS "__pipe_rows"
WHERE CASE WHEN CAST("event_at" AS DATE) >= CAST(TIMESTAMP '2024-01-02 13:00:00' AS DATE) AND CAST("event_at" AS DATE) < CAST(TIMESTAMP '2024-01-02 14:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("event_at" AS TIMESTAMPTZ) <> CAST(TRY_CAST("event_at" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("event_at" AS VARCHAR)) ELSE true END AND CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00' THEN true ELSE error('pipe: a row outside the partition') END;
COMMIT;
