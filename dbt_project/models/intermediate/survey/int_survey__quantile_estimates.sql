{#- Quantiles in their published form (Woodruff's interval and se from int_survey__quantile_intervals),
    with CV and the statuses, which move with the vintage (provisional), so rebuilt whole every build. -#}
with

measured as (
    select * from {{ ref('int_survey__quantile_intervals') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

rules as (
    {{ publication_rules() }}
),

final as (
    select
        measured.indicator_code,
        measured.period,
        measured.scope,
        'W' as source,
        measured.breakdown,
        {{ member_with_statistic('measured.member', 'measured.statistic') }} as member,
        measured.statistic,
        registry.scale * measured.quantile as value,
        cast(null as double) as numerator,
        measured.x_sum as denominator,
        cast(measured.n_respondents as bigint) as n_unweighted,
        registry.scale * measured.se as se,
        registry.scale * measured.interval_lower as ci_lower,
        registry.scale * measured.interval_upper as ci_upper,
        measured.se / nullif(abs(measured.quantile), 0) as cv,
        {{ survey_obs_status('measured.period', 'measured.n_respondents', 'measured.se / nullif(abs(measured.quantile), 0)') }} as obs_status,
        {{ survey_conf_status('measured.n_respondents', 'measured.se / nullif(abs(measured.quantile), 0)') }} as conf_status,
        cast(measured.df as integer) as df,
        case when measured.singleton_strata > 0
            then measured.singleton_strata || ' single-PSU strata contribute no variance'
        end as quality_note,
        measured.member as breakdown_member,
    from measured
    inner join registry using (indicator_code)
    cross join rules
)

select * from final
