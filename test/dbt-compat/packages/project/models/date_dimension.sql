{{ dbt_date.get_date_dimension('2023-12-20', '2025-01-10') }}
