CREATE OR REPLACE TEMP TABLE "__pipe_stage__orders_snap__20240102__changes" AS
WITH snapshot_query AS (
  SELECT * FROM "temp"."main"."__pipe_stage__orders_snap__20240102"
),
snapshotted_data AS (
  SELECT *, "id" AS dbt_unique_key_1, "status" AS dbt_unique_key_2
  FROM "main"."orders_snap"
  WHERE "valid_to" IS NULL
),
insertions_source_data AS (
  SELECT *, "id" AS dbt_unique_key_1, "status" AS dbt_unique_key_2,
    now()::timestamp AS "dbt_updated_at",
    now()::timestamp AS "dbt_valid_from",
    coalesce(nullif(now()::timestamp, now()::timestamp), null) AS "valid_to",
    md5(coalesce(cast("id" as varchar), '') || '|' || coalesce(cast("status" as varchar), '') || '|' || coalesce(cast(now()::timestamp as varchar), '')) AS "dbt_scd_id"
  FROM snapshot_query
),
updates_source_data AS (
  SELECT *, "id" AS dbt_unique_key_1, "status" AS dbt_unique_key_2,
    now()::timestamp AS "dbt_updated_at",
    now()::timestamp AS "dbt_valid_from",
    now()::timestamp AS "valid_to"
  FROM snapshot_query
),
deletes_source_data AS (
  SELECT *, "id" AS dbt_unique_key_1, "status" AS dbt_unique_key_2
  FROM snapshot_query
),
insertions AS (
  SELECT 'insert' AS dbt_change_type, source_data.*, 'False' AS "is_deleted"
  FROM insertions_source_data AS source_data
  LEFT OUTER JOIN snapshotted_data ON snapshotted_data.dbt_unique_key_1 = source_data.dbt_unique_key_1 AND snapshotted_data.dbt_unique_key_2 = source_data.dbt_unique_key_2
  WHERE snapshotted_data.dbt_unique_key_1 IS NULL OR (snapshotted_data.dbt_unique_key_1 IS NOT NULL AND ((snapshotted_data."status" != source_data."status" OR ((snapshotted_data."status" IS NULL) AND NOT (source_data."status" IS NULL)) OR ((NOT snapshotted_data."status" IS NULL) AND (source_data."status" IS NULL))) OR snapshotted_data."is_deleted" = 'True'))
),
updates AS (
  SELECT 'update' AS dbt_change_type, source_data.*, snapshotted_data."dbt_scd_id", snapshotted_data."is_deleted"
  FROM updates_source_data AS source_data
  JOIN snapshotted_data ON snapshotted_data.dbt_unique_key_1 = source_data.dbt_unique_key_1 AND snapshotted_data.dbt_unique_key_2 = source_data.dbt_unique_key_2
  WHERE ((snapshotted_data."status" != source_data."status" OR ((snapshotted_data."status" IS NULL) AND NOT (source_data."status" IS NULL)) OR ((NOT snapshotted_data."status" IS NULL) AND (source_data."status" IS NULL))) OR snapshotted_data."is_deleted" = 'True')
),
deletes AS (
  SELECT 'delete' AS dbt_change_type, source_data.*, now()::timestamp AS "dbt_valid_from", now()::timestamp AS "dbt_updated_at", now()::timestamp AS "valid_to", snapshotted_data."dbt_scd_id", snapshotted_data."is_deleted"
  FROM snapshotted_data
  LEFT JOIN deletes_source_data AS source_data ON snapshotted_data.dbt_unique_key_1 = source_data.dbt_unique_key_1 AND snapshotted_data.dbt_unique_key_2 = source_data.dbt_unique_key_2
  WHERE source_data.dbt_unique_key_1 IS NULL
    AND NOT (snapshotted_data."is_deleted" = 'True' AND snapshotted_data."valid_to" IS NULL)
),
deletion_records AS (
  SELECT 'insert' AS dbt_change_type, snapshotted_data."id", snapshotted_data."status", snapshotted_data."updated_at", source_data."note", snapshotted_data."id" AS dbt_unique_key_1, snapshotted_data."status" AS dbt_unique_key_2,
    now()::timestamp AS "dbt_valid_from", now()::timestamp AS "dbt_updated_at", snapshotted_data."valid_to" AS "valid_to",
    md5(coalesce(cast(snapshotted_data."dbt_scd_id" as varchar), '') || '|' || coalesce(cast(now()::timestamp as varchar), '')) AS "dbt_scd_id", 'True' AS "is_deleted"
  FROM snapshotted_data
  LEFT JOIN deletes_source_data AS source_data ON snapshotted_data.dbt_unique_key_1 = source_data.dbt_unique_key_1 AND snapshotted_data.dbt_unique_key_2 = source_data.dbt_unique_key_2
  WHERE source_data.dbt_unique_key_1 IS NULL
    AND NOT (snapshotted_data."is_deleted" = 'True' AND snapshotted_data."valid_to" IS NULL)
)
SELECT * FROM insertions
UNION ALL
SELECT * FROM updates
UNION ALL
SELECT * FROM deletes
UNION ALL
SELECT * FROM deletion_records;
ALTER TABLE "main"."orders_snap" ADD COLUMN IF NOT EXISTS "note" VARCHAR;
UPDATE "main"."orders_snap" AS snapshot
SET "valid_to" = changes."valid_to"
FROM "temp"."main"."__pipe_stage__orders_snap__20240102__changes" AS changes
WHERE changes."dbt_scd_id"::text = snapshot."dbt_scd_id"::text
  AND changes.dbt_change_type::text IN ('update', 'delete')
  AND snapshot."valid_to" IS NULL;
INSERT INTO "main"."orders_snap" ("id", "status", "updated_at", "note", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "valid_to", "is_deleted")
SELECT changes."id", changes."status", changes."updated_at", changes."note", changes."dbt_scd_id", changes."dbt_updated_at", changes."dbt_valid_from", changes."valid_to", changes."is_deleted"
FROM "temp"."main"."__pipe_stage__orders_snap__20240102__changes" AS changes
WHERE changes.dbt_change_type::text = 'insert';
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__orders_snap__20240102__changes";
DROP TABLE IF EXISTS "temp"."main"."__pipe_stage__orders_snap__20240102";
