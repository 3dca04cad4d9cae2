CREATE OR REPLACE TEMP TABLE "__pipe_stage__orders_snap__20240102__changes" AS
WITH snapshot_query AS (
  SELECT * FROM "temp"."main"."__pipe_stage__orders_snap__20240102"
),
snapshotted_data AS (
  SELECT *, "id" AS dbt_unique_key
  FROM "main"."orders_snap"
  WHERE "dbt_valid_to" IS NULL
),
insertions_source_data AS (
  SELECT *, "id" AS dbt_unique_key,
    "updated_at" AS "dbt_updated_at",
    "updated_at" AS "dbt_valid_from",
    coalesce(nullif("updated_at", "updated_at"), null) AS "dbt_valid_to",
    md5(coalesce(cast("id" as varchar), '') || '|' || coalesce(cast("updated_at" as varchar), '')) AS "dbt_scd_id"
  FROM snapshot_query
),
updates_source_data AS (
  SELECT *, "id" AS dbt_unique_key,
    "updated_at" AS "dbt_updated_at",
    "updated_at" AS "dbt_valid_from",
    "updated_at" AS "dbt_valid_to"
  FROM snapshot_query
),
insertions AS (
  SELECT 'insert' AS dbt_change_type, source_data.*
  FROM insertions_source_data AS source_data
  LEFT OUTER JOIN snapshotted_data ON snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
  WHERE snapshotted_data.dbt_unique_key IS NULL OR (snapshotted_data.dbt_unique_key IS NOT NULL AND ((snapshotted_data."dbt_valid_from" < source_data."updated_at")))
),
updates AS (
  SELECT 'update' AS dbt_change_type, source_data.*, snapshotted_data."dbt_scd_id"
  FROM updates_source_data AS source_data
  JOIN snapshotted_data ON snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
  WHERE ((snapshotted_data."dbt_valid_from" < source_data."updated_at"))
)
SELECT * FROM insertions
UNION ALL
SELECT * FROM updates;
UPDATE "main"."orders_snap" AS snapshot
SET "dbt_valid_to" = changes."dbt_valid_to"
FROM "temp"."main"."__pipe_stage__orders_snap__20240102__changes" AS changes
WHERE changes."dbt_scd_id"::text = snapshot."dbt_scd_id"::text
  AND changes.dbt_change_type::text IN ('update', 'delete')
  AND snapshot."dbt_valid_to" IS NULL;
INSERT INTO "main"."orders_snap" ("id", "status", "updated_at", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")
SELECT changes."id", changes."status", changes."updated_at", changes."dbt_scd_id", changes."dbt_updated_at", changes."dbt_valid_from", changes."dbt_valid_to"
FROM "temp"."main"."__pipe_stage__orders_snap__20240102__changes" AS changes
WHERE changes.dbt_change_type::text = 'insert';
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__orders_snap__20240102__changes";
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__orders_snap__20240102";
