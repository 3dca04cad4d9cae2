-- microbatch by hour, one row per hour that has updates.
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='hour', batch_size='hour', begin='2024-01-01', lookback=1) }}
select date_trunc('hour', updated_at) as hour, count(*) as updates
from {{ ref('order_updates') }}
group by 1
