{#- Point quantiles per cell and statistic (macro weighted_quantile), and for Woodruff's method the PSU
    totals of the proportion 1(y ≤ q_p) over the cell's respondents, for the Taylor machinery. -#}
{%- set indicators = registry_rows('W', kinds=['quantile']) -%}
{%- set keys = ['period', 'scope', 'indicator_code', 'breakdown', 'member'] -%}

with

observations as (
    select * from {{ ref('int_survey__quantile_observations') }}
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

psu_totals as (
    select
        {{ keys | join(', ') }},
        points.statistic,
        observations.stratum,
        observations.psu,
        sum(observations.design_weight * cast(observations.y <= points.quantile as integer)) as y_total,
        sum(observations.design_weight) as x_total,
        count(*) as n_respondents,
        any_value(points.p) as p,
        any_value(points.quantile) as quantile,
    from observations
    inner join points using ({{ keys | join(', ') }})
    group by all
),

final as (
    select * from psu_totals
)

select * from final
