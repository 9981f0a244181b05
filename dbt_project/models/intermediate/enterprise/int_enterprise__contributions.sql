{#- One row per current return × scope, with for every enterprise cell of the registry (indicator ×
    statistic, and compliance / compliance_emp where a legal threshold exists) the enterprise's numerator and
    denominator (columns num__<cell>, den__<cell>): null outside the indicator's domain or when an item it
    needs is missing. Compliance: num 1 (meets the threshold in force for the period) or 0, den 1;
    compliance_emp: the same weighted by employees_total. -#}
{#- A view: its two readers (int_enterprise__cells, enterprise_compliance_list) compute it for the periods
    they build, as DuckDB pushes their period filter through it, so its wide rows are never written. -#}
{{ config(materialized='view') }}
{%- set cells = enterprise_cells() -%}
{%- set breakdowns = enterprise_breakdowns() -%}

with

returns as (
    select * from {{ ref('int_enterprise__current_returns') }}
),

period_targets as (
    select * from {{ ref('int_targets_by_period') }}
),

thresholds as (
    select
        period,
        {{ threshold_columns(registry_rows('E')) }}
    from period_targets
    group by period
),

scoped as (
    {%- for scope in var('scopes') %}
    select '{{ scope.name }}' as scope, returns.* from returns where {{ scope.enterprise }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

evaluated as (
    select
        scoped.period,
        scoped.scope,
        scoped.uscc,
        {{ breakdown_columns(breakdowns) }}
        {%- for c in cells %}
        coalesce({{ c.domain }}, false) as in__{{ c.column }},
        cast({{ c.num }} as double) as raw_num__{{ c.column }},
        cast({{ c.den or 'null' }} as double) as raw_den__{{ c.column }},
        {%- endfor %}
    from scoped
    left join thresholds using (period)
),

final as (
    select
        period,
        scope,
        uscc,
        {%- for b in breakdowns if b.name != 'national' %}
        bd_{{ b.name }},
        {%- endfor %}
        {%- for c in cells %}
        {%- set ok = 'in__' ~ c.column ~ ' and raw_num__' ~ c.column ~ ' is not null'
            ~ ('' if c.kind == 'count' else ' and raw_den__' ~ c.column ~ ' is not null') %}
        case when {{ ok }} then raw_num__{{ c.column }} end as num__{{ c.column }},
        case when {{ ok }} then raw_den__{{ c.column }} end as den__{{ c.column }},
        {%- endfor %}
    from evaluated
)

select * from final
