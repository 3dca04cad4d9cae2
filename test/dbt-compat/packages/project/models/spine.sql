{{ dbt_utils.date_spine(datepart='day', start_date="cast('2024-02-25' as date)", end_date="cast('2024-03-03' as date)") }}
