{#- One row per respondent × scope, with for every ratio indicator × statistic of the registry the y and x
    it defines (columns y__<cell>, x__<cell>): both null outside the indicator's domain or when either item
    is missing, so the respondent drops out of both sums while the PSU stays in the design (its counts come
    from int_survey__design). Wide rather than long: one pass of the aggregation then serves every cell.
    A cell whose x is the constant 1 (`unit_x`: a mean or a proportion of the domain) has no x column: its x
    is 1 exactly where its y is not null, which int_survey__psu_totals reads from y, so the rows the ratio
    step aggregates once per breakdown carry one column per such cell instead of two. -#}
{#- A view: int_survey__ratio_estimates alone reads it, and DuckDB pushes that model's period filter through
    it down to the raw rows, so its wide rows are never written. -#}
{{ config(materialized='view') }}
{%- set cells = survey_ratio_cells() -%}
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
        {{ threshold_columns(registry_rows('W', kinds=['ratio'])) }}
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
        {%- for c in cells %}
        cast({{ c.y }} as double) as raw_y__{{ c.column }},
        cast({{ c.x }} as double) as raw_x__{{ c.column }},
        coalesce({{ c.domain }}, false) as in__{{ c.column }},
        {%- endfor %}
    from scoped
    left join thresholds using (period)
),

final as (
    select
        period,
        scope,
        stratum,
        psu,
        design_weight,
        {%- for b in breakdowns if b.name != 'national' %}
        bd_{{ b.name }},
        {%- endfor %}
        {%- for c in cells %}
        case when in__{{ c.column }} and raw_x__{{ c.column }} is not null then raw_y__{{ c.column }} end
            as y__{{ c.column }},
        {%- if not c.unit_x %}
        case when in__{{ c.column }} and raw_y__{{ c.column }} is not null then raw_x__{{ c.column }} end
            as x__{{ c.column }},
        {%- endif %}
        {%- endfor %}
    from evaluated
)

select * from final
