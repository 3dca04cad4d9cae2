select
    {{ dbt_utils.generate_surrogate_key(['order_id', 'customer_id', 'discount']) }} as order_key,
    {{ dbt_utils.safe_add(['amount', 'coalesce(discount, 0)']) }} as gross,
    order_id
from {{ ref('orders') }}
