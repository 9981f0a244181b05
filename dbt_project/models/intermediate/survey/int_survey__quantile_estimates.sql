{#- Quantiles in their published form (Woodruff's interval and se from int_survey__quantile_intervals),
    with CV and the statuses (macro survey_publication), which move with the vintage (provisional), so rebuilt
    whole every build. One row per indicator × statistic × member of its breakdowns' code lists in every wave
    and scope, n = 0 where the sample has nobody. -#}

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

{{ survey_cell_axes() }},

registry_cells as (
    {{ quantile_statistics() }}
),

grid as (
    select waves.period, scopes.scope, registry_cells.indicator_code, members.breakdown, members.member,
        registry_cells.statistic
    from waves
    cross join scopes
    cross join registry_cells
    inner join registry using (indicator_code)
    inner join members
        on registry.w_breakdowns is null
        or list_contains(string_split(registry.w_breakdowns, ';'), members.breakdown)
    union
    select period, scope, indicator_code, breakdown, member, statistic from measured
),

cells as (
    select
        grid.*,
        registry.scale * measured.quantile as estimate,
        measured.x_sum,
        coalesce(measured.n_respondents, 0) as n_respondents,
        coalesce(measured.singleton_strata, 0) as singleton_strata,
        measured.df,
        registry.scale * measured.se as se,
        registry.scale * measured.interval_lower as interval_lower,
        registry.scale * measured.interval_upper as interval_upper,
        measured.se / nullif(abs(measured.quantile), 0) as cv,
        coalesce(measured.se = 0, false) as zero_se_inside,
    from grid
    inner join registry using (indicator_code)
    left join measured using (period, scope, indicator_code, breakdown, member, statistic)
),

final as (
    select
        cells.indicator_code,
        cells.period,
        cells.scope,
        'W' as source,
        cells.breakdown,
        {{ member_with_statistic('cells.member', 'cells.statistic') }} as member,
        cells.statistic,
        {{ survey_publication('cells', numerator='cast(null as double)', denominator='cells.x_sum') }}
        cells.member as breakdown_member,
    from cells
    cross join rules
)

select * from final
