{#- One row per respondent × scope × ratio indicator × statistic with the y and x the registry defines,
    the domain applied (y = x = 0 outside it) and items left empty dropped from both sums. Rows with
    y = x = 0 add nothing to any total and are left out; the design's PSU counts come from
    int_survey__design, so no PSU is lost to the variance. -#}
{%- set indicators = registry_rows('W', kinds=['ratio']) -%}
{%- set breakdowns = survey_breakdowns() -%}

with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

period_targets as (
    select * from {{ ref('int_targets_by_period') }}
),

thresholds as (
    select
        period,
        {{ threshold_columns(indicators) }}
    from period_targets
    group by period
),

scoped as (
    {%- for scope in var('scopes') %}
    select '{{ scope.name }}' as scope, responses.* from responses where {{ scope.survey }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

evaluated as (
    select
        scoped.period,
        scoped.scope,
        scoped.stratum,
        scoped.psu,
        scoped.design_weight,
        {{ breakdown_columns(breakdowns) }}
        unnest([
        {%- for ind in indicators %}
            {%- set domain = ind.w_domain_expr or 'true' %}
            {%- for s in registry_statistics(ind.w_statistics) %}
            {
                'indicator_code': '{{ ind.indicator_code }}',
                'statistic': '{{ s }}',
                'y': case when coalesce({{ domain }}, false)
                    then cast({{ registry_expr(ind.w_y_expr, s, ind.indicator_code) }} as double) else 0 end,
                'x': case when coalesce({{ domain }}, false)
                    then cast({{ registry_expr(ind.w_x_expr, s, ind.indicator_code) }} as double) else 0 end,
            },
            {%- endfor %}
        {%- endfor %}
        ], recursive := true),
    from scoped
    left join thresholds using (period)
),

final as (
    select * from evaluated
    where y is not null and x is not null and (y <> 0 or x <> 0)
)

select * from final
