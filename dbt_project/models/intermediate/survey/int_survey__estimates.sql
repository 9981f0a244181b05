{#- Ratio indicators in their published form: value = scale × R, se, 95 % interval (t with the wave's
    PSUs − strata df; proportions clipped to [0, 100]), CV and status. Suppressed cells keep their row. -#}
with

ratio_estimates as (
    select * from {{ ref('int_survey__ratio_estimates') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

waves as (
    select distinct period, df, wave_singleton_strata from {{ ref('int_survey__design') }}
),

rules as (
    {{ publication_rules() }}
),

scaled as (
    select
        ratio_estimates.*,
        registry.scale,
        coalesce(registry.w_proportion, false) as is_proportion,
        waves.df,
        sqrt(greatest(ratio_estimates.variance, 0)) as se_ratio,
        {{ t_975('waves.df') }} as t_crit,
    from ratio_estimates
    inner join registry using (indicator_code)
    inner join waves using (period)
    where registry.w_breakdowns is null
        or list_contains(string_split(registry.w_breakdowns, ';'), ratio_estimates.breakdown)
),

measured as (
    select
        *,
        scale * ratio as estimate,
        scale * se_ratio as se,
        {{ survey_cv('se_ratio', 'ratio', 'is_proportion') }} as cv,
    from scaled
),

intervals as (
    select
        *,
        case when is_proportion then greatest(estimate - t_crit * se, 0) else estimate - t_crit * se end
            as interval_lower,
        case when is_proportion then least(estimate + t_crit * se, scale) else estimate + t_crit * se end
            as interval_upper,
    from measured
),

final as (
    select
        intervals.indicator_code,
        intervals.period,
        intervals.scope,
        'W' as source,
        intervals.breakdown,
        {{ member_with_statistic('intervals.member', 'intervals.statistic') }} as member,
        intervals.statistic,
        intervals.estimate as value,
        intervals.y_sum as numerator,
        intervals.x_sum as denominator,
        cast(intervals.n_respondents as bigint) as n_unweighted,
        intervals.se,
        intervals.interval_lower as ci_lower,
        intervals.interval_upper as ci_upper,
        intervals.cv,
        -- An estimate at 0 (or a proportion at 100 %) has zero linearised variance and no CV: its interval
        -- [v, v] understates the uncertainty, so it is published as low reliability (U), never as normal (A).
        {{ survey_obs_status('intervals.period', 'intervals.n_respondents',
                             "coalesce(intervals.cv, 'infinity'::double)") }} as obs_status,
        {{ survey_conf_status('intervals.n_respondents', 'intervals.cv') }} as conf_status,
        cast(intervals.df as integer) as df,
        nullif(concat_ws('; ',
            case when intervals.singleton_strata > 0
                then intervals.singleton_strata || ' single-PSU strata contribute no variance' end,
            case when intervals.cv is null
                then 'CV undefined: the estimate sits at a bound with zero linearised variance' end
        ), '') as quality_note,
    from intervals
    cross join rules
)

select * from final
