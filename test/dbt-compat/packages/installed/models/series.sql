select
    generated_number,
    {{ dbt_utils.width_bucket('generated_number', 0, 10, 4) }} as bucket,
    {{ dbt_utils.get_url_parameter("'https://x.nl/?utm_source=mail&utm_medium=web'", 'utm_medium') }} as medium,
    {{ dbt_utils.get_url_host("'https://x.nl/a/b'") }} as host,
    {{ dbt_utils.get_url_path("'https://x.nl/a/b?c=1'") }} as path,
    {{ dbt_utils.get_single_value("select max(order_id) from " ~ ref('orders'), default='0') }} as max_order
from ({{ dbt_utils.generate_series(upper_bound=8) }}) as series
