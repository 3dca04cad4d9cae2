{{ config(materialized='view', tags=['staging']) }}

select
    product_id,
    product_name,
    price_cents
from {{ ref('raw_products') }}
