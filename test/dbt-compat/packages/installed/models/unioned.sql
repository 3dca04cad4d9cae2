{{ dbt_utils.union_relations(relations=[ref('orders'), ref('orders_rounded')], exclude=['note'], source_column_name='from_relation') }}
