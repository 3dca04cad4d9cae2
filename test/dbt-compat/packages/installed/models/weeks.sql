select
    date_day,
    {{ dbt_date.day_of_week('date_day', isoweek=true) }} as iso_day,
    {{ dbt_date.day_name('date_day', short=false) }} as day_name,
    {{ dbt_date.week_start('date_day') }} as week_start,
    {{ dbt_date.iso_week_of_year('date_day') }} as iso_week,
    {{ dbt_date.n_days_ago(3, 'date_day') }} as three_days_before
from {{ ref('spine') }}
