{{ dbt_utils.unpivot(relation=ref('orders_rounded'), cast_to=dbt.type_string(), exclude=['order_id'], remove=['ordered_at'], field_name='field', value_name='value') }}
