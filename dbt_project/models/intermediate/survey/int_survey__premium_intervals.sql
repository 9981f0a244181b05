{#- Skill premium (WAG02) with its linearised standard error (vintage-free, so incremental by period).

    R = q_L / q_0: the quantile `w_statistics` of the indicator `w_of` at a level L over the same quantile at
    the base level (`w_base_member`), both from int_survey__quantile_intervals; the premium is scale × (R − 1).
    Each quantile's influence on a respondent k of its domain d is −1/f_d · (1(y_k ≤ q_d) − F̂_d) / N̂_d, with
    F̂_d = F̂(q_d), N̂_d the domain's weight and 1/f_d = se(q_d) / se(F̂(q_d)), the slope of the quantile
    function that Woodruff's interval reads (so each quantile's own linearised variance is its published
    Woodruff se²). R's score is u = (s_L − R·s_0) / q_0; its PSU totals give the variance as for any ratio
    (v = Σ_h n_h / (n_h − 1) Σ_i (u_hi − ū_h)², absent PSUs with u = 0, single-PSU strata contribute 0). Both
    domains share PSUs, so the covariance of the two medians is in it. df: the smaller of the two quantiles'
    own design df (a premium is no more reliable than its less reliable median; the PSUs of the union of the
    two domains would lend a level of a few respondents in one PSU the df of the base level). -#}
{{ incremental_by_period() }}
{%- set premiums = registry_rows('W', kinds=['premium']) -%}

with

observations as (
    select * from {{ ref('int_survey__quantile_observations') }}
    where {{ period_filter('survey') }}
),

quantiles as (
    select * from {{ ref('int_survey__quantile_intervals') }}
    where {{ period_filter('survey') }}
),

strata as (
    select * from {{ ref('int_survey__design') }}
),

pairs as (
    {%- for ind in premiums %}
    select
        '{{ ind.indicator_code }}' as indicator_code,
        level.period,
        level.scope,
        level.indicator_code as quantile_code,
        level.statistic,
        level.breakdown,
        level.member,
        base.member as base_member,
        level.quantile / nullif(base.quantile, 0) as ratio,
        level.quantile as level_quantile,
        base.quantile as base_quantile,
        least(level.df, base.df) as df,
    from quantiles as level
    inner join quantiles as base
        on level.period = base.period
        and level.scope = base.scope
        and level.indicator_code = base.indicator_code
        and level.breakdown = base.breakdown
        and level.statistic = base.statistic
        and base.member = '{{ ind.w_base_member }}'
    where level.indicator_code = '{{ ind.w_of }}'
        and level.statistic = '{{ ind.w_statistics }}'
        and level.breakdown in ('{{ registry_statistics(ind.w_breakdowns) | join("', '") }}')
        and level.member like 'L_'
        and level.member > '{{ ind.w_base_member }}'
    union all
    {%- endfor %}
    select
        null as indicator_code, null as period, null as scope, null as quantile_code, null as statistic,
        null as breakdown, null as member, null as base_member, null as ratio, null as level_quantile,
        null as base_quantile, null as df,
    where false
),

