{#- No source column: dbt names a relation in three parts ("warehouse"."main"."orders"), pipe in two. -#}
{{ dbt_utils.union_relations(relations=[ref('orders'), ref('orders_rounded')], exclude=['note'], source_column_name=none) }}
