{{ dbt.date_spine('month', "cast('2023-11-15' as date)", "cast('2024-04-01' as date)") }}
