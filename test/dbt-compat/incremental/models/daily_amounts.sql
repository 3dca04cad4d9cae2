-- microbatch reading a microbatch model: orders_by_day declares event_time, so it is read by batch too.
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2024-01-01') }}
select cast(date_trunc('day', updated_at) as timestamp) as day, count(*) as updates, sum(amount) as amount
from {{ ref('orders_by_day') }}
group by 1
