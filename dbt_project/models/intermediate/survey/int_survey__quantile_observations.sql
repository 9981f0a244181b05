{#- One row per respondent × scope × quantile indicator × breakdown member (the indicator's own breakdowns,
    w_breakdowns) with the variable y; respondents without the item are left out. -#}
{{ incremental_by_period() }}
{%- set indicators = registry_rows('W', kinds=['quantile']) -%}
{%- set breakdowns = survey_breakdowns() -%}

with

responses as (
    select * from {{ ref('stg_survey__responses') }}
    where {{ period_filter('survey') }}
),

scoped as (
    {%- for scope in var('scopes') %}
    select '{{ scope.name }}' as scope, responses.* from responses where {{ scope.survey }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

evaluated as (
    select
        period,
        scope,
        stratum,
        psu,
        design_weight,
        unnest([
        {%- for ind in indicators %}
            {%- set wanted = registry_statistics(ind.w_breakdowns) %}
            {%- for b in breakdowns if b.name in wanted %}
            {
                'indicator_code': '{{ ind.indicator_code }}',
                'breakdown': '{{ b.name }}',
                'member': {{ b.expr }},
                'y': cast({{ ind.w_y_expr }} as double),
            },
            {%- endfor %}
        {%- endfor %}
        ], recursive := true),
    from scoped
),

final as (
    select * from evaluated
    where member is not null and y is not null
)

select * from final
