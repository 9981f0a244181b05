{#- Skill premium (WAG02): P50(level) / P50(base level) − 1, × scale, from the quantile estimates of the
    indicator it derives from (w_of), for the levels above the base (w_base_member). No honest standard error
    without replicate weights, so se, interval and CV are null; the cell is suppressed when either median is,
    withheld for low reliability (U, value null) when either median is, and U when either is. -#}
{%- set premiums = registry_rows('W', kinds=['premium']) -%}

with

quantiles as (
    select * from {{ ref('int_survey__quantile_estimates') }}
),

rules as (
    {{ publication_rules() }}
),

premiums as (
    {%- for ind in premiums %}
    select
        '{{ ind.indicator_code }}' as indicator_code,
        level.period,
        level.scope,
        level.breakdown,
        level.breakdown_member as member,
        {{ ind.scale }} * (level.value / nullif(base.value, 0) - 1) as value,
        level.value as numerator,
        base.value as denominator,
        level.n_unweighted,
        level.obs_status = 'U' or base.obs_status = 'U' as low_reliability,
        level.conf_status <> 'F' or base.conf_status <> 'F' as suppressed,
        level.value is null or base.value is null as withheld,
    from quantiles as level
    inner join quantiles as base
        on level.period = base.period
        and level.scope = base.scope
        and level.indicator_code = base.indicator_code
        and level.breakdown = base.breakdown
        and level.statistic = base.statistic
        and base.breakdown_member = '{{ ind.w_base_member }}'
    where level.indicator_code = '{{ ind.w_of }}'
        and level.statistic = '{{ ind.w_statistics }}'
        and level.breakdown in ('{{ registry_statistics(ind.w_breakdowns) | join("', '") }}')
        and level.breakdown_member like 'L_'
        and level.breakdown_member > '{{ ind.w_base_member }}'
    union all
    {%- endfor %}
    select
        null as indicator_code, null as period, null as scope, null as breakdown, null as member,
        null as value, null as numerator, null as denominator, null as n_unweighted,
        null as low_reliability, null as suppressed, null as withheld,
    where false
),

final as (
    select
        premiums.indicator_code,
        premiums.period,
        premiums.scope,
        'W' as source,
        premiums.breakdown,
        premiums.member,
        '' as statistic,
        case when not premiums.withheld then premiums.value end as value,
        case when not premiums.withheld then premiums.numerator end as numerator,
        case when not premiums.withheld then premiums.denominator end as denominator,
        premiums.n_unweighted,
        cast(null as double) as se,
        cast(null as double) as ci_lower,
        cast(null as double) as ci_upper,
        cast(null as double) as cv,
        case
            when premiums.withheld and not premiums.suppressed then 'U'
            when {{ is_provisional('premiums.period', 'rules.provisional_days') }} then 'P'
            when premiums.low_reliability then 'U'
            else 'A'
        end as obs_status,
        case when premiums.suppressed then 'C' else 'F' end as conf_status,
        cast(null as integer) as df,
        case
            when premiums.withheld and not premiums.suppressed
                then 'withheld: a median it is computed from is withheld for low reliability'
            else 'no standard error: ratio of two medians'
        end as quality_note,
    from premiums
    cross join rules
)

select * from final
