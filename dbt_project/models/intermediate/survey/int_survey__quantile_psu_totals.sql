{#- Point quantiles per cell and statistic (macro weighted_quantile), and for Woodruff's method the PSU
    totals of the proportion 1(y ≤ q_p) over the cell's respondents, for the Taylor machinery. -#}
{{ incremental_by_period() }}
{%- set indicators = registry_rows('W', kinds=['quantile']) -%}
{%- set keys = ['period', 'scope', 'indicator_code', 'breakdown', 'member'] -%}
{%- set all_statistics = [] -%}
{%- for ind in indicators -%}
    {%- for s in registry_statistics(ind.w_statistics) if s not in all_statistics -%}
        {%- do all_statistics.append(s) -%}
    {%- endfor -%}
{%- endfor -%}

with

observations as (
    select * from {{ ref('int_survey__quantile_observations') }}
    where {{ period_filter('survey') }}
),

registry_statistics as (
    {%- for ind in indicators %}
    {%- for s in registry_statistics(ind.w_statistics) %}
    select '{{ ind.indicator_code }}' as indicator_code, '{{ s }}' as statistic
    union all
    {%- endfor %}
    {%- endfor %}
    select null as indicator_code, null as statistic where false
),

cdf as (
    select * from {{ weighted_cdf('observations', keys) }}
),

probabilities as (
    select distinct
        {{ keys | join(', ') }},
        registry_statistics.statistic,
        {{ quantile_probability('registry_statistics.statistic') }} as p,
    from observations
    inner join registry_statistics using (indicator_code)
),

points as (
    select * from {{ weighted_quantile('probabilities', 'cdf', keys) }}
),

{#- one row per cell with its quantiles side by side, so each respondent joins once, not once per p -#}
points_by_cell as (
    select
        {{ keys | join(', ') }},
        {%- for s in all_statistics %}
        any_value(quantile) filter (where statistic = '{{ s }}') as q__{{ s | lower }},
        {%- endfor %}
    from points
    group by {{ keys | join(', ') }}
),

psu_sums as (
    select
        {{ keys | join(', ') }},
        observations.stratum,
        observations.psu,
        {%- for s in all_statistics %}
        sum(observations.design_weight * cast(observations.y <= points_by_cell.q__{{ s | lower }} as integer))
            as y__{{ s | lower }},
        {%- endfor %}
        sum(observations.design_weight) as x_total,
        count(*) as n_respondents,
    from observations
    inner join points_by_cell using ({{ keys | join(', ') }})
    group by {{ keys | join(', ') }}, observations.stratum, observations.psu
),

psu_totals as (
    select
        {{ keys | join(', ') }},
        points.statistic,
        psu_sums.stratum,
        psu_sums.psu,
        case points.statistic
            {%- for s in all_statistics %}
            when '{{ s }}' then psu_sums.y__{{ s | lower }}
            {%- endfor %}
        end as y_total,
        psu_sums.x_total,
        psu_sums.n_respondents,
        points.p,
        points.quantile,
    from psu_sums
    inner join points using ({{ keys | join(', ') }})
),

final as (
    select * from psu_totals
)

select * from final
