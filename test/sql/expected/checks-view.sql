-- columns of (

select 1 as id
): id

-- check not_null(id) (error)
with "__pipe_checked" as (
select * from (

select 1 as id
)
)
SELECT * FROM "__pipe_checked" WHERE "id" IS NULL;

-- check row_count(min 1) (error)
with "__pipe_checked" as (
select * from (

select 1 as id
)
)
SELECT count(*) AS row_count FROM "__pipe_checked" HAVING NOT (count(*) >= 1);

-- publish, one transaction
BEGIN TRANSACTION;
CREATE OR REPLACE VIEW "main"."v" AS

select 1 as id;
COMMIT;
