{#- R = Y / X and its Taylor variance per cell (macro taylor_ratio_wide), on the ratio scale (not yet × scale). -#}
{{ incremental_by_period() }}
with

psu_totals as (
    select * from {{ ref('int_survey__psu_totals') }}
    where {{ period_filter('survey') }}
),

strata as (
    select * from {{ ref('int_survey__design') }}
),

estimates as (
    select * from {{ taylor_ratio_wide(
        'psu_totals', 'strata',
        ['period', 'scope', 'breakdown', 'member'],
        survey_ratio_cells()
    ) }}
),

final as (
    select * from estimates
)

select * from final
