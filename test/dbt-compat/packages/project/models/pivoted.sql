select
    customer_id,
    {{ dbt_utils.pivot('status', status_list()) }},
    {{ dbt_utils.pivot('status', ['placed', 'shipped'], agg='max', then_value='amount', else_value='null', prefix='max_', quote_identifiers=false) }}
from {{ ref('orders') }}
group by customer_id
