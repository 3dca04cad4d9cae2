-- schema change: the columns of the model's query against "main"."fct_orders"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- publish, one transaction (rows from statement 2); a row outside the partition fails the insert (pipe: a row outside the partition)
BEGIN TRANSACTION;
DELETE FROM "main"."fct_orders" WHERE CAST("event_time" AS DATE) >= CAST(TIMESTAMP '2024-01-02 13:00:00' AS DATE) AND CAST("event_time" AS DATE) < CAST(TIMESTAMP '2024-01-02 14:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("event_time" AS TIMESTAMPTZ) <> CAST(TRY_CAST("event_time" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("event_time" AS VARCHAR)) ELSE true END AND CAST("event_time" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_time" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00';
INSERT INTO "main"."fct_orders" BY NAME SELECT * FROM (
select order_id, customer_id, order_date, amount
from "main"."stg_orders"
where order_date = '2024-01-02'
) AS "__pipe_rows"
WHERE CASE WHEN CAST("event_time" AS DATE) >= CAST(TIMESTAMP '2024-01-02 13:00:00' AS DATE) AND CAST("event_time" AS DATE) < CAST(TIMESTAMP '2024-01-02 14:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("event_time" AS TIMESTAMPTZ) <> CAST(TRY_CAST("event_time" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("event_time" AS VARCHAR)) ELSE true END AND CAST("event_time" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_time" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00' THEN true ELSE error('pipe: a row outside the partition') END;
COMMIT;
