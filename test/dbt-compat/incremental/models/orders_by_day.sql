-- microbatch by day: its ref() of order_updates reads the batch's rows only.
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='updated_at', batch_size='day', begin='2024-01-01') }}
select order_id, status, amount, updated_at
from {{ ref('order_updates') }}
