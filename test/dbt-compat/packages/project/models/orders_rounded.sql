select order_id, status, round(amount) as amount, ordered_at from {{ ref('orders') }}
