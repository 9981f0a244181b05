{#- Woodruff's interval per quantile cell (vintage-free, so incremental by period): the point quantiles
    (macro quantile_points) and the PSU totals of 1(y ≤ q_p) (macro quantile_psu_totals), the Taylor se of
    F̂(q_p) (the proportion, domain-aware), the interval p ± t·se on the probability scale clipped to [0, 1]
    with t on the cell's own design df (PSUs with a respondent in it minus their strata),
    the quantiles read at its two ends as the 95 % interval, and se = (upper − lower) / (2t). The PSU totals
    (1.6 M rows at national scale) are a step of this query, not a model: stored, they would cost a write and
    a read, and as a view the period filter would not reach inside the CDF's windows. The weighted CDF serves
    the points and the interval's ends. -#}
{{ incremental_by_period() }}
{%- set keys = ['period', 'scope', 'indicator_code', 'breakdown', 'member'] -%}

with

observations as (
    select * from {{ ref('int_survey__quantile_observations') }}
    where {{ period_filter('survey') }}
),

cdf as (
    select * from {{ weighted_cdf('observations', keys) }}
),

points as (
    select * from {{ quantile_points('cdf', keys) }}
),

psu_totals as (
    select * from {{ quantile_psu_totals('observations', 'points', keys) }}
),

strata as (
    select * from {{ ref('int_survey__design') }}
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
        proportion_variance.df,
        {{ t_975('proportion_variance.df') }} as t_crit,
        sqrt(greatest(proportion_variance.variance, 0)) as se_proportion,
    from points
    inner join proportion_variance using ({{ keys | join(', ') }}, statistic)
),

bound_probabilities as (
    select * exclude (quantile), 'lower' as side, greatest(p - t_crit * se_proportion, 0) as p_bound
    from bounds
    union all
    select * exclude (quantile), 'upper' as side, least(p + t_crit * se_proportion, 1) as p_bound
    from bounds
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
