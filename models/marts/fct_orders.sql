-- Each run replaces exactly one day: the rows whose order_date falls in [interval_start, interval_end).
select
    order_id,
    customer_id,
    order_date,
    status,
    product_name,
    quantity,
    {{ cents_to_amount('amount_cents') }} as amount,
    {{ var('currency') | sqlstring }} as currency
from {{ ref('order_lines') }}
where order_date >= '{{ interval_start }}'
  and order_date < '{{ interval_end }}'
