-- statement (counts rows)
CREATE OR REPLACE TEMP TABLE "__pipe_stage__fct_events__20240102T13" AS
select event_id, event_at
from (SELECT * FROM "main"."events" WHERE CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00');

-- assert-empty: rows outside the run's interval [2024-01-02 13:00:00, 2024-01-02 14:00:00) by event_at (or with event_at NULL); a microbatch model returns the rows of its batch only: declare event_time on the models it reads, so that each is read for the batch, or filter the rows with where event_at >= '{{ interval_start }}' and event_at < '{{ interval_end }}'
SELECT * FROM "temp"."main"."__pipe_stage__fct_events__20240102T13" WHERE "event_at" IS NULL OR NOT (CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00') LIMIT 5;
-- count
SELECT count(*) AS n FROM "temp"."main"."__pipe_stage__fct_events__20240102T13" WHERE "event_at" IS NULL OR NOT (CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00');

-- schema change: the columns of "temp"."main"."__pipe_stage__fct_events__20240102T13" against "main"."fct_orders"; on a difference, fail (any ALTER TABLE joins the publishing transaction)

-- publish, one transaction (rows from statement 3)
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "main"."fct_orders" AS SELECT * FROM "temp"."main"."__pipe_stage__fct_events__20240102T13" LIMIT 0;
DELETE FROM "main"."fct_orders" WHERE CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-02 13:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-02 14:00:00';
INSERT INTO "main"."fct_orders" BY NAME SELECT * FROM "temp"."main"."__pipe_stage__fct_events__20240102T13";
DROP TABLE "temp"."main"."__pipe_stage__fct_events__20240102T13";
COMMIT;

-- cleanup after a failure
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__fct_events__20240102T13";
