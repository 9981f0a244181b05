{#- Skill premium (WAG02) in its published form: value scale × (R − 1), its linearised se and the interval
    value ± t(0.975, df)·se on the cell's own df (from int_survey__premium_intervals), CV = se(R) / R (the
    premium is a ratio of medians less one: its CV would be undefined where the two medians are equal), and
    the statuses (macro survey_publication), which move with the vintage (provisional), so rebuilt whole every
    build. n_unweighted: the respondents at the level; confidential when either median's domain has fewer
    than min_n respondents; withheld when either median is withheld (a premium is no more reliable than its
    medians, and its numerator and denominator would show a withheld median). One row per level above the
    base level in every wave and scope, n = 0 where the sample has nobody. -#}
{%- set premiums = registry_rows('W', kinds=['premium']) -%}

with

measured as (
    select * from {{ ref('int_survey__premium_intervals') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

rules as (
    {{ publication_rules() }}
),

quantiles as (
    select period, scope, indicator_code, breakdown, member, withheld
    from {{ ref('int_survey__quantile_estimates') }}
),

{{ survey_cell_axes() }},

grid as (
    {%- for ind in premiums %}
    select waves.period, scopes.scope, '{{ ind.indicator_code }}' as indicator_code, members.breakdown, members.member
    from waves
    cross join scopes
    inner join members
        on members.breakdown in ('{{ registry_statistics(ind.w_breakdowns) | join("', '") }}')
        and members.member like 'L_'
        and members.member > '{{ ind.w_base_member }}'
    union
    {%- endfor %}
    select period, scope, indicator_code, breakdown, member from measured
),

cells as (
    select
        grid.*,
        registry.scale * (measured.ratio - 1) as estimate,
        measured.ratio,
        measured.level_quantile,
        measured.base_quantile,
        coalesce(measured.n_level, 0) as n_respondents,
        least(coalesce(measured.n_level, 0), coalesce(measured.n_base, 0)) as smallest_domain,
        coalesce(measured.singleton_strata, 0) as singleton_strata,
        measured.df,
        registry.scale * measured.se_ratio as se,
        registry.scale * (measured.ratio - 1 - measured.t_crit * measured.se_ratio) as interval_lower,
        registry.scale * (measured.ratio - 1 + measured.t_crit * measured.se_ratio) as interval_upper,
        measured.se_ratio / nullif(measured.ratio, 0) as cv,
        coalesce(measured.se_ratio = 0, false) as zero_se_inside,
        case
            when level.withheld is not null then 'withheld: the median at the level is withheld'
            when base.withheld is not null then 'withheld: the median at the base level is withheld'
        end as median_withheld,
    from grid
    inner join registry using (indicator_code)
    left join measured using (period, scope, indicator_code, breakdown, member)
    left join quantiles as level
        on level.period = grid.period and level.scope = grid.scope and level.indicator_code = registry.w_of
        and level.breakdown = grid.breakdown and level.member = grid.member || '|' || registry.w_statistics
    left join quantiles as base
        on base.period = grid.period and base.scope = grid.scope and base.indicator_code = registry.w_of
        and base.breakdown = grid.breakdown and base.member = registry.w_base_member || '|' || registry.w_statistics
),

final as (
    select
        cells.indicator_code,
        cells.period,
        cells.scope,
        'W' as source,
        cells.breakdown,
        cells.member,
        '' as statistic,
        {{ survey_publication(
            'cells', numerator='cells.level_quantile', denominator='cells.base_quantile',
            respondents='cells.smallest_domain', withheld_with='cells.median_withheld'
        ) }}
    from cells
    cross join rules
)

select * from final
