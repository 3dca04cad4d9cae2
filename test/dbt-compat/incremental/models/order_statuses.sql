-- delete+insert on a composite key: when each order reached each status.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['order_id', 'status']) }}
select order_id, status, min(updated_at) as reached_at, count(*) as updates
from {{ ref('order_updates') }}
where updated_at < '{{ var("upto") }}'
{% if is_incremental() %}
  and updated_at >= '{{ var("from") }}'
{% endif %}
group by order_id, status
