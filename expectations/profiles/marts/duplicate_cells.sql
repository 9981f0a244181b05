-- One row for the marts: how many cells (indicator_code, period, scope, source, breakdown, member) hold more than
-- one value. The table keeps the latest vintage only, so a cell has exactly one row.
with repeated as (
  select count(*) as copies
  from {schema}.indicator_values
  group by indicator_code, period, scope, source, breakdown, member
  having count(*) > 1
),

final as (
  select
    'indicator_values' as label,
    (select count(*) from {schema}.indicator_values) as cells,
    count(*) as duplicate_cells,
    coalesce(sum(copies), 0) as rows_in_duplicate_cells,
  from repeated
)

select * from final