{#- the quantiles the premiums are built from: each level and each base once -#}
used_quantiles as (
    select
        quantiles.period,
        quantiles.scope,
        quantiles.indicator_code,
        quantiles.statistic,
        quantiles.breakdown,
        quantiles.member,
        quantiles.quantile,
        quantiles.se / nullif(quantiles.se_proportion, 0) as slope,
    from quantiles
    where exists (
        select 1 from pairs
        where pairs.period = quantiles.period
            and pairs.scope = quantiles.scope
            and pairs.quantile_code = quantiles.indicator_code
            and pairs.statistic = quantiles.statistic
            and pairs.breakdown = quantiles.breakdown
            and quantiles.member in (pairs.member, pairs.base_member)
    )
),

member_psus as (
    select
        q.period,
        q.scope,
        q.indicator_code,
        q.statistic,
        q.breakdown,
        q.member,
        o.stratum,
        o.psu,
        sum(o.design_weight * cast(o.y <= q.quantile as integer)) as y_total,
        sum(o.design_weight) as x_total,
        count(*) as n_respondents,
    from observations as o
    inner join used_quantiles as q
        on o.period = q.period
        and o.scope = q.scope
        and o.indicator_code = q.indicator_code
        and o.breakdown = q.breakdown
        and o.member = q.member
    group by all
),

member_totals as (
    select
        period, scope, indicator_code, statistic, breakdown, member,
        sum(y_total) / sum(x_total) as cdf,
        sum(x_total) as x_sum,
        sum(n_respondents) as n_respondents,
    from member_psus
    group by all
),

{#- s_hi = −slope · (Y_hi − F̂·X_hi) / N̂: each quantile's PSU scores -#}
member_scores as (
    select
        p.period, p.scope, p.indicator_code, p.statistic, p.breakdown, p.member, p.stratum, p.psu,
        p.n_respondents,
        -q.slope * (p.y_total - t.cdf * p.x_total) / t.x_sum as score,
    from member_psus as p
    inner join member_totals as t using (period, scope, indicator_code, statistic, breakdown, member)
    inner join used_quantiles as q using (period, scope, indicator_code, statistic, breakdown, member)
),

{#- u_hi = (s_L,hi − R·s_0,hi) / q_0 per premium cell and PSU -#}
premium_scores as (
    select
        pairs.indicator_code, pairs.period, pairs.scope, pairs.breakdown, pairs.member,
        s.stratum,
        s.psu,
        sum(
            case when s.member = pairs.member then s.score else -pairs.ratio * s.score end
        ) / nullif(pairs.base_quantile, 0) as u,
    from pairs
    inner join member_scores as s
        on s.period = pairs.period
        and s.scope = pairs.scope
        and s.indicator_code = pairs.quantile_code
        and s.statistic = pairs.statistic
        and s.breakdown = pairs.breakdown
        and s.member in (pairs.member, pairs.base_member)
    group by
        pairs.indicator_code, pairs.period, pairs.scope, pairs.breakdown, pairs.member, s.stratum, s.psu,
        pairs.base_quantile
),

stratum_sums as (
    select
        indicator_code, period, scope, breakdown, member, stratum,
        sum(u) as u_sum,
        sum(u * u) as uu_sum,
    from premium_scores
    group by all
),

premium_variance as (
    select
        t.indicator_code, t.period, t.scope, t.breakdown, t.member,
        sum(
            case
                when s.n_psu > 1 then s.n_psu / (s.n_psu - 1.0) * greatest(t.uu_sum - t.u_sum * t.u_sum / s.n_psu, 0)
                else 0
            end
        ) as variance,
        count(*) filter (where s.n_psu = 1) as singleton_strata,
    from stratum_sums as t
    inner join strata as s using (period, stratum)
    group by all
),

cells as (
    select
        pairs.indicator_code,
        pairs.period,
        pairs.scope,
        pairs.breakdown,
        pairs.member,
        pairs.ratio,
        pairs.level_quantile,
        pairs.base_quantile,
        sqrt(greatest(v.variance, 0)) as se_ratio,
        level.n_respondents as n_level,
        base.n_respondents as n_base,
        v.singleton_strata,
        pairs.df,
    from pairs
    inner join member_totals as level
        on level.period = pairs.period and level.scope = pairs.scope and level.indicator_code = pairs.quantile_code
        and level.statistic = pairs.statistic and level.breakdown = pairs.breakdown and level.member = pairs.member
    inner join member_totals as base
        on base.period = pairs.period and base.scope = pairs.scope and base.indicator_code = pairs.quantile_code
        and base.statistic = pairs.statistic and base.breakdown = pairs.breakdown and base.member = pairs.base_member
    left join premium_variance as v
        on v.indicator_code = pairs.indicator_code and v.period = pairs.period and v.scope = pairs.scope
        and v.breakdown = pairs.breakdown and v.member = pairs.member
),

final as (
    select
        cells.*,
        {{ t_975('cells.df') }} as t_crit,
    from cells
)

select * from final
