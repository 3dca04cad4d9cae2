select {{ dbt_utils.star(from=ref('orders'), except=['discount', 'note'], relation_alias='o', prefix='o_') }}
from {{ ref('orders') }} as o
