-- One row per indicator code found in the registry or among the published values: is it registered (how many
-- registry rows), does it have values, and which unit the registry gives it.
with registry as (
  select
    indicator_code,
    count(*) as registry_rows,
    min(unit) as unit,
  from {schema}.indicator_registry
  group by indicator_code
),

published as (
  select distinct indicator_code from {schema}.indicator_values
),

final as (
  select
    'indicator ' || coalesce(r.indicator_code, p.indicator_code, '(missing)') as label,
    coalesce(r.indicator_code, p.indicator_code) as indicator_code,
    coalesce(r.registry_rows, 0) as registry_rows,
    r.unit,
    r.indicator_code is not null as in_registry,
    p.indicator_code is not null as has_values,
  from registry as r
  full join published as p on p.indicator_code = r.indicator_code
)

select * from final
