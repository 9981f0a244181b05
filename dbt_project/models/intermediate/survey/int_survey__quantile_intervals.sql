{#- Woodruff's interval per quantile cell (vintage-free, so incremental by period): the Taylor se of F̂(q_p)
    (the proportion 1(y ≤ q_p), domain-aware), the interval p ± t·se on the probability scale clipped to
    [0, 1], the quantiles read at its two ends as the 95 % interval, and se = (upper − lower) / (2t). -#}
{{ incremental_by_period() }}
{%- set keys = ['period', 'scope', 'indicator_code', 'breakdown', 'member'] -%}

with

psu_totals as (
    select * from {{ ref('int_survey__quantile_psu_totals') }}
    where {{ period_filter('survey') }}
),

strata as (
    select * from {{ ref('int_survey__design') }}
),

observations as (
    select * from {{ ref('int_survey__quantile_observations') }}
    where {{ period_filter('survey') }}
),

waves as (
    select distinct period, df from {{ ref('int_survey__design') }}
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
    select * from measured
)

select * from final
