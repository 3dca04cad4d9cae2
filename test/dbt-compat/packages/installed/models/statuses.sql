{%- set statuses = dbt_utils.get_column_values(table=ref('orders'), column='status', order_by='status', default=[]) -%}
{%- set listed = dbt_utils.get_filtered_columns_in_relation(from=ref('orders'), except=['note']) -%}
select
{%- for s in statuses %}
    {{ loop.index }} as {{ dbt_utils.slugify(s) }}_position,
{%- endfor %}
    '{{ listed | join(",") }}' as columns_kept,
    {{ dbt_utils.safe_divide('4', '0') }} as safe_zero,
    {{ dbt_utils.safe_subtract(['10', '3', '2']) }} as subtracted,
    {{ dbt_utils.haversine_distance(52.37, 4.89, 51.92, 4.48) }} as km
