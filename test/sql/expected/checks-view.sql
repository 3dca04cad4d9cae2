-- columns of (

select 1 as id
): id

-- check not_null(id) (error)
SELECT * FROM (

select 1 as id
) WHERE "id" IS NULL;

-- check row_count(min 1) (error)
SELECT count(*) AS row_count FROM (

select 1 as id
) HAVING NOT (count(*) >= 1);

-- publish, one transaction
BEGIN TRANSACTION;
CREATE OR REPLACE VIEW "main"."v" AS

select 1 as id;
COMMIT;
