{#- Ratio indicators in their published form: value = scale × R, se, 95 % interval, CV and status, one row
    per indicator × statistic × breakdown member of the code lists (macro survey_breakdown_members) in every
    wave and scope, n = 0 where the sample has nobody.
    Interval: proportions Korn–Graubard (int_survey__proportion_intervals), means and ratios value ± t·se,
    t on the cell's own design df. Status (statistics.md, rules from the seed publication_rules, macro
    survey_publication): confidential (C) below min_n respondents; withheld for low reliability (U, value
    and every figure null, the reason in quality_note) when df < min_df, CV > cv_suppress, se = 0 with the
    estimate strictly inside its bounds, or no interval of positive width; U when published with a CV
    above cv_low or undefined (a proportion at 0 or 1); P while the period is provisional. -#}
{%- set cells = survey_ratio_cells() -%}

with

ratio_estimates as (
    select * from {{ ref('int_survey__ratio_estimates') }}
),

proportion_intervals as (
    select * from {{ ref('int_survey__proportion_intervals') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

rules as (
    {{ publication_rules() }}
),

{{ survey_cell_axes() }},

registry_cells as (
    {%- for c in cells %}
    select '{{ c.code }}' as indicator_code, '{{ c.statistic }}' as statistic
    union all
    {%- endfor %}
    select null as indicator_code, null as statistic where false
),

published_cells as (
    select
        registry_cells.indicator_code,
        registry_cells.statistic,
        members.breakdown,
        members.member,
    from registry_cells
    inner join registry using (indicator_code)
    cross join members
    where registry.w_breakdowns is null
        or list_contains(string_split(registry.w_breakdowns, ';'), members.breakdown)
),

grid as (
    select waves.period, scopes.scope, published_cells.*
    from waves
    cross join scopes
    cross join published_cells
    union
    select ratio_estimates.period, ratio_estimates.scope, ratio_estimates.indicator_code,
        ratio_estimates.statistic, ratio_estimates.breakdown, ratio_estimates.member
    from ratio_estimates
    inner join registry using (indicator_code)
    where registry.w_breakdowns is null
        or list_contains(string_split(registry.w_breakdowns, ';'), ratio_estimates.breakdown)
),

scaled as (
    select
        grid.*,
        ratio_estimates.y_sum,
        ratio_estimates.x_sum,
        ratio_estimates.ratio,
        coalesce(ratio_estimates.n_respondents, 0) as n_respondents,
        coalesce(ratio_estimates.singleton_strata, 0) as singleton_strata,
        ratio_estimates.df,
        registry.scale,
        coalesce(registry.w_proportion, false) as is_proportion,
        sqrt(greatest(ratio_estimates.variance, 0)) as se_ratio,
        {{ t_975('ratio_estimates.df') }} as t_crit,
        proportion_intervals.kg_lower,
        proportion_intervals.kg_upper,
    from grid
    inner join registry using (indicator_code)
    left join ratio_estimates using (period, scope, indicator_code, statistic, breakdown, member)
    left join proportion_intervals using (period, scope, indicator_code, statistic, breakdown, member)
),

measured as (
    select
        *,
        scale * ratio as estimate,
        scale * se_ratio as se,
        {{ survey_cv('se_ratio', 'ratio', 'is_proportion') }} as cv,
        case
            when is_proportion then scale * kg_lower
            else scale * (ratio - t_crit * se_ratio)
        end as interval_lower,
        case
            when is_proportion then scale * kg_upper
            else scale * (ratio + t_crit * se_ratio)
        end as interval_upper,
        -- the bounds a value of the cell can take: [0, 1] for a proportion, none for a mean or a ratio
        se_ratio = 0 and (not is_proportion or (ratio > 0 and ratio < 1)) as zero_se_inside,
    from scaled
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
        {{ survey_publication('measured') }}
    from measured
    cross join rules
)

select * from final
