CREATE TABLE "main"."orders_snap" AS
SELECT *,
  md5(coalesce(cast("id" as varchar), '') || '|' || coalesce(cast("updated_at" as varchar), '')) AS "dbt_scd_id",
  "updated_at" AS "dbt_updated_at",
  "updated_at" AS "dbt_valid_from",
  coalesce(nullif("updated_at", "updated_at"), null) AS "dbt_valid_to",
  'False' AS "dbt_is_deleted"
FROM (SELECT * FROM "temp"."main"."__pipe_stage__orders_snap__20240102") AS sbq
LIMIT 0;
INSERT INTO "main"."orders_snap"
SELECT *,
  md5(coalesce(cast("id" as varchar), '') || '|' || coalesce(cast("updated_at" as varchar), '')) AS "dbt_scd_id",
  "updated_at" AS "dbt_updated_at",
  "updated_at" AS "dbt_valid_from",
  coalesce(nullif("updated_at", "updated_at"), null) AS "dbt_valid_to",
  'False' AS "dbt_is_deleted"
FROM (SELECT * FROM "temp"."main"."__pipe_stage__orders_snap__20240102") AS sbq;
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__orders_snap__20240102";
