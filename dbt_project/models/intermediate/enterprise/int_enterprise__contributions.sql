{#- One row per current return × scope × indicator × statistic: the enterprise's numerator and denominator
    as the registry defines them (domain applied by dropping the row: enterprises are a census, there is no
    variance to protect), plus the compliance statistics where a threshold exists:
    `compliance` (meets the threshold: 1/0 among the base) and `compliance_emp` (its employees_total). -#}
{%- set indicators = registry_rows('E', kinds=['ratio', 'share_of_enterprises', 'count']) -%}
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
        {{ threshold_columns(indicators) }}
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
        unnest([
        {%- for ind in indicators %}
            {%- set code = ind.indicator_code %}
            {%- set domain = ind.e_domain_expr or 'true' %}
            {%- for s in registry_statistics(ind.e_statistics) %}
            {
                'indicator_code': '{{ code }}',
                'statistic': '{{ s }}',
                'kind': '{{ ind.e_kind }}',
                'in_domain': coalesce({{ domain }}, false),
                'num': cast({{ registry_expr(ind.e_num_expr, s, code) }} as double),
                'den': cast({{ registry_expr(ind.e_den_expr or 'null', s, code) }} as double),
                'dominance': {{ 'true' if ind.e_dominance else 'false' }},
            },
            {%- endfor %}
            {%- if ind.e_compliance_expr %}
            {%- set meets = registry_expr(ind.e_compliance_expr, '', code) %}
            {%- set base = 'coalesce(' ~ domain ~ ', false) and coalesce(' ~ registry_expr(ind.e_compliance_base_expr or 'true', '', code) ~ ', false)' %}
            {
                'indicator_code': '{{ code }}',
                'statistic': 'compliance',
                'kind': 'ratio',
                'in_domain': {{ base }},
                'num': cast(case when {{ meets }} then 1 when not ({{ meets }}) then 0 end as double),
                'den': 1.0,
                'dominance': false,
            },
            {
                'indicator_code': '{{ code }}',
                'statistic': 'compliance_emp',
                'kind': 'ratio',
                'in_domain': {{ base }},
                'num': cast(case when {{ meets }} then employees_total when not ({{ meets }}) then 0 end as double),
                'den': cast(employees_total as double),
                'dominance': true,
            },
            {%- endif %}
        {%- endfor %}
        ], recursive := true),
    from scoped
    left join thresholds using (period)
),

final as (
    select * exclude (in_domain) from evaluated
    where in_domain
        and num is not null
        and (kind = 'count' or den is not null)
)

select * from final
