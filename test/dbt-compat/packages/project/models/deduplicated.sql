{% set orders %}(select order_id, status, amount, ordered_at from {{ ref('orders') }}){% endset %}
{{ dbt_utils.deduplicate(orders, partition_by='order_id', order_by='ordered_at desc') }}
