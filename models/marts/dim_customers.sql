{{ config(materialized='table', tags=['daily']) }}

-- Every customer with their lifetime figures up to and including the run's date.
select
    c.customer_id,
    c.customer_name,
    c.country,
    c.signed_up_on,
    count(f.order_id) as orders,
    coalesce(sum(f.amount) filter (where f.status <> 'returned'), 0) as lifetime_value,
    min(f.order_date) as first_order_date,
    max(f.order_date) as last_order_date
from {{ ref('stg_customers') }} as c
left join {{ ref('fct_orders') }} as f
    on f.customer_id = c.customer_id
   and f.order_date < '{{ interval_end }}'
group by all
order by c.customer_id
