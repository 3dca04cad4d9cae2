-- Ephemeral: never written to the warehouse, inlined into the models that ref it.
{{ config(materialized='ephemeral') }}

select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    o.quantity,
    p.product_name,
    o.quantity * p.price_cents as amount_cents
from {{ ref('stg_orders') }} as o
join {{ ref('stg_products') }} as p using (product_id)
