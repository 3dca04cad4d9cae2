select
    customer_id,
    {{ dbt.listagg('status', "'|'", 'order by order_id') }} as statuses,
    {{ dbt.listagg('status', "', '", 'order by order_id desc', 1) }} as last_status,
    {{ dbt.any_value('customer_id') }} as any_customer,
    {{ dbt.bool_or('amount > 50') }} as has_big
from {{ ref('orders') }}
group by customer_id

{{ dbt.except() }}

select null, null, null, null, null

{{ dbt.intersect() }}

select null, null, null, null, null
