-- Two rows per published indicator: its smallest and its largest value (suppressed cells, value null, left out),
-- with the unit its registry row gives. An indicator missing from the registry has a null unit.
with published as (
  select
    indicator_code,
    min(value) as min_value,
    max(value) as max_value,
  from {schema}.indicator_values
  where value is not null
  group by indicator_code
),

extremes as (
  select indicator_code, 'min' as extreme, min_value as value from published
  union all
  select indicator_code, 'max' as extreme, max_value as value from published
),

final as (
  select
    e.indicator_code || ' ' || e.extreme || ' (' || coalesce(r.unit, 'no unit') || ')' as label,
    e.indicator_code,
    r.unit,
    e.extreme,
    e.value,
  from extremes as e
  left join (select distinct indicator_code, unit from {schema}.indicator_registry) as r using (indicator_code)
)

select * from final
