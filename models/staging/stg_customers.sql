{{ config(materialized='view', tags=['staging']) }}

select
    customer_id,
    first_name || ' ' || last_name as customer_name,
    country,
    signed_up_on
from {{ ref('raw_customers') }}
