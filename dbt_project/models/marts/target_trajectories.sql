{#- The road to the dated targets (interface.md): for every indicator with a path (target_paths; TAL01–TAL03)
    and every period of its national cell, the value against the path of the period's year, the distance from
    it, the rate of progress so far and the rate needed from now on to reach the target in the target year.
    A quarter counts as its calendar year, as TAL04 does. Figures are null where the national cell is
    suppressed (its conf_status is carried). -#}
with

paths as (
    select * from {{ ref('target_paths') }}
),

cells as (
    select * from {{ ref('int_indicator_values') }}
    where breakdown = 'national' and member = 'CN'
),

base as (
    select indicator_code, path_value as base_value
    from paths
    where year = base_year
),

final as (
    select
        cells.indicator_code,
        cells.period,
        cells.scope,
        cells.source,
        cells.value,
        paths.target_value,
        paths.target_year,
        paths.base_year,
        base.base_value,
        paths.path_value,
        cells.value - paths.path_value as distance_from_path,
        100 * cells.value / paths.target_value as progress,
        paths.path_progress,
        paths.target_year - paths.year as years_left,
        case
            when paths.year > paths.base_year then (cells.value - base.base_value) / (paths.year - paths.base_year)
        end as rate_so_far,
        case
            when paths.target_year > paths.year then (paths.target_value - cells.value) / (paths.target_year - paths.year)
        end as rate_needed,
        paths.unit,
        cells.obs_status,
        cells.conf_status,
        cells.vintage,
    from cells
    inner join paths
        on paths.indicator_code = cells.indicator_code
        and paths.year = {{ period_year('cells.period') }}
    inner join base on base.indicator_code = cells.indicator_code
)

select * from final
