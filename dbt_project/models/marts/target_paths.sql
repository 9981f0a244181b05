{#- The straight-line path to each dated target (interface.md), as data: one row per indicator with a base and a
    target in the seed indicator_targets (in force at the build's vintage) and per year from the base year to the
    target year. path_progress runs in a straight line from the base year's progress to 100 % in the target
    year; path_value is that share of the target, in the indicator's unit (TAL01–TAL03: craftsmen). -#}
with

targets as (
    select * from {{ ref('indicator_targets') }}
    where cast({{ vintage() }} as date) between valid_from and coalesce(valid_to, date '9999-12-31')
),

dated as (
    select
        target.indicator_code,
        base.target_year as base_year,
        base.value as base_progress,
        target.target_year,
        target.value as target_value,
        target.unit,
    from targets as target
    inner join targets as base
        on base.indicator_code = target.indicator_code and base.kind = 'base'
    where target.kind = 'target' and target.target_year > base.target_year
),

years as (
    select dated.*, unnest(range(base_year, target_year + 1)) as year
    from dated
),

final as (
    select
        indicator_code,
        cast(year as integer) as year,
        base_year,
        target_year,
        target_value,
        unit,
        {{ path_progress('base_progress', 'base_year', 'target_year', 'year') }} as path_progress,
        target_value * {{ path_progress('base_progress', 'base_year', 'target_year', 'year') }} / 100 as path_value,
    from years
)

select * from final
