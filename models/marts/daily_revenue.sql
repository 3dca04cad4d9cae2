{{ config(materialized='incremental', partition_by='revenue_date', tags=['daily']) }}

select
    order_date as revenue_date,
    count(*) as orders,
    count(*) filter (where status = 'returned') as returned_orders,
    sum(amount) filter (where status <> 'returned') as revenue,
    any_value(currency) as currency
from {{ ref('fct_orders') }}
where order_date = '{{ ds }}'
group by order_date
