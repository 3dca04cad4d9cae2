{{ dbt_date.get_base_dates(start_date='2024-02-26', end_date='2024-03-04') }}
