-- One row per source and status pair: how many cells carry it, and how many of them still show a figure
-- (value, numerator or denominator).
with final as (
  select
    'source=' || coalesce(source, '(missing)') || ' obs_status=' || coalesce(obs_status, '(none)')
      || ' conf_status=' || coalesce(conf_status, '(none)') as label,
    source,
    obs_status,
    conf_status,
    count(*) as cells,
    count(*) filter (where value is not null or numerator is not null or denominator is not null)
      as figures_present,
  from {schema}.indicator_values
  group by source, obs_status, conf_status
)

select * from final
