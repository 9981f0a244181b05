{#- Quantiles in their published form, with Woodruff's standard error: the Taylor se of F̂(q_p) (the
    proportion 1(y ≤ q_p), domain-aware), the interval p ± t·se on the probability scale clipped to [0, 1],
    the quantiles read at its two ends as the 95 % interval, and se = (upper − lower) / (2t). -#}
{%- set keys = ['period', 'scope', 'indicator_code', 'breakdown', 'member'] -%}

with

psu_totals as (
    select * from {{ ref('int_survey__quantile_psu_totals') }}
),

strata as (
    select * from {{ ref('int_survey__design') }}
),

observations as (
    select * from {{ ref('int_survey__quantile_observations') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

waves as (
    select distinct period, df from {{ ref('int_survey__design') }}
),

rules as (
    {{ publication_rules() }}
),

points as (
    select distinct {{ keys | join(', ') }}, statistic, p, quantile from psu_totals
),

proportion_variance as (
    select * from {{ taylor_ratio(
        'psu_totals', 'strata', keys + ['statistic']
    ) }}
),

bounds as (
    select
        points.*,
        proportion_variance.x_sum,
        proportion_variance.n_respondents,
        proportion_variance.singleton_strata,
        waves.df,
        {{ t_975('waves.df') }} as t_crit,
        sqrt(greatest(proportion_variance.variance, 0)) as se_proportion,
    from points
    inner join proportion_variance using ({{ keys | join(', ') }}, statistic)
    inner join waves using (period)
),

bound_probabilities as (
    select * exclude (quantile), 'lower' as side, greatest(p - t_crit * se_proportion, 0) as p_bound
    from bounds
    union all
    select * exclude (quantile), 'upper' as side, least(p + t_crit * se_proportion, 1) as p_bound
    from bounds
),

cdf as (
    select * from {{ weighted_cdf('observations', keys) }}
),

bound_quantiles as (
    select * from {{ weighted_quantile('bound_probabilities', 'cdf', keys, 'p_bound') }}
),

intervals as (
    select
        {{ keys | join(', ') }},
        statistic,
        any_value(quantile) filter (where side = 'lower') as interval_lower,
        any_value(quantile) filter (where side = 'upper') as interval_upper,
    from bound_quantiles
    group by all
),

measured as (
    select
        bounds.*,
        intervals.interval_lower,
        intervals.interval_upper,
        (intervals.interval_upper - intervals.interval_lower) / (2 * bounds.t_crit) as se,
    from bounds
    inner join intervals using ({{ keys | join(', ') }}, statistic)
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
