{{ config(materialized='view', tags=['staging']) }}

select
    order_id,
    customer_id,
    product_id,
    quantity,
    status,
    ordered_at,
    ordered_at::DATE as order_date
from {{ ref('raw_orders') }}
