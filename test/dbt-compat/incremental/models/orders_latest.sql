-- merge: one row per order, its latest update; a run reads the updates of its day.
{{ config(materialized='incremental', incremental_strategy='merge', unique_key='order_id') }}
select order_id, status, amount, updated_at
from {{ ref('order_updates') }}
where updated_at < '{{ var("upto") }}'
{% if is_incremental() %}
  and updated_at >= '{{ var("from") }}'
{% endif %}
qualify row_number() over (partition by order_id order by updated_at desc) = 1
