{#- Σ w·y and Σ w·x per PSU for every cell (indicator × statistic × breakdown member) in one pass over
    the observations (GROUPING SETS, one set per breakdown). -#}
{%- set breakdowns = survey_breakdowns() -%}
{%- set keys = ['period', 'scope', 'indicator_code', 'statistic', 'stratum', 'psu'] -%}

with

observations as (
    select * from {{ ref('int_survey__observations') }}
),

aggregated as (
    select
        period,
        scope,
        indicator_code,
        statistic,
        {{ breakdown_name(breakdowns) }} as breakdown,
        {{ breakdown_member(breakdowns) }} as member,
        stratum,
        psu,
        sum(design_weight * y) as y_total,
        sum(design_weight * x) as x_total,
        count(*) filter (where x <> 0) as n_respondents,
    from observations
    group by {{ breakdown_grouping_sets(breakdowns, keys) }}
),

final as (
    select * from aggregated
    where member is not null
)

select * from final
